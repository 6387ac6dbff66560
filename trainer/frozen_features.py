"""The frozen-backbone phase on backbone features computed once, not at every step.

While the backbone is frozen (its BatchNorm in inference mode) and the
training images are not augmented, the backbone maps each image to the same
features at every step, so running it 32 images × N steps recomputes the same
numbers.  Here it runs once per training (and validation) image, and the head
trains on the stored features: the same model, the same steps and batch size,
at a fraction of the cost (TFX's CIFAR-10 example spends 120 of its 160
steps this way at 224 px).

It applies only when that is exact: a frozen phase, no augmentation, one
replica, a task whose head is a chain of layers after a pooled embedding
(classification), and features that fit ``--input-cache-mb``.
"""

from __future__ import annotations

from typing import Optional, Tuple

import numpy as np

from trainer.config import TrainerConfig
from trainer.keras_lib import keras, tf


def applies(config: TrainerConfig, model: keras.Model, embedding_layer: Optional[str], trainable_fraction: float,
            replicas: int, examples: int) -> bool:
    """Whether the phase can train on stored features without changing what it computes."""
    if trainable_fraction > 0 or config.augmentation.enabled or replicas != 1 or embedding_layer is None:
        return False
    feature_size = int(np.prod(model.get_layer(embedding_layer).output.shape[1:]))
    return examples * feature_size * 4 <= config.input_cache_mb * 2 ** 20


def head_model(model: keras.Model, embedding_layer: str) -> keras.Model:
    """The layers after ``embedding_layer`` as a model of their own (sharing the full model's weights)."""
    layer_names = [layer.name for layer in model.layers]
    tail = model.layers[layer_names.index(embedding_layer) + 1:]
    inputs = keras.Input(model.get_layer(embedding_layer).output.shape[1:], name=f"{embedding_layer}_features")
    x = inputs
    for layer in tail:
        x = layer(x)
    return keras.Model(inputs, x, name=f"{model.name}_head")


def extract(model: keras.Model, embedding_layer: str, dataset: tf.data.Dataset) -> Tuple[np.ndarray, np.ndarray]:
    """(features, targets) of every batch of a finite ``(images, targets)`` dataset, in order."""
    extractor = keras.Model(model.inputs, model.get_layer(embedding_layer).output)
    embed = tf.function(lambda images: extractor(images, training=False))
    features, targets = [], []
    for images, target in dataset:
        features.append(embed(images).numpy())
        targets.append(target.numpy())
    if not features:
        return np.zeros((0,) + tuple(extractor.output.shape[1:]), np.float32), np.zeros((0,), np.int64)
    return np.concatenate(features), np.concatenate(targets)


def training_dataset(features: np.ndarray, targets: np.ndarray, config: TrainerConfig) -> tf.data.Dataset:
    """Shuffled (seeded), repeated, full batches: the same stream shape as the image pipeline's."""
    return (tf.data.Dataset.from_tensor_slices((features, targets))
            .shuffle(len(targets), seed=config.seed, reshuffle_each_iteration=True).repeat()
            .batch(config.batch_size, drop_remainder=True).prefetch(tf.data.AUTOTUNE))


def validation_dataset(features: np.ndarray, targets: np.ndarray, config: TrainerConfig) -> tf.data.Dataset:
    return tf.data.Dataset.from_tensor_slices((features, targets)).batch(config.batch_size)
