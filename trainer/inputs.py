"""tf.data input pipelines over Transform's materialised output."""

from __future__ import annotations

from typing import List

import tensorflow as tf
import tensorflow_transform as tft
from tfx_bsl.public import tfxio

from trainer import augmentation, features, image_ops
from trainer.task_config import TrainerConfig


def make_dataset(
    file_pattern: List[str],
    data_accessor,
    tf_transform_output: tft.TFTransformOutput,
    config: TrainerConfig,
    training: bool,
) -> tf.data.Dataset:
    """Yields ``(float32 images [B, S, S, 3] in [0, 255], int64 labels [B])`` forever.

    Augmentation runs per example on the training split only.
    """
    dataset = data_accessor.tf_dataset_factory(
        file_pattern,
        tfxio.TensorFlowDatasetOptions(
            batch_size=config.batch_size, label_key=features.TRANSFORMED_LABEL_KEY, shuffle=training
        ),
        tf_transform_output.transformed_metadata.schema,
    )

    def to_images(batch, labels):
        pixels = image_ops.bytes_to_pixels(batch[features.TRANSFORMED_IMAGE_KEY], config.image_size)
        return tf.cast(pixels, tf.float32), tf.reshape(labels, [-1])

    dataset = dataset.map(to_images, num_parallel_calls=tf.data.AUTOTUNE)
    if training and config.augmentation.enabled:
        dataset = (
            dataset.unbatch()
            .map(lambda image, label: (augmentation.augment(image, config.augmentation)[0], label),
                 num_parallel_calls=tf.data.AUTOTUNE)
            .batch(config.batch_size)
        )
    return dataset.prefetch(tf.data.AUTOTUNE)
