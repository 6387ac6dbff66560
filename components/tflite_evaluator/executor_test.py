"""TfliteEvaluator executor: Do() on real Examples and real TFLite files, through TFX's Evaluator and TFMA.

The models are tiny Keras models with fixed weights that read colour, so
their answers are known: a classifier that names an image's dominant colour,
and a segmenter that labels each pixel by its colour.  A few labels are wrong
on purpose, so the expected metrics are exact fractions below 1.
"""

import io
import os

import numpy as np
import pytest
import tensorflow as tf
from google.protobuf import json_format
from PIL import Image
from tfx.types import artifact_utils, standard_artifacts

from common import names
from components.tflite_evaluator.executor import Executor, MissingHooks
from components.tflite_evaluator.spec import EVAL_CONFIG_KEY, EVALUATION_KEY, EXAMPLES_KEY, MODEL_KEY, MODULE_PATH_KEY
from ingest.example_format import make_image_example, make_segmentation_example
from pipeline.configs import PipelineConfig
from components.tflite_evaluator.results import read_tflite_metrics
from pipeline.evaluation import tflite_eval_config
from trainer import tflite_export
from trainer.tflite_evaluation import __name__ as TFLITE_HOOKS
from trainer.config import TrainerConfig
from trainer.keras_lib import keras

CLASSES = ["red", "blue"]
SIZE = 8


