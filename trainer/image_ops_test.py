"""Image ops: the batched pixel reader gives exactly what parse_tensor gives; resizing to the same size is exact."""

import numpy as np
import pytest

from trainer import image_ops
from trainer.keras_lib import tf


@pytest.mark.parametrize("size, count", [(1, 1), (8, 5), (224, 3)])
def test_batched_bytes_to_pixels_equals_parse_tensor_per_image(size, count):
    images = np.random.default_rng(size).integers(0, 256, (count, size, size, 3), dtype=np.uint8)
    stored = image_ops.pixels_to_bytes(tf.constant(images))
    reference = np.stack([tf.io.parse_tensor(s, tf.uint8).numpy() for s in stored])
    np.testing.assert_array_equal(image_ops.bytes_to_pixels(stored, size).numpy(), reference)
    np.testing.assert_array_equal(reference, images)
    assert image_ops.bytes_to_pixels(tf.constant([], tf.string), size).shape == (0, size, size, 3)


def test_pixels_stored_at_another_size_are_a_clear_error():
    stored = image_ops.pixels_to_bytes(tf.zeros([2, 16, 16, 3], tf.uint8))
    with pytest.raises(tf.errors.InvalidArgumentError, match="another --image-size"):
        image_ops.bytes_to_pixels(stored, 32)


@pytest.mark.parametrize("policy", ["squash", "crop", "letterbox"])
@pytest.mark.parametrize("method", ["bilinear", "nearest"])
def test_resize_leaves_an_image_at_the_target_size_unchanged_and_resizes_others(policy, method):
    """The no-op shortcut returns the very pixels the full resize would (so skipping it is exact)."""
    rng = np.random.default_rng(0)
    image = tf.constant(rng.integers(0, 256, (37, 37, 3), dtype=np.uint8))
    assert np.array_equal(image_ops.resize(image, 37, method, policy).numpy(), image.numpy())
    assert np.array_equal(image_ops._resize(image, 37, method, policy).numpy(), image.numpy())
    wide = tf.constant(rng.integers(0, 256, (20, 50, 3), dtype=np.uint8))
    resized = image_ops.resize(wide, 37, method, policy)
    assert resized.shape == (37, 37, 3)
    assert np.array_equal(resized.numpy(), image_ops._resize(wide, 37, method, policy).numpy())
