"""TFMA hooks that score the Trainer's ``.tflite`` files on raw examples (the TfliteEvaluator's module).

Why a separate run of TFX's Evaluator rather than a third model in the blessing one:
TFX's Evaluator takes at most two models (candidate and baseline, which the
blessing needs), and TFMA 0.47 cannot mix TFLite and SavedModel models in one
evaluation ("support for mixing tf_lite and non-tf_lite models is not
implemented").  So the TFLite files get their own multi-model EvalConfig —
one model spec per file (``tflite``, ``tflite_int8``) — on the same eval split.

Two TFMA hooks, which TFX's Evaluator executor imports from this module
(``module_path``, as the Trainer's ``run_fn`` and Transform's ``preprocessing_fn``
are imported from theirs):

* :func:`custom_eval_shared_model` points each model spec at its file in
  ``<serving model>/tflite/`` (TFMA's own loader expects one file named ``tflite``).
* :func:`custom_extractors` uses TFMA's TFLite extractor with
  :class:`RawImageTFLiteDoFn`, which decodes and resizes each raw image with
  Transform's own code and settings (``tflite/preprocessing.json``, written by
  the Trainer) — the TFLite file takes pixels, the examples hold encoded bytes.
"""

from __future__ import annotations

import copy
import functools
import json
import os
from typing import Dict, List

import numpy as np
import tensorflow as tf
import tensorflow_model_analysis as tfma
from tensorflow_model_analysis.extractors import tflite_predict_extractor
from tensorflow_model_analysis.utils import model_util

from common import names, tasks
from common.tasks.contract import MASK
from trainer import image_ops, tflite_export
from trainer.config import TransformConfig
from trainer.tasks.registry import get_task

#: TFMA model name (ModelSpec.name) -> file in ``<serving model>/tflite/``.
MODEL_FILES = {names.TFLITE_FLOAT_MODEL: tflite_export.FLOAT_FILENAME,
               names.TFLITE_INT8_MODEL: tflite_export.INT8_FILENAME}


def _read_flatbuffer(path: str) -> model_util.ModelContents:
    with tf.io.gfile.GFile(path, "rb") as handle:
        return model_util.ModelContents(handle.read())


def custom_eval_shared_model(eval_saved_model_path: str, model_name: str, eval_config, **kwargs):
    """The TFLite file of ``model_name`` inside the Trainer's serving model directory.

    TFMA renames a lone model spec to ``""``: that is the float file, which every TFLite export writes.
    """
    file_model = model_name or names.TFLITE_FLOAT_MODEL
    if file_model not in MODEL_FILES:
        raise ValueError(f"unknown TFLite model name {file_model!r} in the eval config; known: {sorted(MODEL_FILES)}")
    path = os.path.join(eval_saved_model_path, tflite_export.TFLITE_DIRNAME, MODEL_FILES[file_model])
    if not tf.io.gfile.exists(path):
        raise FileNotFoundError(f"{path} is missing: the Trainer wrote no {file_model} file. Train with "
                                f"--tflite {'int8' if file_model == names.TFLITE_INT8_MODEL else 'float'}.")
    return tfma.types.EvalSharedModel(
        model_path=path, model_name=model_name, model_type=tfma.constants.TF_LITE,
        model_loader=tfma.types.ModelLoader(construct_fn=functools.partial(_read_flatbuffer, path)))


def custom_extractors(eval_shared_model, eval_config, tensor_adapter_config=None) -> List:
    """TFMA's extractors for TFLite models, with the raw-image feeding prediction DoFn."""
    predict = tflite_predict_extractor.TFLitePredictExtractor(
        eval_config=eval_config, eval_shared_model=eval_shared_model, do_fn=RawImageTFLiteDoFn)
    return tfma.default_extractors(eval_shared_model=eval_shared_model, eval_config=eval_config,
                                   tensor_adapter_config=tensor_adapter_config, custom_predict_extractor=predict)


def read_preprocessing(tflite_dir: str) -> TransformConfig:
    """Transform's settings, as the Trainer recorded them beside its TFLite files."""
    path = os.path.join(tflite_dir, tflite_export.PREPROCESSING_FILENAME)
    with tf.io.gfile.GFile(path) as handle:
        return TransformConfig.from_dict(json.load(handle))


def one_value_each(column) -> np.ndarray:
    """A batched bytes feature (``[N]``, ``[N, 1]`` or a list of 1-value arrays) as ``[N]`` objects."""
    values = []
    for value in column:
        flat = np.asarray(value, dtype=object).reshape(-1)
        if flat.size != 1:
            raise ValueError(f"expected one encoded image per example, got {flat.size}")
        values.append(flat[0])
    return np.asarray(values, dtype=object)


