"""Detection: no training/serving skew, and boxes come back in each photo's own pixels, under both policies.

Photos of several sizes and aspect ratios (trainer/photo_skew_test.py) go
through the real Transform graph (TFT/Beam) with boxes; a detector is exported
with it.  The raw-bytes signature must return exactly the detections the model
gives on Transform's stored pixels, mapped back from the model's frame to the
photo's pixels; and the stored boxes must be where the photo's box went.
"""

from __future__ import annotations

import io

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from common import names
from trainer import centernet, image_ops, signatures
from trainer.conftest import run_tft
from trainer.config import TrainerConfig
from trainer.keras_lib import keras
from trainer.photo_skew_test import MADE, _photo
from trainer.tasks.detection import Detection, from_frame, image_frames

pytestmark = pytest.mark.pipeline

SIZE = 64
CLASSES = ["a", "b"]
#: One box per photo, normalised: (xmin, ymin, xmax, ymax, class).
BOX = (0.2, 0.3, 0.7, 0.9, 1)


@pytest.fixture(scope="module", params=["squash", "letterbox"])
def exported(request, tmp_path_factory):
    photos = [_photo(w, h, m, p, i) for i, (w, h, m, p) in enumerate(MADE)]
    config = TrainerConfig(task="detection", image_size=SIZE, resize_policy=request.param, class_names=CLASSES,
                           decoder_filters=[16, 16, 16])
    raw = [{"image": data, **{k: [v] for k, v in zip(names.BOX_COORDINATE_KEYS, BOX[:4])},
            names.BOX_CLASS_KEY: [BOX[4]]} for data in photos]
    tmp = tmp_path_factory.mktemp(f"detection_{request.param}")
    rows, tf_transform_output = run_tft(tmp, config, raw, {
        "image": tf.io.FixedLenFeature([], tf.string),
        **{k: tf.io.VarLenFeature(tf.float32) for k in names.BOX_COORDINATE_KEYS},
        names.BOX_CLASS_KEY: tf.io.VarLenFeature(tf.int64)})
    keras.utils.set_random_seed(0)
    model, _ = centernet.build_centernet(config)
    export_dir = str(tmp / "model")
    signatures.export_model(model, tf_transform_output, config, export_dir)
    return config, photos, rows, model, tf.saved_model.load(export_dir)


def test_served_detections_equal_the_models_on_stored_pixels_in_each_photos_pixels(exported):
    config, photos, rows, model, loaded = exported
    encoded = tf.constant(photos)
    served = loaded.signatures[names.RAW_BYTES_SIGNATURE](image_bytes=encoded)
    pixels = image_ops.bytes_to_pixels(tf.constant([r[names.TRANSFORMED_IMAGE_KEY] for r in rows]), SIZE)
    direct = centernet.decode(model(tf.cast(pixels, tf.float32), training=False), len(CLASSES))
    sizes = np.array([Image.open(io.BytesIO(p)).size for p in photos], float)  # (width, height)
    expected = from_frame(direct["boxes"], image_frames(encoded, config)).numpy() * np.tile(sizes, 2)[:, None, :]
    # An untrained head scores many boxes alike; float noise may flip one at the bottom of the NMS cut-off,
    # so the ten best detections of each photo are compared.
    np.testing.assert_allclose(served[names.NUM_DETECTIONS_KEY].numpy(), direct["num_detections"].numpy(), atol=2)
    count = 10
    np.testing.assert_allclose(served[names.DETECTION_SCORES_KEY].numpy()[:, :count], direct["scores"].numpy()[:, :count],
                               atol=1e-5)
    for i in range(len(photos)):
        np.testing.assert_allclose(served[names.DETECTION_BOXES_KEY].numpy()[i, :count], expected[i, :count],
                                   atol=1e-2, err_msg=config.resize_policy)
        assert (served[names.DETECTION_BOXES_KEY].numpy()[i, :count] <= np.tile(sizes[i], 2) + 1e-3).all()


def test_stored_boxes_are_where_the_photos_box_went(exported):
    config, photos, rows, _, _ = exported
    task = Detection()
    stored = task.parse_targets({names.TRANSFORMED_BOXES_KEY: tf.constant([r[names.TRANSFORMED_BOXES_KEY]
                                                                            for r in rows])}, config).numpy()
    for data, boxes in zip(photos, stored):
        width, height = Image.open(io.BytesIO(data)).size
        if config.resize_policy == "squash":
            np.testing.assert_allclose(boxes[0], BOX, atol=1e-6)
        else:
            scale = SIZE / max(width, height)
            new_w, new_h = round(width * scale), round(height * scale)
            left, top = (SIZE - new_w) // 2, (SIZE - new_h) // 2
            want = [(BOX[0] * new_w + left) / SIZE, (BOX[1] * new_h + top) / SIZE,
                    (BOX[2] * new_w + left) / SIZE, (BOX[3] * new_h + top) / SIZE, BOX[4]]
            np.testing.assert_allclose(boxes[0], want, atol=1e-5)
        assert (boxes[1:, 4] == -1).all()
