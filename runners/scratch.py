"""One scratch folder per run, removed when the run ends: no temp files left behind.

TFX packages the user module for every component that takes a module file
(an "ephemeral" wheel build of ~49 MB under the system temp folder, never
removed), Beam and TensorFlow write their own temp files too.  Pointing
Python's ``tempfile`` and ``TMPDIR`` (inherited by Beam's worker processes)
at a run-owned folder and removing it afterwards cleans all of them up.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from typing import Iterator


@contextlib.contextmanager
def scratch_dir(prefix: str = "image-tfx-run-") -> Iterator[str]:
    """Yields a fresh folder that is the temp folder of this process and its children until the run ends."""
    path = tempfile.mkdtemp(prefix=prefix)
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
