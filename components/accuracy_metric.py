"""Sparse categorical accuracy and top-k accuracy as native TFMA metrics: counts added up in numpy.

Why not TFMA's wrappers of the Keras metrics of the same names (``class_name``
without a ``module``): they build and trace a TensorFlow graph of the metrics,
queue each example's inputs, measure every queued input with a deep object
size, and run the graph per batch.  Alternating runs of TFMA on the same model
and eval images (32 px): 6,391 images 8.5 -> 7.1 s, 25,564 images 21.8 ->
20.9 s: mostly a fixed cost per run, paid by the Evaluator and again by the
TfliteEvaluator.  Here each example adds a hit and a weight to two floats,
which add up exactly across batches and Beam workers.

Same keys and values as the Keras metrics, so thresholds, baselines blessed
before and every report read them unchanged:

* ``sparse_categorical_accuracy``: the label equals the argmax of the
  prediction (the first one on a tie, as ``tf.argmax``);
* ``sparse_top_k_categorical_accuracy``: fewer than ``k`` classes score
  strictly higher than the label's class (ties at the boundary count as in the
  top k, as ``tf.math.in_top_k``; a non-finite score is never in it).

The class names are those of the Keras metrics on purpose: a MetricConfig
names this module, so TFMA takes these classes for it; they are not
registered, so a config without the module still gets the Keras metric.
"""

from __future__ import annotations

from typing import Dict, Optional, Tuple

import apache_beam as beam
import numpy as np
from tensorflow_model_analysis.metrics import metric_types, metric_util

ACCURACY_NAME = "sparse_categorical_accuracy"
TOP_K_ACCURACY_NAME = "sparse_top_k_categorical_accuracy"


def is_hit(label: np.ndarray, prediction: np.ndarray, k: int) -> bool:
    """Whether one example's label is among the prediction's top ``k`` classes (see module docstring)."""
    scores = np.asarray(prediction, np.float64).reshape(-1)
    label_value = np.asarray(label).reshape(-1)
    if label_value.size != 1:
        raise ValueError(f"{ACCURACY_NAME} takes one class id per example (a sparse label), got {label_value.size} "
                         "values: set the ModelSpec's label_key to the integer label feature")
    class_id = int(label_value[0])
    if not 0 <= class_id < scores.size:
        raise ValueError(f"label {class_id} outside the model's {scores.size} classes")
    if k == 1:
        return int(np.argmax(scores)) == class_id
    score = scores[class_id]
    return bool(np.isfinite(score)) and int(np.count_nonzero(scores > score)) < k


class SparseCategoricalAccuracy(metric_types.Metric):
    """Share of examples whose label is the predicted class (the thresholdable blessing metric)."""

    def __init__(self, name: str = ACCURACY_NAME, code_version: str = ""):
        # code_version only makes this module's source part of the Evaluator's cache key (pipeline/cache_keys.py).
        super().__init__(metric_util.merge_per_key_computations(_hit_rate_computations), k=1, name=name)


class SparseTopKCategoricalAccuracy(metric_types.Metric):
    """Share of examples whose label is among the ``k`` highest-scoring classes."""

    def __init__(self, k: int = 5, name: str = TOP_K_ACCURACY_NAME, code_version: str = ""):
        super().__init__(metric_util.merge_per_key_computations(_hit_rate_computations), k=k, name=name)


def _hit_rate_computations(k: int, name: str, eval_config=None, model_name: str = "", output_name: str = "",
                           example_weighted: bool = False, **kwargs) -> metric_types.MetricComputations:
    key = metric_types.MetricKey(name=name, model_name=model_name, output_name=output_name,
                                 example_weighted=example_weighted)
    return [metric_types.MetricComputation(keys=[key], preprocessors=None,
                                           combiner=_HitRateCombiner(key, eval_config, example_weighted, k))]


class _HitRateCombiner(beam.CombineFn):
    """(weighted hits, total weight) per slice; outputs their ratio (NaN without examples)."""

    def __init__(self, key: metric_types.MetricKey, eval_config, example_weighted: bool, k: int):
        self._key = key
        self._eval_config = eval_config
        self._example_weighted = example_weighted
        self._k = k

    def create_accumulator(self) -> Tuple[float, float]:
        return 0.0, 0.0

    def add_input(self, accumulator: Tuple[float, float],
                  element: metric_types.StandardMetricInputs) -> Tuple[float, float]:
        # The same label/prediction lookup as TFMA's own metrics: model and output names, the ModelSpec's
        # prediction_key, a single-output TFLite model's one tensor.
        label, prediction, weight = next(metric_util.to_label_prediction_example_weight(
            element, eval_config=self._eval_config, model_name=self._key.model_name,
            output_name=self._key.output_name, example_weighted=self._example_weighted, flatten=False,
            require_single_example_weight=True))
        weight = float(weight)
        hits, total = accumulator
        return hits + (weight if is_hit(label, prediction, self._k) else 0.0), total + weight

    def merge_accumulators(self, accumulators) -> Tuple[float, float]:
        hits, total = 0.0, 0.0
        for accumulator_hits, accumulator_total in accumulators:
            hits, total = hits + accumulator_hits, total + accumulator_total
        return hits, total

    def extract_output(self, accumulator: Tuple[float, float]) -> Dict[metric_types.MetricKey, Optional[float]]:
        hits, total = accumulator
        return {self._key: hits / total if total else float("nan")}
