"""Reading the tf.Examples of one split of an Examples artifact (GZIP TFRecords, local or gs://)."""

from __future__ import annotations

import os
from typing import Iterator, Optional

import tensorflow as tf


def split_features(examples_uri: str, split: str) -> Iterator:
    """The feature map of every example in ``<examples_uri>/Split-<split>/``, in file order."""
    files = sorted(tf.io.gfile.glob(os.path.join(examples_uri, f"Split-{split}", "*")))
    for record in tf.data.TFRecordDataset(files, compression_type="GZIP"):
        yield tf.train.Example.FromString(record.numpy()).features.feature


def first_bytes(features, key: Optional[str]) -> Optional[bytes]:
    """The first bytes value of feature ``key``; None when the feature is absent or empty."""
    if not key or key not in features or not features[key].bytes_list.value:
        return None
    return features[key].bytes_list.value[0]
