"""Reading the ImageValidator's report artifact back: counts from the JSON, rows from the JSON Lines file."""

from __future__ import annotations

import bisect
import collections
import json
import os
from typing import Any, Dict, Iterable, Iterator, List

import numpy as np
import tensorflow as tf

from components.image_validator.spec import REPORT_FILENAME, ROWS_FILENAME

#: Row fields the reports show as value counts of the good images, per split.
COUNTED_FIELDS = ("width", "height", "format", "channels", "mode")
#: Edges of the mean-brightness histogram: ten bins over [0, 1], the last one closed, as ``numpy.histogram``
#: bins ``numpy.linspace(0, 1, 11)`` (the same floats).
BRIGHTNESS_EDGES = [float(edge) for edge in np.linspace(0, 1, 11)]


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


def _new_split_digest() -> Dict[str, Any]:
    return {"good": 0, "counts": {field: collections.Counter() for field in COUNTED_FIELDS},
            "brightness": [0] * (len(BRIGHTNESS_EDGES) - 1), "class_pixels": collections.Counter(),
            "ignored_fraction_sum": 0.0}


def brightness_bin(value: float) -> int:
    """The histogram bin of a mean brightness, -1 outside [0, 1] (numpy.histogram's rule)."""
    if not BRIGHTNESS_EDGES[0] <= value <= BRIGHTNESS_EDGES[-1]:
        return -1
    return min(bisect.bisect_right(BRIGHTNESS_EDGES, value) - 1, len(BRIGHTNESS_EDGES) - 2)


def digest(rows: Iterable[Dict[str, Any]]) -> Dict[str, Any]:
    """What the reports need from the rows, in one streamed pass.

    ``splits``: per split, the good images' count, value counts of their
    sizes, formats, channels and modes, their brightness histogram, class
    pixels and summed ignored fraction.  ``bad``: the quarantined rows
    themselves, by (split, filename).  Why: the report used to hold every
    row (~6 KB of Python objects each: 1 GB at 128,000 images); this holds
    the bad ones and counters.
    """
    splits: Dict[str, Dict[str, Any]] = {}
    bad: List[Dict[str, Any]] = []
    for row in rows:
        if row["reason"]:
            bad.append(row)
            continue
        split = splits.setdefault(row["split"], _new_split_digest())
        split["good"] += 1
        for field in COUNTED_FIELDS:
            split["counts"][field][str(row[field])] += 1
        index = brightness_bin(row["brightness"])
        if index >= 0:
            split["brightness"][index] += 1
        split["class_pixels"].update({k: int(v) for k, v in (row.get("class_pixels") or {}).items()})
        split["ignored_fraction_sum"] += row.get("ignored_fraction", 0.0)
    bad.sort(key=lambda r: (r["split"], r["filename"], r["index"]))
    return {"splits": splits, "bad": bad}


def load_digest(report_dir: str) -> Dict[str, Any]:
    """:func:`digest` of the rows in ``report_dir``."""
    return digest(iter_rows(report_dir))