def _png(pixels: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(pixels.astype(np.uint8)).save(buffer, format="PNG")
    return buffer.getvalue()


def _colour_logits(inputs):
    """Per-pixel logits [red - blue, blue - red] / 20: class 0 where red dominates, 1 where blue does."""
    layer = keras.layers.Conv2D(2, 1, use_bias=False)
    outputs = layer(inputs)
    layer.set_weights([np.array([[[[1, -1], [0, 0], [-1, 1]]]], np.float32) / 20])
    return outputs


def _classifier():
    inputs = keras.Input([SIZE, SIZE, 3])
    pooled = keras.layers.GlobalAveragePooling2D()(_colour_logits(inputs))
    return keras.Model(inputs, keras.layers.Softmax()(pooled))


def _segmenter():
    inputs = keras.Input([SIZE, SIZE, 3])
    return keras.Model(inputs, keras.layers.Softmax()(_colour_logits(inputs)))


def _image(class_id: int, shape=(SIZE, SIZE)) -> np.ndarray:
    pixels = np.full(shape + (3,), 40, np.uint8)
    pixels[..., 0 if class_id == 0 else 2] = 220
    return pixels


def _representative():
    return (np.stack([_image(i % 2)]).astype(np.float32) for i in range(8))


def _examples(root, rows):
    examples = standard_artifacts.Examples()
    examples.uri = str(root / "examples")
    examples.split_names = artifact_utils.encode_split_names(["eval"])
    os.makedirs(os.path.join(examples.uri, "Split-eval"))
    with tf.io.TFRecordWriter(os.path.join(examples.uri, "Split-eval", "data.tfrecord.gz"), options="GZIP") as writer:
        for i, row in enumerate(rows):
            name = f"img_{i:02d}.png"
            example = (make_segmentation_example(row["image"], row["mask"], CLASSES, name) if "mask" in row
                       else make_image_example(row["image"], row["label"], CLASSES[row["label"]], name))
            writer.write(example.SerializeToString())
    return examples


def _properties(config):
    return {EVAL_CONFIG_KEY: json_format.MessageToJson(tflite_eval_config(config)), MODULE_PATH_KEY: TFLITE_HOOKS}


def _evaluate(root, config, model, rows):
    trained = standard_artifacts.Model()
    trained.uri = str(root / "model")
    tflite_export.export_tflite(model, config.trainer, os.path.join(trained.uri, "Format-Serving"), _representative)
    evaluation = standard_artifacts.ModelEvaluation()
    evaluation.uri = str(root / "evaluation")
    os.makedirs(evaluation.uri)
    Executor().Do({EXAMPLES_KEY: [_examples(root, rows)], MODEL_KEY: [trained]}, {EVALUATION_KEY: [evaluation]},
                  _properties(config))
    return evaluation.uri


def _metrics(evaluation_uri, model_name):
    return read_tflite_metrics(evaluation_uri)[model_name]


@pytest.mark.pipeline
def test_both_tflite_files_are_scored_on_raw_images(tmp_path):
    keras.utils.set_random_seed(0)
    config = PipelineConfig(trainer=TrainerConfig(image_size=SIZE, class_names=CLASSES, tflite="int8"))
    # 20 images of other sizes (Transform's resize runs first); labels 3 and 7 are wrong: accuracy 18/20.
    rows = [{"image": _png(_image(i % 2, (12, 10))), "label": (1 - i % 2) if i in (3, 7) else i % 2}
            for i in range(20)]
    uri = _evaluate(tmp_path, config, _classifier(), rows)
    for model_name in (names.TFLITE_FLOAT_MODEL, names.TFLITE_INT8_MODEL):
        metrics = _metrics(uri, model_name)
        assert metrics["example_count"] == 20
        assert metrics["sparse_categorical_accuracy"] == pytest.approx(0.9)


@pytest.mark.pipeline
def test_segmentation_masks_are_scored_with_the_iou_metric(tmp_path):
    keras.utils.set_random_seed(0)
    config = PipelineConfig(trainer=TrainerConfig(task="segmentation", image_size=SIZE, class_names=CLASSES,
                                                  tflite="float"))
    image = _image(0)
    image[:, SIZE // 2:] = _image(1)[:, SIZE // 2:]  # red left half, blue right half
    right = np.zeros((SIZE, SIZE), np.uint8)
    right[:, SIZE // 2:] = 1
    wrong = right.copy()
    wrong[:, SIZE // 2:SIZE // 2 + 2] = 0  # two blue columns labelled red
    rows = [{"image": _png(image), "mask": _png(right)}, {"image": _png(image), "mask": _png(wrong)}]
    metrics = _metrics(_evaluate(tmp_path, config, _segmenter(), rows), names.TFLITE_FLOAT_MODEL)
    # red: TP 64, FP 16 (the wrongly labelled blue pixels are predicted blue) -> 64 / 80; blue: 48 / 64.
    assert metrics["iou/red"] == pytest.approx(64 / 80)
    assert metrics["iou/blue"] == pytest.approx(48 / 64)


def test_a_missing_int8_file_is_named_with_the_flag_that_writes_it(tmp_path):
    keras.utils.set_random_seed(0)
    float_only = PipelineConfig(trainer=TrainerConfig(image_size=SIZE, class_names=CLASSES, tflite="float"))
    trained = standard_artifacts.Model()
    trained.uri = str(tmp_path / "model")
    tflite_export.export_tflite(_classifier(), float_only.trainer, os.path.join(trained.uri, "Format-Serving"))
    evaluation = standard_artifacts.ModelEvaluation()
    evaluation.uri = str(tmp_path / "evaluation")
    int8_config = PipelineConfig(trainer=TrainerConfig(image_size=SIZE, class_names=CLASSES, tflite="int8"))
    with pytest.raises(FileNotFoundError, match="--tflite int8"):
        Executor().Do({EXAMPLES_KEY: [_examples(tmp_path, [{"image": _png(_image(0)), "label": 0}])],
                       MODEL_KEY: [trained]}, {EVALUATION_KEY: [evaluation]},
                      _properties(int8_config))


def test_a_module_path_without_the_hooks_is_refused_before_tfma_falls_back_to_its_defaults(tmp_path):
    with pytest.raises(MissingHooks, match="lacks custom_eval_shared_model, custom_extractors"):
        Executor().Do({}, {}, {MODULE_PATH_KEY: "components.tflite_evaluator.spec"})
    with pytest.raises(MissingHooks, match="cannot be imported"):
        Executor().Do({}, {}, {MODULE_PATH_KEY: "no.such.module"})
