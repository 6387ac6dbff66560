"""TFLite export beside the SavedModel: float, and optionally int8 with a representative dataset.

Written into ``<serving model dir>/tflite/`` so the Pusher ships it inside the
pushed version directory, next to the SavedModel that TF Serving loads (TF
Serving ignores the extra folder).

* Input: one RGB image, pixels 0-255 at model resolution — float32 for
  ``model.tflite``, uint8 for ``model_int8.tflite``.  The backbone's
  normalisation is the model's first layer, so it is inside the file.
* Output: class probabilities ``[1, classes]`` (segmentation: per-pixel
  probabilities ``[1, S, S, classes]``), float32 in both files.
* TFLite metadata (input description and normalisation, the label file
  attached), so the file drops into standard mobile tooling (TFLite Task
  Library ``ImageClassifier`` / ``ImageSegmenter``).

Decoding and resizing are not in the file (mobile apps hand over camera
frames already as pixels); ``trainer.image_ops`` resizes the same way as
Transform when a test feeds it images.
"""

from __future__ import annotations

import importlib
import json
import os
from typing import Callable, Dict, Iterable, Optional

import numpy as np

from trainer.config import TrainerConfig
from trainer.keras_lib import keras, tf
from trainer.tasks.registry import get_task

TFLITE_DIRNAME = "tflite"
FLOAT_FILENAME = "model.tflite"
INT8_FILENAME = "model_int8.tflite"
LABELS_FILENAME = "labels.txt"
#: Transform's settings (TransformConfig as JSON): how an encoded image becomes the file's input pixels.
PREPROCESSING_FILENAME = "preprocessing.json"


def _converter(model: keras.Model, config: TrainerConfig, dtype) -> "tf.lite.TFLiteConverter":
    size = config.image_size

    @tf.function(input_signature=[tf.TensorSpec([1, size, size, 3], dtype, name="image")])
    def predict(image):
        return {"probabilities": model(tf.cast(image, tf.float32), training=False)}

    return tf.lite.TFLiteConverter.from_concrete_functions([predict.get_concrete_function()], model)


def _float_converter(model: keras.Model, config: TrainerConfig,
                     saved_model_dir: Optional[str]) -> "tf.lite.TFLiteConverter":
    """From the exported SavedModel's pixels signature when there is one: the model is traced already, and
    converting a SavedModel is ~4x faster than converting a fresh concrete function (MobileNet at 224:
    3 s against 11 s, plus 8 s of tracing)."""
    from common import names

    if saved_model_dir is None:
        return _converter(model, config, tf.float32)
    return tf.lite.TFLiteConverter.from_saved_model(saved_model_dir, signature_keys=[names.PIXELS_SIGNATURE])


def convert(model: keras.Model, config: TrainerConfig,
            representative: Optional[Callable[[], Iterable[np.ndarray]]] = None,
            saved_model_dir: Optional[str] = None) -> Dict[str, bytes]:
    """{file name: flatbuffer}: the float model, plus the int8 one when ``representative`` is given.

    ``representative`` yields float32 ``[1, S, S, 3]`` pixel arrays in [0, 255] (training images).
    ``saved_model_dir``: the model exported with :mod:`trainer.signatures` (the float file is converted
    from its pixels signature).
    """
    files = {FLOAT_FILENAME: _float_converter(model, config, saved_model_dir).convert()}
    if representative is not None:
        converter = _converter(model, config, tf.uint8)
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        converter.representative_dataset = lambda: ([np.asarray(x, np.uint8)] for x in representative())
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
        converter.inference_input_type = tf.uint8
        converter.inference_output_type = tf.float32
        files[INT8_FILENAME] = converter.convert()
    return files


def with_metadata(model_buffer: bytes, config: TrainerConfig, labels_path: str) -> bytes:
    """Adds TFLite metadata: input normalisation (none: pixels 0-255 go in as they are) and the label file."""
    # tflite_support's top-level package imports its Task Library bindings, which clash with TensorFlow's
    # (pybind "StatusCode" registered twice); the metadata writers themselves do not need them.
    from tensorflow_lite_support.metadata.python import metadata_writers

    writer_module = importlib.import_module(
        f"{metadata_writers.__name__}.{get_task(config.task).tflite_metadata_writer}")
    writer = writer_module.MetadataWriter.create_for_inference(
        model_buffer, input_norm_mean=[0.0], input_norm_std=[1.0], label_file_paths=[labels_path])
    return writer.populate()


def export_tflite(model: keras.Model, config: TrainerConfig, serving_model_dir: str,
                  representative: Optional[Callable[[], Iterable[np.ndarray]]] = None,
                  from_saved_model: bool = False) -> Dict[str, str]:
    """Writes the TFLite file(s) with metadata, ``labels.txt`` and ``preprocessing.json`` under
    ``serving_model_dir/tflite`` (the TfliteEvaluator reads the last to prepare pixels as Transform does).

    ``from_saved_model``: ``serving_model_dir`` holds the exported SavedModel (the float file is converted
    from it); False converts the Keras model directly."""
    out_dir = os.path.join(serving_model_dir, TFLITE_DIRNAME)
    tf.io.gfile.makedirs(out_dir)
    labels_path = os.path.join(out_dir, LABELS_FILENAME)
    with tf.io.gfile.GFile(labels_path, "w") as handle:
        handle.write("".join(f"{name}\n" for name in config.class_names))
    with tf.io.gfile.GFile(os.path.join(out_dir, PREPROCESSING_FILENAME), "w") as handle:
        json.dump(config.transform_config().to_dict(), handle, indent=1, sort_keys=True)
    written = {}
    for name, flatbuffer in convert(model, config, representative,
                                    serving_model_dir if from_saved_model else None).items():
        path = os.path.join(out_dir, name)
        with tf.io.gfile.GFile(path, "wb") as handle:
            handle.write(with_metadata(flatbuffer, config, labels_path))
        written[name] = path
    return written


def predict(path: str, pixels: np.ndarray) -> np.ndarray:
    """Runs a TFLite file on ``[N, S, S, 3]`` pixels 0-255, one image at a time; returns the probabilities."""
    interpreter = tf.lite.Interpreter(model_path=path)
    interpreter.allocate_tensors()
    source, target = interpreter.get_input_details()[0], interpreter.get_output_details()[0]
    outputs = []
    for image in pixels:
        interpreter.set_tensor(source["index"], np.asarray(image[None], source["dtype"]))
        interpreter.invoke()
        outputs.append(interpreter.get_tensor(target["index"])[0])
    return np.stack(outputs)
