"""Where a run's logs go: everything to the run's log file, only progress and warnings to the console."""

from __future__ import annotations

import contextlib
import logging
import os
import sys
from typing import Iterator


def configure_logging(log_path: str, verbose: bool) -> logging.Handler:
    """Full INFO log to a file (nothing lost); the console shows progress and warnings only."""
    from absl import logging as absl_logging

    absl_logging.set_verbosity(absl_logging.INFO)
    console_level = logging.INFO if verbose else logging.ERROR
    absl_logging.get_absl_handler().setLevel(console_level)
    for handler in logging.getLogger().handlers:
        if not isinstance(handler, logging.FileHandler):
            handler.setLevel(console_level)
    os.makedirs(os.path.dirname(log_path), exist_ok=True)
    file_handler = logging.FileHandler(log_path)
    file_handler.setLevel(logging.INFO)
    file_handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logging.getLogger().addHandler(file_handler)
    logging.getLogger().setLevel(logging.INFO)
    for noisy in ("apache_beam", "tensorflow"):
        logging.getLogger(noisy).setLevel(logging.INFO if verbose else logging.WARNING)
    return file_handler


@contextlib.contextmanager
def native_stderr_to(log_path: str) -> Iterator[None]:
    """Sends what C++ code writes to file descriptor 2 to the run log while Python's own ``sys.stderr`` stays
    on the console.

    Why: TensorFlow's grappler and TFLite converter log through absl's C++ logger ("W0000 ... PredictCost",
    "Ignored output_format"), which ``TF_CPP_MIN_LOG_LEVEL`` does not silence; Beam's worker processes inherit
    the descriptor, so their native output lands in the log too.
    """
    sys.stderr.flush()
    saved = os.dup(2)
    console = os.fdopen(os.dup(saved), "w", buffering=1, encoding=getattr(sys.stderr, "encoding", None) or "utf-8")
    python_stderr = sys.stderr
    with open(log_path, "ab") as log:
        os.dup2(log.fileno(), 2)
    sys.stderr = console
    try:
        yield
    finally:
        sys.stderr.flush()
        sys.stderr = python_stderr
        os.dup2(saved, 2)
        os.close(saved)
        console.close()
