"""Feature-extractor backbones and the normalisation each one expects.

Choices (``TrainerConfig.backbone``):

* ``resnet`` — a small ResNet for small inputs (stride-1 stem, three stages),
  meant to train from scratch in minutes on a CPU.
* ``squeezenet`` — SqueezeNet v1.1 (:mod:`trainer.squeezenet`), 0.7 M
  parameters, with ``weights`` = the local Keras-1 ImageNet ``_notop`` .h5 file.
* ``mobilenet`` (v1, the backbone of TFX's own CIFAR-10 example), ``mobilenet_v2``,
  ``efficientnet_b0``, ``resnet50`` — Keras applications,
  with ``weights`` = ``"imagenet"`` (downloaded by Keras where the machine can
  reach the internet), a local weights file, or ``None``.

Each backbone declares its input normalisation; :class:`Normalize` applies it
as the first model layer, so the stored transformed data stays uint8 and
backbone-independent.
"""

from __future__ import annotations

import os
from typing import Optional, Tuple

from trainer.batchnorm import use_short_run_momentum
from trainer.keras_lib import keras, tf

#: How each backbone wants its [0, 255] RGB input scaled.
NORMALIZATION = {
    "resnet": "unit",  # [0, 1]
    "mobilenet": "tf",  # [-1, 1]
    "mobilenet_v2": "tf",  # [-1, 1]
    "efficientnet_b0": "none",  # the Keras model rescales internally
    "resnet50": "caffe",  # BGR, ImageNet mean subtracted
    "squeezenet": "caffe",
}

_IMAGENET_BGR_MEAN = (103.939, 116.779, 123.68)


@keras.utils.register_keras_serializable(package="image_tfx")
class Normalize(keras.layers.Layer):
    """Scales uint8/float [0, 255] RGB images the way a backbone was trained."""

    def __init__(self, mode: str = "unit", **kwargs):
        super().__init__(**kwargs)
        if mode not in ("unit", "tf", "caffe", "none"):
            raise ValueError(f"unknown normalisation mode {mode!r}")
        self.mode = mode

    def call(self, images):
        x = tf.cast(images, tf.float32)
        if self.mode == "unit":
            return x / 255.0
        if self.mode == "tf":
            return x / 127.5 - 1.0
        if self.mode == "caffe":
            return x[..., ::-1] - tf.constant(_IMAGENET_BGR_MEAN, tf.float32)
        return x

    def get_config(self):
        return {**super().get_config(), "mode": self.mode}


def resolve_weights(weights: Optional[str]) -> Optional[str]:
    """None/'none' -> random init; 'imagenet' as is; a path must exist."""
    if weights in (None, "", "none", "None"):
        return None
    if weights == "imagenet":
        return weights
    if not os.path.exists(weights):
        raise FileNotFoundError(
            f"backbone weights file {weights!r} not found. Pass an existing .h5 file, "
            "'imagenet' (needs internet), or no weights to train from scratch."
        )
    return weights


def _batch_norm(name: str):
    """BatchNorm with momentum 0.9: short CPU runs (hundreds of steps) otherwise
    evaluate with running statistics that still mostly hold their initial values."""
    return keras.layers.BatchNormalization(momentum=0.9, name=name)


def _residual_block(x, filters: int, stride: int, name: str):
    shortcut = x
    y = keras.layers.Conv2D(filters, 3, strides=stride, padding="same", use_bias=False, name=f"{name}_conv1")(x)
    y = _batch_norm(f"{name}_bn1")(y)
    y = keras.layers.ReLU(name=f"{name}_relu1")(y)
    y = keras.layers.Conv2D(filters, 3, padding="same", use_bias=False, name=f"{name}_conv2")(y)
    y = _batch_norm(f"{name}_bn2")(y)
    if stride != 1 or shortcut.shape[-1] != filters:
        shortcut = keras.layers.Conv2D(filters, 1, strides=stride, use_bias=False, name=f"{name}_proj")(shortcut)
        shortcut = _batch_norm(f"{name}_proj_bn")(shortcut)
    y = keras.layers.Add(name=f"{name}_add")([y, shortcut])
    return keras.layers.ReLU(name=f"{name}_out")(y)


def small_resnet(image_size: int, widths=(32, 64, 128), blocks_per_stage: int = 1, stem_stride: int = 1
                 ) -> keras.Model:
    """A ResNet for small images: stride-1 stem, one downsampling per later stage.

    Why not ResNet50 at 32x32: its stride-32 stem reduces a 32-pixel image to
    one cell; this keeps 8x8 features and ~0.3M parameters.  ``stem_stride=2``
    (detection at 128 px) halves the resolution first, as detectors' stems do:
    full-resolution convolutions would cost 4× for no gain at that size.
    """
    inputs = keras.Input((image_size, image_size, 3), name="normalized_image")
    x = keras.layers.Conv2D(widths[0], 3, strides=stem_stride, padding="same", use_bias=False,
                            name="stem_conv")(inputs)
    x = _batch_norm("stem_bn")(x)
    x = keras.layers.ReLU(name="stem_relu")(x)
    for stage, filters in enumerate(widths):
        for block in range(blocks_per_stage):
            stride = 2 if stage > 0 and block == 0 else 1
            x = _residual_block(x, filters, stride, name=f"stage{stage + 1}_block{block + 1}")
    return keras.Model(inputs, x, name="small_resnet")


def build_backbone(name: str, image_size: int, weights: Optional[str], resnet_stem_stride: int = 1
                   ) -> Tuple[keras.Model, str]:
    """Returns (backbone without classifier head, normalisation mode)."""
    weights = resolve_weights(weights)
    shape = (image_size, image_size, 3)
    if name == "resnet":
        model = small_resnet(image_size, stem_stride=resnet_stem_stride)
        if weights == "imagenet":
            raise ValueError("the small 'resnet' backbone has no ImageNet weights; use a Keras "
                             "applications backbone (mobilenet, mobilenet_v2, efficientnet_b0, resnet50) or no weights.")
        if weights:
            model.load_weights(weights)
        return model, NORMALIZATION[name]
    if name == "squeezenet":
        from trainer import squeezenet

        if weights == "imagenet":
            raise ValueError("squeezenet has no download source: pass --weights with the path of "
                             "squeezenet_v1.1_weights_tf_dim_ordering_tf_kernels_notop.h5 (keras-squeezenet), "
                             "or no --weights to train from scratch.")
        model = squeezenet.build_squeezenet(image_size)
        if weights:
            squeezenet.load_weights(model, weights)
        return model, NORMALIZATION[name]
    constructors = {
        "mobilenet": keras.applications.MobileNet,
        "mobilenet_v2": keras.applications.MobileNetV2,
        "efficientnet_b0": keras.applications.EfficientNetB0,
        "resnet50": keras.applications.ResNet50,
    }
    if name not in constructors:
        raise ValueError(f"unknown backbone {name!r}; choose one of {sorted(NORMALIZATION)}")
    try:
        model = constructors[name](include_top=False, weights=weights, input_shape=shape)
        if weights is None:  # statistics learnt from scratch in a short run: see trainer/batchnorm.py
            use_short_run_momentum(model)
    except Exception as err:  # Keras raises plain Exception/URLError on failed downloads
        if weights == "imagenet":
            raise RuntimeError(
                f"could not load ImageNet weights for {name} ({err}). Without internet, download the "
                "'_notop' .h5 file elsewhere and pass its path as weights, or train without weights."
            ) from err
        raise
    return model, NORMALIZATION[name]
