"""Native (C++) stderr goes to the run log; Python's stderr stays on the console; no TFX sdist for DirectRunner."""

import subprocess
import sys
from pathlib import Path

from runners.scratch import local_beam_dependencies

ROOT = Path(__file__).resolve().parents[1]


def test_native_stderr_goes_to_the_log_and_python_stderr_to_the_console(tmp_path):
    log = tmp_path / "run.log"
    code = (f"import os, sys\nsys.path.insert(0, {str(ROOT)!r})\n"
            "from runners.run_log import native_stderr_to\n"
            f"with native_stderr_to({str(log)!r}):\n"
            "    os.write(2, b'native line\\n')\n"
            "    print('python line', file=sys.stderr)\n"
            "os.write(2, b'after\\n')\n")
    err = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stderr
    assert "python line" in err and "after" in err and "native line" not in err
    assert log.read_text() == "native line\n"


def test_tfx_builds_no_sdist_of_itself_for_the_direct_runner(monkeypatch):
    from tfx.utils import dependency_utils

    from conftest import TFX_MAKE_BEAM_DEPENDENCY_FLAGS

    # The test session itself runs inside the switch (conftest.py): start from TFX's own function.
    monkeypatch.setattr(dependency_utils, "make_beam_dependency_flags", TFX_MAKE_BEAM_DEPENDENCY_FLAGS)
    original = dependency_utils.make_beam_dependency_flags
    assert original is not list
    with local_beam_dependencies(["--direct_num_workers=1"]):
        assert dependency_utils.make_beam_dependency_flags(["--a=1"]) == ["--a=1"]
    assert dependency_utils.make_beam_dependency_flags is original
    with local_beam_dependencies(["--runner=DataflowRunner"]):
        assert dependency_utils.make_beam_dependency_flags is original