class RawImageTFLiteDoFn(tflite_predict_extractor.TFLitePredictionDoFn):
    """Feeds each TFLite model the pixels Transform would make of the example's encoded image.

    Segmentation: the per-pixel probabilities become the IoU metric's
    ``predicted_mask`` / ``label_mask`` pair, as the SavedModel's evaluation
    signature outputs them.
    """

    def __init__(self, eval_config: tfma.EvalConfig, eval_shared_models: Dict[str, tfma.types.EvalSharedModel]):
        super().__init__(eval_config, eval_shared_models)
        tflite_dirs = {os.path.dirname(model.model_path) for model in eval_shared_models.values()}
        if len(tflite_dirs) != 1:
            raise ValueError(f"all TFLite models must come from one model directory, got {sorted(tflite_dirs)}")
        self._config = read_preprocessing(tflite_dirs.pop())

    def _make_interpreter(self, **kwargs) -> tf.lite.Interpreter:
        """The interpreter TFLite's runtime gives a device by default: the XNNPACK delegate, on every core.

        TFMA asks for the builtin kernels without default delegates (one thread).  The 32-px ResNet here:
        1,185 -> 1,698 images/s, outputs within 3e-7 of the builtin kernels'.
        """
        kwargs["experimental_op_resolver_type"] = tf.lite.experimental.OpResolverType.AUTO
        return tf.lite.Interpreter(num_threads=os.cpu_count() or 1, **kwargs)

    def setup(self):
        super().setup()
        self._input_names = {self._get_input_name_from_input_detail(detail)
                             for interpreter in self._interpreters.values()
                             for detail in interpreter.get_input_details()}
        config = self._config
        # One graph for a batch: eagerly, map_fn would decode and resize image by image from Python
        # (the TfliteEvaluator spent 34 s on 6,400 32-px images that way).
        self._pixels = tf.function(
            lambda encoded: image_ops.decode_and_resize(encoded, config.image_size, policy=config.resize_policy),
            input_signature=[tf.TensorSpec([None], tf.string)])

    def _quantize(self, tensor, scale, zero_point, dtype):
        if scale.size == 0 or zero_point.size == 0:
            # A float input: pixels 0-255 go in as they are, in the input's own dtype.
            return np.asarray(tensor, dtype)
        return super()._quantize(tensor, scale, zero_point, dtype)

    def _batch_reducible_process(self, element):
        config = self._config
        features = element[tfma.constants.FEATURES_KEY]
        encoded = tf.constant(one_value_each(features[config.image_key]).astype(bytes))
        pixels = self._pixels(encoded).numpy().astype(np.float32)
        feeding = copy.copy(element)
        feeding[tfma.constants.FEATURES_KEY] = dict(features, **{name: pixels for name in self._input_names})
        results = super()._batch_reducible_process(feeding)
        for result in results:
            # The pixels were for the interpreters only; later stages see the examples' own features.
            result[tfma.constants.FEATURES_KEY] = features
            if tasks.get(config.task).target_kind == MASK:
                self._to_masks(result, features)
        return results

    @functools.cached_property
    def _label_masks(self):
        """Encoded masks -> the class-id grid Transform makes of them, as one graph per batch."""
        config = self._config

        def label_masks(encoded):
            transformed = get_task(config.task).transform_targets({config.mask_key: encoded}, config)
            return image_ops.bytes_to_pixels(transformed[names.TRANSFORMED_MASK_KEY], config.image_size, channels=1)

        return tf.function(label_masks, input_signature=[tf.TensorSpec([None], tf.string)])

    def _to_masks(self, result, features) -> None:
        encoded = tf.constant(one_value_each(features[self._config.mask_key]).astype(bytes))
        label = self._label_masks(encoded).numpy()[..., 0].astype(np.int32)

        def masks(probabilities):
            return {names.PREDICTED_MASK_KEY: np.argmax(probabilities, axis=-1).astype(np.int32),
                    names.LABEL_MASK_KEY: label}

        predictions = result[tfma.constants.PREDICTIONS_KEY]
        if len(self._eval_config.model_specs) == 1:
            result[tfma.constants.PREDICTIONS_KEY] = masks(predictions)
        else:
            result[tfma.constants.PREDICTIONS_KEY] = {name: masks(value) for name, value in predictions.items()}
