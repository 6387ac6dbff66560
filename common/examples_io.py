"""Reading the tf.Examples of one split of an Examples artifact (TFRecords, local or gs://).

Compression follows the file names, as TFX's own readers decide it: ``*.gz`` files are GZIP
(ImportExampleGen, Transform), others plain (the ImageValidator's outputs: encoded images do not
compress, and GZIP cost more than checking them).
"""

from __future__ import annotations

import os
from typing import Iterator, Optional, Sequence

import tensorflow as tf


def record_dataset(files: Sequence[str]) -> "tf.data.TFRecordDataset":
    """The records of ``files``, GZIP or plain by their names; mixing both is refused (TFX refuses it too)."""
    kinds = {str(path).endswith(".gz") for path in files}
    if len(kinds) > 1:
        raise ValueError(f"mixed GZIP (*.gz) and plain TFRecord files in one split: {sorted(map(str, files))[:4]}")
    return tf.data.TFRecordDataset([str(path) for path in files], compression_type="GZIP" if kinds == {True} else "")


def split_features(examples_uri: str, split: str) -> Iterator:
    """The feature map of every example in ``<examples_uri>/Split-<split>/``, in file order."""
    files = sorted(tf.io.gfile.glob(os.path.join(examples_uri, f"Split-{split}", "*")))
    for record in record_dataset(files):
        yield tf.train.Example.FromString(record.numpy()).features.feature


def first_bytes(features, key: Optional[str]) -> Optional[bytes]:
    """The first bytes value of feature ``key``; None when the feature is absent or empty."""
    if not key or key not in features or not features[key].bytes_list.value:
        return None
    return features[key].bytes_list.value[0]
