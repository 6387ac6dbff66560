"""U-Net-style segmentation model on any backbone of :mod:`trainer.backbones`.

The skip connections are found, not listed: for each spatial resolution the
backbone produces, the last layer at that resolution feeds the decoder.  So
the same code decodes the small ResNet, MobileNetV2, EfficientNetB0 and
ResNet50 without per-backbone layer-name tables.
"""

from __future__ import annotations

from typing import List, Tuple

from common import names
from trainer.backbones import Normalize, build_backbone
from trainer.config import TrainerConfig
from trainer.keras_lib import keras, tf


def multi_scale_layers(backbone: keras.Model, max_levels: int) -> List[str]:
    """Names of the last layer at each resolution, deepest first (at most ``max_levels``)."""
    last_at_size = {}
    for layer in backbone.layers:
        shape = layer.output_shape
        if isinstance(shape, list) or len(shape) != 4 or shape[1] is None:
            continue
        last_at_size[shape[1]] = layer.name
    sizes = sorted(last_at_size)  # smallest (deepest) first
    return [last_at_size[s] for s in sizes[:max_levels]]


def conv_block(x, filters: int, name: str):
    for i in (1, 2):
        x = keras.layers.Conv2D(filters, 3, padding="same", use_bias=False, name=f"{name}_conv{i}")(x)
        x = keras.layers.BatchNormalization(momentum=0.9, name=f"{name}_bn{i}")(x)
        x = keras.layers.ReLU(name=f"{name}_relu{i}")(x)
    return x


def build_unet(config: TrainerConfig) -> Tuple[keras.Model, keras.Model]:
    """Returns (segmentation model, encoder backbone); output ``[B, S, S, classes]`` softmax."""
    if config.num_classes < 2:
        raise ValueError(f"segmentation needs at least 2 class names, got {config.class_names!r}")
    size = config.image_size
    backbone, mode = build_backbone(config.backbone, size, config.weights)
    levels = len(config.decoder_filters) + 1
    layer_names = multi_scale_layers(backbone, levels)
    encoder = keras.Model(backbone.input, [backbone.get_layer(n).output for n in layer_names], name="encoder")

    inputs = keras.Input((size, size, 3), name=names.MODEL_INPUT_NAME)
    normalized = Normalize(mode, name="normalize")(inputs)
    features = encoder(normalized)
    features = features if isinstance(features, list) else [features]
    x, skips = features[0], features[1:]
    for i, filters in enumerate(config.decoder_filters):
        x = keras.layers.UpSampling2D(interpolation="bilinear", name=f"decoder{i}_up")(x)
        if i < len(skips) and skips[i].shape[1] == x.shape[1]:
            x = keras.layers.Concatenate(name=f"decoder{i}_concat")([x, skips[i]])
        x = conv_block(x, filters, name=f"decoder{i}")
        if x.shape[1] >= size:
            break
    if x.shape[1] != size:
        x = keras.layers.Resizing(size, size, interpolation="bilinear", name="to_input_size")(x)
    outputs = keras.layers.Conv2D(config.num_classes, 1, activation="softmax", name=names.PROBABILITIES_KEY)(x)
    return keras.Model(inputs, outputs, name=f"{config.backbone}_unet"), backbone


@keras.utils.register_keras_serializable(package="image_tfx")
class SegmentationLoss(keras.losses.Loss):
    """Class-weighted sparse cross-entropy (+ optional soft Dice), ignoring ``ignore_label`` pixels."""

    def __init__(self, num_classes: int, ignore_label: int = names.IGNORE_LABEL, class_weights=None, dice_weight: float = 0.0,
                 name: str = "segmentation_loss", **kwargs):
        kwargs["reduction"] = keras.losses.Reduction.NONE
        super().__init__(name=name, **kwargs)
        self.num_classes = num_classes
        self.ignore_label = ignore_label
        self.class_weights = list(class_weights) if class_weights is not None else None
        self.dice_weight = dice_weight

    def call(self, y_true, y_pred):
        labels = tf.cast(tf.reshape(y_true, tf.shape(y_pred)[:-1]), tf.int32)
        valid = tf.cast(tf.not_equal(labels, self.ignore_label), tf.float32)
        safe = tf.where(labels == self.ignore_label, 0, labels)
        cross_entropy = keras.losses.sparse_categorical_crossentropy(safe, y_pred)
        weights = valid
        if self.class_weights is not None:
            weights *= tf.gather(tf.constant(self.class_weights, tf.float32), safe)
        loss = tf.reduce_sum(cross_entropy * weights, axis=[1, 2]) / tf.maximum(tf.reduce_sum(valid, axis=[1, 2]), 1.0)
        if self.dice_weight > 0:
            one_hot = tf.one_hot(safe, self.num_classes) * valid[..., None]
            probs = y_pred * valid[..., None]
            intersection = tf.reduce_sum(one_hot * probs, axis=[1, 2])
            denominator = tf.reduce_sum(one_hot + probs, axis=[1, 2])
            dice = tf.reduce_mean((2.0 * intersection + 1.0) / (denominator + 1.0), axis=-1)
            loss += self.dice_weight * (1.0 - dice)
        return loss

    def get_config(self):
        return {**super().get_config(), "num_classes": self.num_classes, "ignore_label": self.ignore_label,
                "class_weights": self.class_weights, "dice_weight": self.dice_weight}


@keras.utils.register_keras_serializable(package="image_tfx")
class PixelAccuracy(keras.metrics.Mean):
    """Share of non-ignored pixels whose argmax class is right (training progress only)."""

    def __init__(self, ignore_label: int = names.IGNORE_LABEL, name: str = "pixel_accuracy", **kwargs):
        super().__init__(name=name, **kwargs)
        self.ignore_label = ignore_label

    def update_state(self, y_true, y_pred, sample_weight=None):
        labels = tf.cast(tf.reshape(y_true, tf.shape(y_pred)[:-1]), tf.int32)
        valid = tf.not_equal(labels, self.ignore_label)
        correct = tf.cast(tf.equal(labels, tf.cast(tf.argmax(y_pred, -1), tf.int32)), tf.float32)
        return super().update_state(tf.boolean_mask(correct, valid))

    def get_config(self):
        return {**super().get_config(), "ignore_label": self.ignore_label}
