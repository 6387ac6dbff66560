"""The run's scratch folder: the temp folder of the run and its child processes, gone afterwards."""

import os
import subprocess
import sys
import tempfile

from runners.scratch import PREFIX, scratch_dir


def test_temp_files_of_the_run_and_its_children_are_removed():
    before_env, before_dir = os.environ.get("TMPDIR"), tempfile.gettempdir()
    with scratch_dir() as path:
        own = tempfile.mkdtemp()
        child = subprocess.run([sys.executable, "-c", "import tempfile; print(tempfile.mkdtemp())"],
                               capture_output=True, text=True, check=True).stdout.strip()
        assert own.startswith(path) and child.startswith(path) and os.path.isdir(child)
    assert not os.path.exists(path) and not os.path.exists(child)
    assert os.environ.get("TMPDIR") == before_env and tempfile.gettempdir() == before_dir


def test_a_killed_runs_scratch_folder_is_removed_by_the_next_run(tmp_path, monkeypatch):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    stale = tmp_path / f"{PREFIX}{gone.pid}-abc"
    (stale / "sub").mkdir(parents=True)
    live = tmp_path / f"{PREFIX}{os.getppid()}-def"  # a running process (this test's parent)
    live.mkdir()
    other = tmp_path / "someone-elses-folder"
    other.mkdir()
    with scratch_dir() as path:
        assert os.path.basename(path).startswith(f"{PREFIX}{os.getpid()}-")
    assert not stale.exists() and live.exists() and other.exists()
