"""Segmentation pieces on a real Transform graph: aligned mask resize, U-Net, loss, signatures, no skew."""

import io

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from ingest.example_format import make_segmentation_example
from common import names
from trainer import image_ops, signatures
from trainer.conftest import run_tft
from trainer.keras_lib import keras
from trainer.config import TrainerConfig
from trainer.tasks.registry import get_task
from trainer.unet import SegmentationLoss, build_unet, multi_scale_layers

SIZE = 8
CLASSES = ["bg", "left", "right"]


def _png(array):
    buffer = io.BytesIO()
    Image.fromarray(array.astype(np.uint8)).save(buffer, format="PNG")
    return buffer.getvalue()


def _sample(h, w):
    """Image whose red channel encodes the class of the mask pixel under it (left/right halves)."""
    mask = np.zeros((h, w), np.uint8)
    mask[:, : w // 2] = 1
    mask[h // 2:, w // 2:] = 2
    image = np.stack([mask * 100, np.full_like(mask, 30), np.full_like(mask, 60)], -1)
    return _png(image), _png(mask)


SAMPLES = [_sample(16, 16), _sample(24, 16), _sample(10, 20)]


@pytest.fixture(scope="module")
def seg_run(tmp_path_factory):
    config = TrainerConfig(task="segmentation", image_size=SIZE, class_names=CLASSES, decoder_filters=[8, 8])
    raw = [{"image": image, "mask": mask} for image, mask in SAMPLES]
    rows, output = run_tft(tmp_path_factory.mktemp("seg_tft"), config, raw, {
        "image": tf.io.FixedLenFeature([], tf.string), "mask": tf.io.FixedLenFeature([], tf.string)})
    keras.utils.set_random_seed(0)
    model, _ = build_unet(config)
    export_dir = str(tmp_path_factory.mktemp("seg_model") / "model")
    signatures.export_model(model, output, config, export_dir)
    return config, rows, model, tf.saved_model.load(export_dir)


@pytest.mark.pipeline
def test_mask_is_resized_nearest_and_aligned_with_the_image(seg_run):
    _, rows, _, _ = seg_run
    for row in rows:
        image = tf.io.parse_tensor(row[names.TRANSFORMED_IMAGE_KEY], tf.uint8).numpy()
        mask = tf.io.parse_tensor(row[names.TRANSFORMED_MASK_KEY], tf.uint8).numpy()[..., 0]
        assert mask.shape == (SIZE, SIZE) and set(np.unique(mask)) <= {0, 1, 2}
        # Away from class borders the bilinear image agrees with the nearest-neighbour mask.
        interior = np.zeros_like(mask, bool)
        interior[1:-1, 1:-1] = True
        for cls in (0, 1, 2):
            eroded = (mask == cls) & interior
            eroded &= np.roll(mask == cls, 1, 0) & np.roll(mask == cls, -1, 0)
            eroded &= np.roll(mask == cls, 1, 1) & np.roll(mask == cls, -1, 1)
            np.testing.assert_allclose(image[..., 0][eroded], cls * 100, atol=2)


@pytest.mark.pipeline
def test_raw_bytes_give_masks_at_original_size_and_no_skew(seg_run):
    config, rows, model, loaded = seg_run
    out = loaded.signatures[names.RAW_BYTES_SIGNATURE](image_bytes=tf.constant([s[0] for s in SAMPLES]))
    assert out["probabilities"].shape == (3, SIZE, SIZE, 3)
    assert out["height"].numpy().tolist() == [16, 24, 10] and out["width"].numpy().tolist() == [16, 16, 20]
    masks = out["mask"].numpy()
    assert masks.shape == (3, 24, 20)
    assert np.all(masks[0, 16:, :] == 255) and np.all(masks[0, :16, 16:] == 255)  # padding only outside
    assert set(np.unique(masks[0, :16, :16])) <= {0, 1, 2}
    pixels = image_ops.bytes_to_pixels(tf.constant([r[names.TRANSFORMED_IMAGE_KEY] for r in rows]), SIZE)
    direct = model(tf.cast(pixels, tf.float32), training=False).numpy()
    np.testing.assert_allclose(out["probabilities"].numpy(), direct, atol=1e-6)


@pytest.mark.pipeline
def test_evaluation_signature_returns_transformed_label_and_prediction(seg_run):
    _, rows, _, loaded = seg_run
    examples = [make_segmentation_example(i, m, CLASSES, f"f{k}").SerializeToString() for k, (i, m) in enumerate(SAMPLES)]
    out = loaded.signatures[names.EVALUATION_SIGNATURE](examples=tf.constant(examples))
    labels = np.stack([tf.io.parse_tensor(r[names.TRANSFORMED_MASK_KEY], tf.uint8).numpy()[..., 0] for r in rows])
    np.testing.assert_array_equal(out["label_mask"].numpy(), labels)
    by_bytes = loaded.signatures[names.RAW_BYTES_SIGNATURE](image_bytes=tf.constant([s[0] for s in SAMPLES]))
    np.testing.assert_array_equal(out["predicted_mask"].numpy(), np.argmax(by_bytes["probabilities"].numpy(), -1))


@pytest.mark.parametrize("backbone", ["resnet", "mobilenet_v2"])
def test_unet_outputs_per_pixel_probabilities(backbone):
    config = TrainerConfig(task="segmentation", backbone=backbone, image_size=32, class_names=CLASSES)
    model, _ = build_unet(config)
    out = model(np.zeros((2, 32, 32, 3), np.float32)).numpy()
    assert out.shape == (2, 32, 32, 3)
    np.testing.assert_allclose(out.sum(-1), 1.0, rtol=1e-5)


def test_multi_scale_layers_pick_one_layer_per_resolution():
    _, backbone = get_task("segmentation").build_model(TrainerConfig(task="segmentation", image_size=32, class_names=CLASSES))
    names = multi_scale_layers(backbone, 3)
    sizes = [backbone.get_layer(n).output_shape[1] for n in names]
    assert sizes == [8, 16, 32]


def test_loss_ignores_255_and_weights_classes():
    probs = np.full((1, 2, 2, 2), 0.5, np.float32)
    probs[0, 0, 0] = [0.9, 0.1]
    labels = np.array([[[0], [1]], [[255], [255]]], np.uint8)[None]
    plain = SegmentationLoss(2)(labels, probs).numpy()
    expected = (-np.log(0.9) - np.log(0.5)) / 2
    assert plain == pytest.approx(expected, rel=1e-5)
    weighted = SegmentationLoss(2, class_weights=[1.0, 3.0])(labels, probs).numpy()
    assert weighted == pytest.approx((-np.log(0.9) - 3 * np.log(0.5)) / 2, rel=1e-5)
    assert SegmentationLoss(2, dice_weight=1.0)(labels, probs).numpy() > plain
