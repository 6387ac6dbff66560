"""No training/serving skew at 224 px on JPEG photos of varied sizes, under both resize policies.

The photos are made here (several sizes and aspect ratios, baseline and
progressive, grayscale) and, when ``../shared/datasets/clothing3`` is
present, real camera JPEGs are added.  For each policy the Transform graph
runs through real TFT/Beam, a model is exported with it, and the raw-bytes
serving signature must return exactly what the model returns on Transform's
stored pixels.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from common import names
from trainer import image_ops, signatures
from trainer.classifier import build_classifier
from trainer.config import TrainerConfig
from trainer.conftest import run_tft
from trainer.keras_lib import keras

pytestmark = pytest.mark.pipeline

SIZE = 224
CLOTHING3 = Path(__file__).resolve().parents[2] / "shared" / "datasets" / "clothing3"
#: (width, height, mode, progressive): landscape, portrait, wide, tall, square, small, grayscale.
MADE = [(500, 375, "RGB", False), (375, 500, "RGB", True), (1024, 200, "RGB", False), (150, 600, "RGB", False),
        (231, 231, "RGB", True), (97, 61, "RGB", False), (640, 480, "L", False)]


def _photo(width: int, height: int, mode: str, progressive: bool, seed: int) -> bytes:
    """A smooth colour field with edges (like a photo, JPEG-friendly) at the given size."""
    rng = np.random.RandomState(seed)
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    channels = [np.sin(x / rng.uniform(5, 40) + rng.uniform(0, 6)) * np.cos(y / rng.uniform(5, 40)) for _ in range(3)]
    array = ((np.stack(channels, -1) + 1) * 127.5).astype(np.uint8)
    image = Image.fromarray(array).convert(mode)
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=90, progressive=progressive)
    return buffer.getvalue()


def _photos():
    photos = [(f"made_{w}x{h}_{m}", _photo(w, h, m, p, i)) for i, (w, h, m, p) in enumerate(MADE)]
    if CLOTHING3.is_dir():
        for path in sorted(CLOTHING3.glob("val/*/*.jp*g"))[::20][:6]:
            photos.append((f"clothing3/{path.parent.name}/{path.name}", path.read_bytes()))
    else:
        print(f"no real photos added: {CLOTHING3} not present (the made JPEGs still run)")
    return photos


@pytest.fixture(scope="module", params=["squash", "crop"])
def exported(request, tmp_path_factory):
    """(policy, photos, transformed rows, in-memory model, reloaded SavedModel) at 224 px."""
    photos = _photos()
    config = TrainerConfig(image_size=SIZE, resize_policy=request.param, class_names=["a", "b", "c"])
    raw = [{"image": data, "label": i % 3} for i, (_, data) in enumerate(photos)]
    tmp = tmp_path_factory.mktemp(f"photos_{request.param}")
    rows, tf_transform_output = run_tft(tmp, config, raw, {
        "image": tf.io.FixedLenFeature([], tf.string), "label": tf.io.FixedLenFeature([], tf.int64)})
    keras.utils.set_random_seed(0)
    model, _ = build_classifier(config)
    export_dir = str(tmp / "model")
    signatures.export_model(model, tf_transform_output, config, export_dir)
    return request.param, photos, rows, model, tf.saved_model.load(export_dir)


def test_raw_jpeg_bytes_serve_exactly_what_the_model_saw_in_training(exported):
    policy, photos, rows, model, loaded = exported
    assert len(photos) >= len(MADE)
    served = loaded.signatures[names.RAW_BYTES_SIGNATURE](image_bytes=tf.constant([d for _, d in photos]))
    stored = tf.constant([r[names.TRANSFORMED_IMAGE_KEY] for r in rows])
    pixels = image_ops.bytes_to_pixels(stored, SIZE)
    assert pixels.shape == (len(photos), SIZE, SIZE, 3)
    direct = model(tf.cast(pixels, tf.float32), training=False)
    np.testing.assert_allclose(served["probabilities"].numpy(), direct.numpy(), atol=1e-6, err_msg=policy)


def test_stored_pixels_follow_the_policy(exported):
    """crop = the centred square of the photo resized; squash = the whole photo resized."""
    policy, photos, rows, _, _ = exported
    for (name, data), row in zip(photos, rows):
        stored = tf.io.parse_tensor(row[names.TRANSFORMED_IMAGE_KEY], tf.uint8).numpy().astype(np.float32)
        photo = np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))
        h, w = photo.shape[:2]
        if policy == "crop":
            side = min(h, w)
            photo = photo[(h - side) // 2:(h - side) // 2 + side, (w - side) // 2:(w - side) // 2 + side]
        reference = np.asarray(Image.fromarray(photo).resize((SIZE, SIZE), Image.BILINEAR), np.float32)
        # Independent decoder (Pillow) and resampler: close on average, not bit-equal.
        assert np.abs(stored - reference).mean() < 6.0, (policy, name)


def test_transformed_photo_is_uint8_at_model_resolution(exported):
    _, _, rows, _, _ = exported
    sizes = {len(r[names.TRANSFORMED_IMAGE_KEY]) for r in rows}
    assert len(sizes) == 1 and SIZE * SIZE * 3 <= sizes.pop() <= SIZE * SIZE * 3 + 32
