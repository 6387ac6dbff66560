"""Reading the ImageValidator's report artifact back: counts from the JSON, rows from the JSON Lines file."""

from __future__ import annotations

import json
import os
from typing import Any, Dict, Iterator

import tensorflow as tf

from components.image_validator.spec import REPORT_FILENAME, ROWS_FILENAME


def iter_rows(report_dir: str) -> Iterator[Dict[str, Any]]:
    """Each example's row (split, filename, reason, detail, size, ...), one at a time."""
    path = os.path.join(report_dir, ROWS_FILENAME)
    if not tf.io.gfile.exists(path):
        return
    with tf.io.gfile.GFile(path) as handle:
        for line in handle:
            if line.strip():
                yield json.loads(line)


def load_report(report_dir: str, with_rows: bool = True) -> Dict[str, Any]:
    """The report JSON, with ``examples``: every row sorted by (split, filename) when ``with_rows``.

    Raises FileNotFoundError when the artifact has no report (a validator that failed before writing)."""
    path = os.path.join(report_dir, REPORT_FILENAME)
    if not tf.io.gfile.exists(path):
        raise FileNotFoundError(f"no ImageValidator report at {path}")
    with tf.io.gfile.GFile(path) as handle:
        report = json.load(handle)
    if with_rows and "examples" not in report:
        report["examples"] = sorted(iter_rows(report_dir), key=lambda r: (r["split"], r["filename"], r["index"]))
    return report
