"""Augmentation: geometric changes hit image and mask alike, photometric ones the image only."""

import numpy as np
import tensorflow as tf

from common.names import IGNORE_LABEL
from trainer.augmentation import augment
from trainer.config import AugmentationConfig


def _image_and_mask(size=16, batch=4):
    """A batch of identical examples: mask class = column band; the image encodes the class in its red channel."""
    mask = (np.arange(size)[None, :, None] // 4 % 3).repeat(size, 0).astype(np.uint8)
    image = np.concatenate([mask * 80.0, np.full_like(mask, 50.0), np.full_like(mask, 90.0)], -1).astype(np.float32)
    return tf.constant(np.stack([image] * batch)), tf.constant(np.stack([mask] * batch))


def test_geometric_augmentation_keeps_mask_aligned():
    config = AugmentationConfig(brightness=0.0, contrast=0.0, crop_pad_fraction=0.25, flip_left_right=True)
    image, mask = _image_and_mask()
    padded = flipped = 0
    for index in range(5):
        out_image, out_mask = augment(image, config, mask, seed=(1, index))
        out_mask = out_mask.numpy()[..., 0]
        red = out_image.numpy()[..., 0]
        inside = out_mask != IGNORE_LABEL
        np.testing.assert_allclose(red[inside], out_mask[inside] * 80.0)  # whole-pixel shifts: no blending
        assert np.all(red[~inside] == 0.0)  # padded image border is black where the mask is "ignore"
        padded += int((~inside).any())
        # Column bands ascend left to right; a flipped example has them descending.
        flipped += sum(int(m[8, 2] > m[8, 13]) for m in out_mask if m[8, 2] != IGNORE_LABEL != m[8, 13])
    assert padded and flipped, "the draws must include shifts and flips (sanity check of the test)"


def test_photometric_augmentation_leaves_mask_untouched():
    config = AugmentationConfig(flip_left_right=False, crop_pad_fraction=0.0, brightness=0.3, contrast=0.3)
    image, mask = _image_and_mask()
    out_image, out_mask = augment(image, config, mask, seed=(2, 0))
    np.testing.assert_array_equal(out_mask.numpy(), mask.numpy())
    assert not np.allclose(out_image.numpy(), image.numpy())
    assert out_image.numpy().min() >= 0 and out_image.numpy().max() <= 255


def test_disabled_augmentation_is_identity():
    image, mask = _image_and_mask()
    out_image, out_mask = augment(image, AugmentationConfig(enabled=False), mask)
    assert out_image is image and out_mask is mask


def test_same_seed_same_augmentation_other_seed_other_augmentation():
    config = AugmentationConfig(crop_pad_fraction=0.25, brightness=0.2, contrast=0.2, flip_left_right=True)
    image, mask = _image_and_mask()
    first = [augment(image, config, mask, seed=(7, i))[0].numpy() for i in range(4)]
    again = [augment(image, config, mask, seed=(7, i))[0].numpy() for i in range(4)]
    other = [augment(image, config, mask, seed=(8, i))[0].numpy() for i in range(4)]
    for a, b in zip(first, again):
        np.testing.assert_array_equal(a, b)
    assert any(not np.array_equal(a, c) for a, c in zip(first, other))


def test_random_resized_crop_zooms_reproducibly_and_refuses_masks():
    config = AugmentationConfig(brightness=0.0, contrast=0.0, flip_left_right=False, min_crop_area=0.3)
    # Distinct value per pixel: a crop that zooms in changes the image, the same seed repeats it.
    image = tf.constant(np.arange(32 * 32 * 3, dtype=np.float32).reshape(32, 32, 3) % 251)
    batch = tf.stack([image] * 6)
    outs = augment(batch, config, seed=(2, 0), random_resized_crop=True)[0].numpy()
    assert outs.shape == (6, 32, 32, 3)
    again = augment(batch, config, seed=(2, 0), random_resized_crop=True)[0].numpy()
    np.testing.assert_array_equal(outs, again)
    assert sum(not np.allclose(o, image.numpy()) for o in outs) >= 4
    assert len({o.tobytes() for o in outs}) == len(outs)  # each example of the batch gets its own box
    image, mask = _image_and_mask()
    try:
        augment(image, config, mask, seed=(0, 0), random_resized_crop=True)
    except ValueError as error:
        assert "masks" in str(error)
    else:
        raise AssertionError("a mask with random resized crops must be refused")
