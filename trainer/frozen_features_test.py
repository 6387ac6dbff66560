"""The frozen phase on stored backbone features trains the same head the full model uses."""

import numpy as np
import pytest

from trainer import frozen_features
from trainer.classifier import build_classifier
from trainer.config import AugmentationConfig, TrainerConfig
from trainer.keras_lib import keras, tf


def _config(**kwargs):
    values = dict(image_size=32, class_names=["a", "b"], batch_size=4, augmentation=AugmentationConfig(enabled=False))
    return TrainerConfig(**{**values, **kwargs})


def test_applies_only_when_the_features_cannot_change():
    config = _config()
    model, _ = build_classifier(config)
    assert frozen_features.applies(config, model, "pool", 0.0, 1, 100)
    assert not frozen_features.applies(config, model, "pool", 0.3, 1, 100)  # backbone partly trains
    assert not frozen_features.applies(_config(augmentation=AugmentationConfig()), model, "pool", 0.0, 1, 100)
    assert not frozen_features.applies(config, model, None, 0.0, 1, 100)  # no pooled embedding (segmentation)
    assert not frozen_features.applies(config, model, "pool", 0.0, 2, 100)  # several replicas
    assert not frozen_features.applies(_config(input_cache_mb=1), model, "pool", 0.0, 1, 10 ** 6)  # too many


@pytest.mark.trains
def test_head_on_stored_features_is_the_model_head():
    tf.keras.utils.set_random_seed(0)
    config = _config()
    model, backbone = build_classifier(config)
    backbone.trainable = False
    images = np.random.default_rng(0).uniform(0, 255, (6, 32, 32, 3)).astype("float32")
    labels = np.array([0, 1, 0, 1, 0, 1])
    features, targets = frozen_features.extract(model, "pool", tf.data.Dataset.from_tensor_slices(
        (images, labels)).batch(4))
    assert features.shape == (6, model.get_layer("pool").output.shape[-1]) and list(targets) == list(labels)
    head = frozen_features.head_model(model, "pool")
    np.testing.assert_allclose(head(features, training=False).numpy(), model(images, training=False).numpy(),
                               rtol=1e-5, atol=1e-6)
    head.compile(optimizer=keras.optimizers.Adam(0.05), loss="sparse_categorical_crossentropy")
    head.fit(frozen_features.training_dataset(features, targets, config), steps_per_epoch=5, epochs=1, verbose=0)
    # Training the head trained the full model's own layers.
    np.testing.assert_allclose(head(features, training=False).numpy(), model(images, training=False).numpy(),
                               rtol=1e-5, atol=1e-6)
