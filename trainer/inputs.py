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


def make_dataset(
    file_pattern: List[str],
    data_accessor,
    tf_transform_output: tft.TFTransformOutput,
    config: TrainerConfig,
    role: str,
    plan: ValidationPlan,
) -> tf.data.Dataset:
    """``(float32 images [B, S, S, 3] in [0, 255], task targets)`` batches.

    ``train``: shuffled (seeded), repeated forever, augmented per example with
    seeds (``--seed``, position in the stream).  ``validation``: one pass, in
    file order, no augmentation.
    """
    if role not in (TRAIN, VALIDATION):
        raise ValueError(f"role must be {TRAIN!r} or {VALIDATION!r}, got {role!r}")
    training = role == TRAIN
    task = get_task(config.task)
    dataset = data_accessor.tf_dataset_factory(
        file_pattern,
        tfxio.TensorFlowDatasetOptions(batch_size=config.batch_size, shuffle=training, shuffle_seed=config.seed,
                                       num_epochs=None if training else 1),
        tf_transform_output.transformed_metadata.schema,
    )
    table = plan.lookup_table()
    wanted = tf.constant(0 if training else 1, tf.int64)

    def on_this_side(example):
        key = example_keys(tf.reshape(example[names.TRANSFORMED_IMAGE_KEY], [1]))[0]
        return tf.equal(table.lookup(key), wanted)

    dataset = dataset.unbatch().filter(on_this_side).batch(config.batch_size)

    def to_images(batch):
        pixels = image_ops.bytes_to_pixels(batch[names.TRANSFORMED_IMAGE_KEY], config.image_size)
        return tf.cast(pixels, tf.float32), task.parse_targets(batch, config)

    dataset = dataset.map(to_images, num_parallel_calls=tf.data.AUTOTUNE)
    if training and config.augmentation.enabled:
        dataset = (
            dataset.unbatch()
            .enumerate()
            .map(lambda index, pair: task.augment(pair[0], pair[1], config, seed=tf.stack(
                [tf.constant(config.seed, tf.int64), index])), num_parallel_calls=tf.data.AUTOTUNE)
            .batch(config.batch_size)
        )
    return dataset.prefetch(tf.data.AUTOTUNE)
