"""The validation split: carved out of the training split inside the Trainer, for model selection only.

Why: early stopping and best-epoch restore pick a model by its validation
loss.  If that loss came from the eval split, the Evaluator would then bless
the model on the very examples that chose it, and the figure would be
optimistic.  So the Trainer never reads the eval split: it sets aside a
deterministic, stratified share of the *training* split (per class for
classification), and selects on that.

Membership is decided by a fingerprint of each example's transformed pixels,
so it needs no example ids, works for every kind of input (prepared folders,
the user's TFRecords, Kubeflow) and is the same on every run.
"""

from __future__ import annotations

import dataclasses
from typing import Dict, List

import numpy as np
import tensorflow as tf
from tfx_bsl.public import tfxio

from common import names

#: Fixed, so the validation split does not move when ``--seed`` changes training randomness.
_CARVE_SEED = 0x5EED


def example_keys(image_bytes: tf.Tensor) -> tf.Tensor:
    """int64 fingerprint per example, from its transformed image bytes (``[N]`` or ``[N, 1]`` strings)."""
    return tf.strings.to_hash_bucket_fast(tf.reshape(image_bytes, [-1]), 2 ** 62)


@dataclasses.dataclass
class ValidationPlan:
    """Which training examples form the validation split, and the resulting counts."""

    validation_keys: np.ndarray
    train_count: int
    validation_count: int

    def lookup_table(self) -> tf.lookup.StaticHashTable:
        keys = tf.constant(self.validation_keys if self.validation_keys.size else np.array([-1]), tf.int64)
        return tf.lookup.StaticHashTable(
            tf.lookup.KeyValueTensorInitializer(keys, tf.ones_like(keys)), default_value=tf.constant(0, tf.int64))

    def counts(self) -> Dict[str, int]:
        return {"train": self.train_count, "validation": self.validation_count}


def _order(keys: np.ndarray) -> np.ndarray:
    """A seeded pseudo-random order of the keys (splitmix64 of key xor seed): stable across runs."""
    with np.errstate(over="ignore"):
        x = keys.astype(np.uint64) ^ np.uint64(_CARVE_SEED)
        x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        x = x ^ (x >> np.uint64(31))
    return np.argsort(x, kind="stable")


def choose(keys: np.ndarray, strata: np.ndarray, fraction: float, max_examples: int) -> np.ndarray:
    """Keys of the validation examples: per stratum, ``fraction`` of its examples (at least one of any
    stratum with two or more, never all of one), the whole capped near ``max_examples``."""
    if keys.size == 0 or fraction <= 0:
        return np.zeros([0], np.int64)
    share = min(fraction, max_examples / keys.size) if max_examples > 0 else fraction
    chosen: List[np.ndarray] = []
    for stratum in np.unique(strata):
        members = keys[strata == stratum]
        members = members[_order(members)]
        count = int(round(members.size * share))
        count = min(max(count, 1), members.size - 1) if members.size >= 2 else 0
        chosen.append(members[:count])
    return np.unique(np.concatenate(chosen)).astype(np.int64)


def plan(train_files: List[str], data_accessor, schema, stratum_key: str, fraction: float,
         max_examples: int) -> ValidationPlan:
    """Reads the transformed training split once (image fingerprints and strata) and chooses the split."""
    dataset = data_accessor.tf_dataset_factory(
        train_files, tfxio.TensorFlowDatasetOptions(batch_size=512, shuffle=False, num_epochs=1), schema)
    keys, strata = [], []
    for batch in dataset:
        batch_keys = example_keys(batch[names.TRANSFORMED_IMAGE_KEY]).numpy()
        keys.append(batch_keys)
        if stratum_key in batch:
            strata.append(tf.reshape(batch[stratum_key], [-1]).numpy())
        else:
            strata.append(np.zeros_like(batch_keys))
    keys_array = np.concatenate(keys) if keys else np.zeros([0], np.int64)
    strata_array = np.concatenate(strata) if strata else np.zeros([0], np.int64)
    validation = choose(keys_array, strata_array, fraction, max_examples)
    in_validation = np.isin(keys_array, validation)
    return ValidationPlan(validation, int((~in_validation).sum()), int(in_validation.sum()))
