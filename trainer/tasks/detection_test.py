"""Detection: boxes follow the image exactly — through letterbox/squash resizing, flips and crops."""

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from common import names
from trainer import augmentation, image_ops
from trainer.config import AugmentationConfig, TransformConfig
from trainer.tasks.detection import Detection, augment_boxes, from_frame, image_frames, to_frame


def _bright_box(pixels: np.ndarray, threshold: float = 128.0):
    """Normalised (xmin, ymin, xmax, ymax) of the pixels brighter than ``threshold`` (edge convention)."""
    rows, cols = np.nonzero(pixels[..., 0] > threshold)
    height, width = pixels.shape[:2]
    return np.array([cols.min() / width, rows.min() / height, (cols.max() + 1) / width, (rows.max() + 1) / height])


def _png(pixels):
    import io

    buffer = io.BytesIO()
    Image.fromarray(pixels.astype(np.uint8)).save(buffer, format="PNG")
    return buffer.getvalue()


@pytest.mark.parametrize("policy", ["squash", "letterbox"])
def test_boxes_land_where_the_resized_pixels_are(policy):
    image = np.zeros((60, 120, 3), np.uint8)
    image[15:45, 30:90] = 255  # a bright rectangle: x 30-90 of 120, y 15-45 of 60
    box = np.array([[[30 / 120, 15 / 60, 90 / 120, 45 / 60, 1.0]]], np.float32)
    config = TransformConfig(task="detection", image_size=64, resize_policy=policy)
    encoded = tf.constant([_png(image)])
    pixels = image_ops.decode_and_resize(encoded, 64, policy=policy).numpy()[0]
    moved = to_frame(tf.constant(box), image_frames(encoded, config)).numpy()[0, 0]
    np.testing.assert_allclose(moved[:4], _bright_box(pixels), atol=1.5 / 64)
    assert moved[4] == 1.0
    if policy == "letterbox":  # aspect kept: 2:1 image, 16 px of black above and below
        np.testing.assert_allclose(moved[:4], [0.25, 0.25 + 7.5 / 64, 0.75, 0.75 - 7.5 / 64], atol=1 / 64)
    back = from_frame(tf.constant(moved[None, None, :4]), image_frames(encoded, config)).numpy()[0, 0]
    np.testing.assert_allclose(back, box[0, 0, :4], atol=1e-6)


def test_flips_and_crops_move_the_boxes_with_the_pixels():
    images = np.zeros((8, 64, 64, 3), np.float32)
    boxes = np.full((8, 4, 5), -1.0, np.float32)
    for i in range(8):
        x0, y0 = 8 + 3 * i, 10 + 2 * i
        images[i, y0:y0 + 20, x0:x0 + 12] = 255.0
        boxes[i, 0] = [x0 / 64, y0 / 64, (x0 + 12) / 64, (y0 + 20) / 64, 2]
    config = AugmentationConfig(brightness=0.0, contrast=0.0, crop_pad_fraction=0.15, flip_left_right=True)
    augmented, crops = augmentation.augment_geometry(tf.constant(images), config, seed=(3, 4))
    moved = augment_boxes(tf.constant(boxes), crops).numpy()
    flipped = crops.numpy()[:, 1] > crops.numpy()[:, 3]
    assert flipped.any() and (~flipped).any()
    for i in range(8):
        assert moved[i, 0, 4] == 2 and (moved[i, 1:, 4] == -1).all()
        np.testing.assert_allclose(moved[i, 0, :4], _bright_box(augmented.numpy()[i]), atol=1.5 / 64)


def test_a_box_pushed_out_of_the_frame_is_dropped():
    boxes = tf.constant([[[0.0, 0.4, 0.1, 0.6, 0.0], [0.4, 0.4, 0.6, 0.6, 1.0]]])
    crop = tf.constant([[0.0, 0.08, 1.0, 1.08]])  # shifted right: the first box keeps 20% of its width
    moved = augment_boxes(boxes, crop).numpy()[0]
    assert moved[0, 4] == -1 and moved[1, 4] == 1


def test_targets_are_padded_to_the_training_box_count():
    task = Detection()
    config = TransformConfig(task="detection", image_size=32)
    inputs = {"image": tf.constant([_png(np.zeros((32, 32, 3)))] * 2),
              **{key: tf.ragged.constant([[0.1], [0.2, 0.3]]).to_sparse() for key in names.BOX_COORDINATE_KEYS},
              names.BOX_CLASS_KEY: tf.ragged.constant([[0], [1, 2]], dtype=tf.int64).to_sparse()}
    transformed = task.transform_targets(inputs, config)
    parsed = task.parse_targets(transformed, config).numpy()
    assert parsed.shape == (2, names.MAX_BOXES, 5)
    assert parsed[0, 0, 4] == 0 and parsed[0, 1, 4] == -1 and list(parsed[1, :3, 4]) == [1, 2, -1]
