"""One scratch folder per run, removed when the run ends: no temp files left behind.

TFX packages the user module for every component that takes a module file
(an "ephemeral" wheel build of ~49 MB under the system temp folder, never
removed), Beam and TensorFlow write their own temp files too.  Pointing
Python's ``tempfile`` and ``TMPDIR`` (inherited by Beam's worker processes)
at a run-owned folder and removing it afterwards cleans all of them up.  A run
killed before it could do so (SIGKILL, a power cut) is cleaned up by the next.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from typing import Iterator, List, Optional, Sequence


PREFIX = "image-tfx-run-"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process: alive, and not ours to judge
        return True
    return True


def remove_stale(prefix: str = PREFIX, root: Optional[str] = None) -> List[str]:
    """Removes the scratch folders of runs whose process is gone (a killed run cannot remove its own).

    A folder is ``<prefix><pid>-<random>``; one whose pid is alive (another run, or an unrelated process
    that reused the pid) is left alone.  Returns what was removed.
    """
    root = root or tempfile.gettempdir()
    removed = []
    for name in os.listdir(root):
        pid = name[len(prefix):].split("-", 1)[0] if name.startswith(prefix) else ""
        path = os.path.join(root, name)
        if pid.isdigit() and int(pid) != os.getpid() and not _alive(int(pid)) and os.path.isdir(path):
            shutil.rmtree(path, ignore_errors=True)
            removed.append(path)
    return removed


@contextlib.contextmanager
def scratch_dir(prefix: str = PREFIX) -> Iterator[str]:
    """Yields a fresh folder that is the temp folder of this process and its children until the run ends.

    First removes what killed runs left (see :func:`remove_stale`)."""
    remove_stale(prefix)
    path = tempfile.mkdtemp(prefix=f"{prefix}{os.getpid()}-")
    saved_tempdir, saved_env = tempfile.tempdir, os.environ.get("TMPDIR")
    tempfile.tempdir = path
    os.environ["TMPDIR"] = path
    try:
        yield path
    finally:
        tempfile.tempdir = saved_tempdir
        if saved_env is None:
            os.environ.pop("TMPDIR", None)
        else:
            os.environ["TMPDIR"] = saved_env
        shutil.rmtree(path, ignore_errors=True)


@contextlib.contextmanager
def local_beam_dependencies(beam_args: Sequence[str]):
    """No TFX sdist for a DirectRunner on this machine, where TFX is installed.

    TFX builds an "ephemeral" package of its own installation for every Beam component (a copy of the TFX
    install and a setup.py sdist: ~1.4 s and ~49 MB each) so that remote workers can import TFX.  A
    DirectRunner's workers run here, in this environment; another --runner keeps TFX's behaviour.
    """
    from tfx.utils import dependency_utils

    runners = [arg.split("=", 1)[1] for arg in beam_args if arg.startswith("--runner=")]
    if runners and runners[-1] not in ("DirectRunner", "direct"):
        yield
        return
    original = dependency_utils.make_beam_dependency_flags
    dependency_utils.make_beam_dependency_flags = list
    try:
        yield
    finally:
        dependency_utils.make_beam_dependency_flags = original
