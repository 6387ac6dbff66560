"""BatchNorm statistics of backbones that start from random weights.

Why this module exists: a Keras application backbone built without weights
has BatchNorm moving statistics of mean 0 / variance 1 and momentum 0.99.
Measured on TFX's own CIFAR-10 work (MobileNet v1 at 224, random init):

* frozen (inference-mode BatchNorm with those initial statistics), the pooled
  features shrink to ~1e-20 through the 27 conv layers, so the new head sees
  zeros and predicts one class for every image: eval accuracy stays flat (the
  anchor's 0.094) however long the head trains;
* trained whole for a few hundred steps at momentum 0.99, the moving
  statistics still hold much of their initial values, so eval (inference
  mode) again differs from training (batch statistics): training accuracy
  climbs, eval accuracy stays flat.

So untrained backbones get momentum 0.9 (as the small ResNet has), and before
a frozen phase their statistics are estimated from training images.
"""

from __future__ import annotations

from typing import Iterable

from trainer.keras_lib import keras, tf

#: Momentum of BatchNorm layers that learn their statistics from scratch in a short CPU run.
UNTRAINED_MOMENTUM = 0.9


def batchnorm_layers(model: keras.Model):
    """Every BatchNormalization layer of ``model``, nested models included."""
    return [layer for layer in model.submodules if isinstance(layer, keras.layers.BatchNormalization)]


def use_short_run_momentum(model: keras.Model) -> None:
    """Sets :data:`UNTRAINED_MOMENTUM` on every BatchNorm layer (read at each call, so it applies from now on)."""
    for layer in batchnorm_layers(model):
        layer.momentum = UNTRAINED_MOMENTUM


def recalibrate(model: keras.Model, backbone: keras.Model, batches: Iterable, max_batches: int = 8) -> int:
    """Replaces the backbone's BatchNorm moving statistics by their average over up to ``max_batches``
    batches of un-augmented training images; returns how many batches it used.

    Each batch runs the model once in training mode (no gradient step): with
    momentum ``k / (k + 1)`` at the k-th batch the moving mean and variance
    become the plain average of the batch statistics.
    """
    layers = batchnorm_layers(backbone)
    if not layers:
        return 0
    was_trainable = backbone.trainable
    backbone.trainable = True  # a frozen BatchNorm ignores training=True
    kept = [layer.momentum for layer in layers]
    used = 0
    try:
        for images, _ in batches:
            if used >= max_batches:
                break
            for layer in layers:
                layer.momentum = used / (used + 1.0)
            model(tf.convert_to_tensor(images), training=True)
            used += 1
    finally:
        for layer, momentum in zip(layers, kept):
            layer.momentum = momentum
        backbone.trainable = was_trainable
    return used
