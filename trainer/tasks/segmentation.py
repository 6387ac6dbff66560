"""Semantic segmentation: a class-id mask per image, per-pixel softmax."""

from __future__ import annotations

from typing import Dict

import numpy as np
import tensorflow as tf

from common import names
from trainer import augmentation, image_ops
from trainer.keras_lib import keras
from trainer.config import TrainerConfig, TransformConfig
from trainer.tasks.base import Task
from trainer.unet import PixelAccuracy, SegmentationLoss, build_unet


class Segmentation(Task):
    name = "segmentation"
    cached_planes = 4
    tflite_metadata_writer = "image_segmenter"

    #: Mean IoU, not the loss: the Dice weight the Tuner varies is part of the loss.
    tuning_objective = ("val_mean_iou", "max")

    def tuning_score(self, model, validation_batches, config: TrainerConfig) -> float:
        """Mean IoU over the validation pixels (ignored pixels left out; classes absent from both sides too)."""
        classes = config.num_classes
        confusion = np.zeros((classes, classes), np.int64)
        for images, masks in validation_batches:
            predicted = np.argmax(model(images, training=False), axis=-1).reshape(-1)
            labels = np.asarray(masks).reshape(-1)
            kept = labels != names.IGNORE_LABEL
            confusion += np.bincount(labels[kept] * classes + predicted[kept],
                                     minlength=classes * classes).reshape(classes, classes)
        union = confusion.sum(0) + confusion.sum(1) - np.diag(confusion)
        present = union > 0
        return float(np.mean(np.diag(confusion)[present] / union[present])) if present.any() else 0.0

    def search_space(self, config: TrainerConfig, pretrained: bool) -> Dict[str, list]:
        """The learning rate and the weight of the soft-Dice term."""
        weights = [config.dice_weight, *[v for v in (0.0, 0.5, 1.0, 2.0) if v != config.dice_weight]]
        return {**super().search_space(config, pretrained), "dice_weight": weights}

    def transform_targets(self, inputs: Dict, config: TransformConfig) -> Dict:
        if config.mask_key not in inputs:
            return {}
        encoded = image_ops.dense_1d(inputs[config.mask_key])
        # Nearest neighbour: class ids are labels, never interpolated.
        masks = image_ops.decode_and_resize(encoded, config.image_size, channels=1, method="nearest")
        return {names.TRANSFORMED_MASK_KEY: image_ops.pixels_to_bytes(masks)}

    def parse_targets(self, batch: Dict, config: TrainerConfig):
        return image_ops.bytes_to_pixels(batch[names.TRANSFORMED_MASK_KEY], config.image_size, channels=1)

    def augment(self, images, targets, config: TrainerConfig, seed):
        return augmentation.augment(images, config.augmentation, masks=targets, seed=seed)

    def build_model(self, config: TrainerConfig):
        return build_unet(config)

    def compile(self, model, learning_rate, config: TrainerConfig) -> None:
        model.compile(
            optimizer=keras.optimizers.Adam(learning_rate),
            loss=SegmentationLoss(config.num_classes, names.IGNORE_LABEL, config.class_weights, config.dice_weight),
            metrics=[PixelAccuracy(names.IGNORE_LABEL)],
        )

    def serving_outputs(self, probabilities, image_bytes, config: TrainerConfig) -> Dict:
        """Per-class probabilities at model resolution; the class mask at each input's original size.

        Images of different sizes in one batch give masks padded with ``IGNORE_LABEL`` (255) to
        the largest; ``height``/``width`` say how much of each is real.
        """
        sizes = image_ops.image_sizes(image_bytes)
        max_h, max_w = tf.reduce_max(sizes[:, 0]), tf.reduce_max(sizes[:, 1])

        def full_size_mask(args):
            probs, size = args
            resized = tf.image.resize(probs, size, method="bilinear")
            mask = tf.cast(tf.argmax(resized, axis=-1), tf.int32)
            return tf.pad(mask, [[0, max_h - size[0]], [0, max_w - size[1]]], constant_values=names.IGNORE_LABEL)

        masks = tf.map_fn(full_size_mask, (probabilities, sizes), fn_output_signature=tf.TensorSpec([None, None], tf.int32))
        return {names.PROBABILITIES_KEY: probabilities, names.SERVED_MASK_KEY: masks, "height": sizes[:, 0], "width": sizes[:, 1]}

    def evaluation_raw_keys(self, config: TrainerConfig):
        return [config.mask_key]

    def evaluation_outputs(self, probabilities, transformed: Dict, config: TrainerConfig, raw: Dict) -> Dict:
        """Predicted and true class ids on the same (model) grid, for the IoU metric in TFMA."""
        label = image_ops.bytes_to_pixels(transformed[names.TRANSFORMED_MASK_KEY], config.image_size, channels=1)
        return {
            names.PREDICTED_MASK_KEY: tf.cast(tf.argmax(probabilities, axis=-1), tf.int32),
            names.LABEL_MASK_KEY: tf.cast(label[..., 0], tf.int32),
        }

