"""BatchNorm of untrained backbones: short-run momentum and statistics estimated from images."""

import numpy as np

from trainer import backbones, batchnorm
from trainer.keras_lib import keras, tf


def _classifier(backbone, size):
    inputs = keras.Input((size, size, 3))
    x = keras.layers.GlobalAveragePooling2D()(backbone(inputs))
    return keras.Model(inputs, keras.layers.Dense(3)(x))


def test_untrained_application_backbones_get_short_run_momentum():
    model, _ = backbones.build_backbone("mobilenet", 32, None)
    layers = batchnorm.batchnorm_layers(model)
    assert layers and {layer.momentum for layer in layers} == {batchnorm.UNTRAINED_MOMENTUM}


def test_recalibrated_frozen_backbone_gives_features_that_tell_images_apart():
    """With the initial statistics a frozen random MobileNet maps every image to ~0 (flat eval accuracy)."""
    tf.keras.utils.set_random_seed(0)
    backbone, _ = backbones.build_backbone("mobilenet", 64, None)
    model = _classifier(backbone, 64)
    rng = np.random.default_rng(0)
    images = rng.uniform(-1, 1, (16, 64, 64, 3)).astype("float32") * np.linspace(0.2, 1, 16)[:, None, None, None]
    features = keras.Model(backbone.input, keras.layers.GlobalAveragePooling2D()(backbone.output))
    backbone.trainable = False
    before = features(images, training=False).numpy()
    used = batchnorm.recalibrate(model, backbone, [(images[:8], None), (images[8:], None)])
    after = features(images, training=False).numpy()
    assert used == 2 and not backbone.trainable  # the frozen state is restored
    assert before.std() < 1e-6 < 1e-2 < after.std()
    # The moving mean is now the plain average of the two batches' means (momentum k/(k+1)).
    first = batchnorm.batchnorm_layers(backbone)[0]
    stem = keras.Model(backbone.input, backbone.get_layer("conv1").output)
    expected = np.mean([stem(images[:8]).numpy().mean(axis=(0, 1, 2)), stem(images[8:]).numpy().mean(axis=(0, 1, 2))],
                       axis=0)
    np.testing.assert_allclose(first.moving_mean.numpy(), expected, rtol=1e-4, atol=1e-5)
    assert {layer.momentum for layer in batchnorm.batchnorm_layers(backbone)} == {batchnorm.UNTRAINED_MOMENTUM}
