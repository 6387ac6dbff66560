"""Where a run's logs go: everything to the run's log file, only progress and warnings to the console."""

from __future__ import annotations

import logging
import os


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
