"""A folder of new, unlabelled images -> TFRecords for a ``--predict`` run.

Every file under the folder becomes an example (image bytes and its path
relative to the folder): a file that is not a usable image is not skipped
here but quarantined by the ImageValidator with its reason, as in training,
so every file of the folder is accounted for in the output.
"""

from __future__ import annotations

import os
from pathlib import Path

import tensorflow as tf

from common import names
from ingest.example_format import make_unlabelled_example
from ingest.shards import DataPrepError, guard_output

#: Files that are never images (a folder's own metadata), left out without a word.
_IGNORED = {".DS_Store", "Thumbs.db", "desktop.ini"}


def write_unlabelled(images_dir: str, out_dir: str) -> int:
    """Writes ``out_dir/predict/images.tfrecord.gz``; returns the number of files."""
    source = Path(images_dir)
    if not source.is_dir():
        raise DataPrepError(f"--predict {images_dir}: not a folder; give a folder of images to predict")
    files = sorted(p for p in source.rglob("*") if p.is_file() and p.name not in _IGNORED
                   and not any(part.startswith(".") for part in p.relative_to(source).parts))
    if not files:
        raise DataPrepError(f"--predict {images_dir}: the folder holds no files")
    target = Path(out_dir)
    guard_output(target, [source], must_be_ours=False)
    split_dir = target / names.PREDICT_SPLIT
    split_dir.mkdir(parents=True, exist_ok=True)
    with tf.io.TFRecordWriter(os.path.join(split_dir, "images" + names.TFRECORD_SUFFIX), "GZIP") as writer:
        for path in files:
            # A file name that is not valid UTF-8 (Linux allows any bytes) is kept readable, not fatal.
            name = path.relative_to(source).as_posix().encode("utf-8", "surrogateescape").decode("utf-8", "replace")
            writer.write(make_unlabelled_example(path.read_bytes(), name).SerializeToString(deterministic=True))
    return len(files)
