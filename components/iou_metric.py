"""Mean IoU and friends as a real TFMA metric, merged exactly across batches and Beam workers.

TFMA 0.47 has ``SemanticSegmentationConfusionMatrix`` but no IoU.  This metric
accumulates one ``num_classes x num_classes`` pixel confusion matrix (rows =
true class, columns = predicted class) per slice.  Integer matrices add up
exactly, so the result does not depend on how Beam batches, shards or merges
the examples.  From the final matrix it derives:

* ``mean_iou`` — the mean of the per-class IoUs over the classes that are
  *present*: a class with no true and no predicted pixels (union 0) has an
  undefined IoU and is left out of the mean, rather than counted as 0 (which
  would punish a model for a class the eval data lacks) or 1 (which would
  reward it for nothing).  If no class is present the mean is NaN.
* ``iou/<class>`` — per-class IoU = TP / (TP + FP + FN); NaN when absent.
* ``pixel_accuracy`` — trace / total over counted pixels.
* ``pixel_count/<class>`` — true pixels of each class.

Pixels whose true label equals ``ignore_label`` are not counted at all,
whatever was predicted there.  Predictions come from the model's
``evaluation`` signature, which returns ``predicted_mask`` and ``label_mask``
on the same grid (the label resized nearest-neighbour by the Transform graph).
"""

from __future__ import annotations

from typing import Dict, List, Optional

import apache_beam as beam
import numpy as np
from tensorflow_model_analysis.metrics import metric_types, metric_util

from common import names
from common.names import LABEL_MASK_KEY, PREDICTED_MASK_KEY

MEAN_IOU_NAME = "mean_iou"


def confusion_matrix(labels: np.ndarray, predictions: np.ndarray, num_classes: int,
                     ignore_label: Optional[int] = names.IGNORE_LABEL) -> np.ndarray:
    """Pixel confusion matrix [true, predicted]; ``ignore_label`` pixels are skipped."""
    labels = np.asarray(labels).reshape(-1).astype(np.int64)
    predictions = np.asarray(predictions).reshape(-1).astype(np.int64)
    if labels.shape != predictions.shape:
        raise ValueError(f"label mask has {labels.size} pixels but the prediction {predictions.size}")
    keep = labels != ignore_label if ignore_label is not None else np.ones_like(labels, bool)
    labels, predictions = labels[keep], predictions[keep]
    bad = (labels < 0) | (labels >= num_classes) | (predictions < 0) | (predictions >= num_classes)
    if bad.any():
        raise ValueError(f"class ids outside [0, {num_classes}) in labels or predictions "
                         f"(e.g. {int(labels[bad][0]) if labels[bad].size else int(predictions[bad][0])})")
    return np.bincount(labels * num_classes + predictions, minlength=num_classes ** 2).reshape(num_classes, num_classes)


def iou_from_confusion(matrix: np.ndarray, class_names: List[str]) -> Dict[str, float]:
    """All derived metrics of one confusion matrix (see module docstring)."""
    matrix = np.asarray(matrix, np.float64)
    true_positive = np.diag(matrix)
    union = matrix.sum(0) + matrix.sum(1) - true_positive
    with np.errstate(invalid="ignore", divide="ignore"):
        per_class = np.where(union > 0, true_positive / union, np.nan)
    present = union > 0
    total = matrix.sum()
    result = {
        MEAN_IOU_NAME: float(per_class[present].mean()) if present.any() else float("nan"),
        "pixel_accuracy": float(true_positive.sum() / total) if total else float("nan"),
    }
    for index, name in enumerate(class_names):
        result[f"iou/{name}"] = float(per_class[index])
        result[f"pixel_count/{name}"] = float(matrix[index].sum())
    return result


class SemanticSegmentationIoU(metric_types.Metric):
    """TFMA metric: mean IoU (the thresholdable value) plus per-class IoU, pixel accuracy and counts."""

    def __init__(self, class_names: List[str], ignore_label: int = names.IGNORE_LABEL, name: str = MEAN_IOU_NAME,
                 code_version: str = ""):
        # code_version only makes this module's source part of the Evaluator's cache key (pipeline/cache_keys.py).
        super().__init__(metric_util.merge_per_key_computations(_iou_computations),
                         class_names=list(class_names), ignore_label=ignore_label, name=name)


def _iou_computations(class_names: List[str], ignore_label: int, name: str = MEAN_IOU_NAME,
                      eval_config=None, model_name: str = "", output_name: str = "",
                      example_weighted: bool = False, **kwargs) -> metric_types.MetricComputations:
    key = metric_types.MetricKey(name=name, model_name=model_name, output_name=output_name,
                                 example_weighted=example_weighted)
    return [metric_types.MetricComputation(
        keys=[key], preprocessors=None,
        combiner=_ConfusionMatrixCombiner(key, model_name, class_names, ignore_label))]


class _ConfusionMatrixCombiner(beam.CombineFn):
    """Sums per-example pixel confusion matrices; outputs the metrics of the sum."""

    def __init__(self, key: metric_types.MetricKey, model_name: str, class_names: List[str], ignore_label: int):
        self._key = key
        self._model_name = model_name
        self._class_names = class_names
        self._ignore_label = ignore_label

    def create_accumulator(self) -> np.ndarray:
        n = len(self._class_names)
        return np.zeros((n, n), np.int64)

    def add_input(self, accumulator: np.ndarray, element: metric_types.StandardMetricInputs) -> np.ndarray:
        predictions = element.get_predictions(model_name=self._model_name)
        if not isinstance(predictions, dict) or PREDICTED_MASK_KEY not in predictions:
            raise ValueError(f"{MEAN_IOU_NAME} needs the model's 'evaluation' signature outputs "
                             f"'{PREDICTED_MASK_KEY}' and '{LABEL_MASK_KEY}'; got {type(predictions)}")
        accumulator += confusion_matrix(predictions[LABEL_MASK_KEY], predictions[PREDICTED_MASK_KEY],
                                        len(self._class_names), self._ignore_label)
        return accumulator

    def merge_accumulators(self, accumulators) -> np.ndarray:
        accumulators = iter(accumulators)
        result = next(accumulators).copy()
        for accumulator in accumulators:
            result += accumulator
        return result

    def extract_output(self, accumulator: np.ndarray) -> Dict[metric_types.MetricKey, float]:
        values = iou_from_confusion(accumulator, self._class_names)
        output = {}
        for metric_name, value in values.items():
            key = self._key if metric_name == MEAN_IOU_NAME else self._key._replace(name=metric_name)
            output[key] = value
        return output


metric_types.register_metric(SemanticSegmentationIoU)
