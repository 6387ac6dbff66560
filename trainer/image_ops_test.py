"""The compact pixel encoding: the batched reader gives exactly what parse_tensor gives."""

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
