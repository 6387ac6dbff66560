"""TFLite export: float equals the Keras model, int8 stays close, metadata carries the labels (segmentation too)."""

import numpy as np
import pytest

from trainer import tflite_export
from trainer.classifier import build_classifier
from trainer.config import TrainerConfig
from trainer.keras_lib import keras
from trainer.unet import build_unet

CLASSES = ["cat", "dog", "eel"]


def _representative(size, count=24):
    rng = np.random.default_rng(1)
    return lambda: (rng.uniform(0, 255, (1, size, size, 3)).astype(np.float32) for _ in range(count))


@pytest.mark.parametrize("task, build", [("classification", build_classifier), ("segmentation", build_unet)])
def test_float_and_int8_files_with_metadata(tmp_path, task, build):
    from tensorflow_lite_support.metadata.python import metadata

    config = TrainerConfig(task=task, image_size=16, class_names=CLASSES, decoder_filters=[8, 8, 8])
    keras.utils.set_random_seed(0)
    model, _ = build(config)
    written = tflite_export.export_tflite(model, config, str(tmp_path), _representative(16))
    assert sorted(written) == ["model.tflite", "model_int8.tflite"]
    pixels = np.random.default_rng(2).integers(0, 256, (4, 16, 16, 3)).astype(np.float32)
    expected = model(pixels).numpy()
    np.testing.assert_allclose(tflite_export.predict(written["model.tflite"], pixels), expected, atol=1e-4)
    int8 = tflite_export.predict(written["model_int8.tflite"], pixels)
    assert int8.shape == expected.shape and np.abs(int8 - expected).max() < 0.1
    for path in written.values():
        displayer = metadata.MetadataDisplayer.with_model_file(path)
        assert displayer.get_packed_associated_file_list() == ["labels.txt"]
        assert displayer.get_associated_file_buffer("labels.txt").decode().split() == CLASSES


def test_float_only_without_a_representative_dataset(tmp_path):
    config = TrainerConfig(image_size=16, class_names=CLASSES)
    model, _ = build_classifier(config)
    assert sorted(tflite_export.export_tflite(model, config, str(tmp_path))) == ["model.tflite"]
    with pytest.raises(ValueError, match="tflite"):
        TrainerConfig(tflite="fp16")
