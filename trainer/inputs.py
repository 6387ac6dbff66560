"""tf.data input pipelines over Transform's materialised output."""

from __future__ import annotations

from typing import List

import tensorflow as tf
import tensorflow_transform as tft
from tfx_bsl.public import tfxio

from common import names
from trainer import image_ops
from trainer.config import TrainerConfig
from trainer.tasks.registry import get_task


def make_dataset(
    file_pattern: List[str],
    data_accessor,
    tf_transform_output: tft.TFTransformOutput,
    config: TrainerConfig,
    training: bool,
) -> tf.data.Dataset:
    """Yields ``(float32 images [B, S, S, 3] in [0, 255], task targets)`` forever.

    Augmentation runs per example on the training split only.
    """
    task = get_task(config.task)
    dataset = data_accessor.tf_dataset_factory(
        file_pattern,
        tfxio.TensorFlowDatasetOptions(batch_size=config.batch_size, shuffle=training),
        tf_transform_output.transformed_metadata.schema,
    )

    def to_images(batch):
        pixels = image_ops.bytes_to_pixels(batch[names.TRANSFORMED_IMAGE_KEY], config.image_size)
        return tf.cast(pixels, tf.float32), task.parse_targets(batch, config)

    dataset = dataset.map(to_images, num_parallel_calls=tf.data.AUTOTUNE)
    if training and config.augmentation.enabled:
        dataset = (
            dataset.unbatch()
            .map(lambda image, target: task.augment(image, target, config), num_parallel_calls=tf.data.AUTOTUNE)
            .batch(config.batch_size)
        )
    return dataset.prefetch(tf.data.AUTOTUNE)
