"""The run's scratch folder: the temp folder of the run and its child processes, gone afterwards."""

import os
import subprocess
import sys
import tempfile

from runners.scratch import scratch_dir


def test_temp_files_of_the_run_and_its_children_are_removed():
    before_env, before_dir = os.environ.get("TMPDIR"), tempfile.gettempdir()
    with scratch_dir() as path:
        own = tempfile.mkdtemp()
        child = subprocess.run([sys.executable, "-c", "import tempfile; print(tempfile.mkdtemp())"],
                               capture_output=True, text=True, check=True).stdout.strip()
        assert own.startswith(path) and child.startswith(path) and os.path.isdir(child)
    assert not os.path.exists(path) and not os.path.exists(child)
    assert os.environ.get("TMPDIR") == before_env and tempfile.gettempdir() == before_dir
