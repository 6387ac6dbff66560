"""tf.data input pipelines over Transform's materialised training split.

``train`` and ``validation`` both read the transformed *train* split and keep
the examples on their side of the :class:`~trainer.validation_split.ValidationPlan`;
the eval split is never read here (it is the Evaluator's).
"""

from __future__ import annotations

from typing import List

import tensorflow as tf
import tensorflow_transform as tft
from tfx_bsl.public import tfxio

from common import names
from trainer import image_ops
from trainer.config import TrainerConfig
from trainer.tasks.registry import get_task
from trainer.validation_split import ValidationPlan, example_keys

TRAIN, VALIDATION = "train", "validation"
#: The training side once, in file order, not augmented: for statistics and stored features.
TRAIN_ONCE = "train_once"
ROLES = (TRAIN, VALIDATION, TRAIN_ONCE)


def fits_in_memory(config: TrainerConfig, examples: int) -> bool:
    """Whether ``examples`` transformed examples fit ``--input-cache-mb`` (uint8 pixels, plus masks)."""
    planes = get_task(config.task).cached_planes
    return examples * config.image_size ** 2 * planes <= config.input_cache_mb * 2 ** 20


def make_dataset(
    file_pattern: List[str],
    data_accessor,
    tf_transform_output: tft.TFTransformOutput,
    config: TrainerConfig,
    role: str,
    plan: ValidationPlan,
) -> tf.data.Dataset:
    """``(float32 images [B, S, S, 3] in [0, 255], task targets)`` batches.

    ``train``: shuffled (seeded), repeated forever, augmented per batch with
    seeds (``--seed``, the batch's position in the stream).  ``validation``: one
    pass, in file order, no augmentation.  ``train_once``: the training side
    as ``validation`` reads its own.

    Examples on this side of the plan are kept in memory after the first pass
    when they fit ``--input-cache-mb`` (validation always: it is capped at
    ``--validation-batches`` batches), so later epochs skip reading, parsing and
    filtering the whole training split; larger sets stream from disk.
    """
    if role not in ROLES:
        raise ValueError(f"role must be one of {ROLES}, got {role!r}")
    repeated = role == TRAIN
    task = get_task(config.task)
    keep_in_memory = role == VALIDATION or (repeated and fits_in_memory(config, plan.train_count))
    stream = repeated and not keep_in_memory
    dataset = data_accessor.tf_dataset_factory(
        file_pattern,
        tfxio.TensorFlowDatasetOptions(batch_size=config.batch_size, shuffle=stream, shuffle_seed=config.seed,
                                       num_epochs=None if stream else 1),
        tf_transform_output.transformed_metadata.schema,
    )
    table = plan.lookup_table()
    wanted = tf.constant(1 if role == VALIDATION else 0, tf.int64)

    def on_this_side(example):
        key = example_keys(tf.reshape(example[names.TRANSFORMED_IMAGE_KEY], [1]))[0]
        return tf.equal(table.lookup(key), wanted)

    dataset = dataset.unbatch().filter(on_this_side)
    if keep_in_memory:
        dataset = dataset.cache()
        if repeated:
            dataset = dataset.shuffle(max(plan.train_count, 1), seed=config.seed,
                                      reshuffle_each_iteration=True).repeat()
    # Training batches are always full (the stream repeats), so their size is static in the graph.
    dataset = dataset.batch(config.batch_size, drop_remainder=repeated)

    def to_images(batch):
        pixels = image_ops.bytes_to_pixels(batch[names.TRANSFORMED_IMAGE_KEY], config.image_size)
        return tf.cast(pixels, tf.float32), task.parse_targets(batch, config)

    dataset = dataset.map(to_images, num_parallel_calls=tf.data.AUTOTUNE)
    if repeated and config.augmentation.enabled:
        dataset = dataset.enumerate().map(
            lambda index, pair: task.augment(pair[0], pair[1], config, seed=tf.stack(
                [tf.constant(config.seed, tf.int64), index])), num_parallel_calls=tf.data.AUTOTUNE)
    return dataset.prefetch(tf.data.AUTOTUNE)
