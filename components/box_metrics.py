"""Detection metrics for TFMA: exact COCO metrics in one pass, TFMA's own COCO mAP beside them (fixed for a
baseline), and the mean IoU of matched boxes.

``COCODetectionMetrics`` computes, from one matching per example, COCO's AP at
IoU 0.5 (``map_50``, the blessing metric), AP averaged over IoU 0.5:0.05:0.95
(``map_50_95``), average recall over the same IoUs (``mar_50_95``), AP@0.5 per
class (``ap_50/<class>``) and the mean IoU of matched boxes
(``matched_box_iou``, which COCO does not report: how tight the boxes are,
beyond "≥ 0.5").  Why not only TFMA's ``COCOMeanAveragePrecision``: it builds a
confusion matrix per (IoU, class) pair over score thresholds, and on 100 eval
images of an early model (100 detections each) its mAP@0.5:0.95 and AR took
529 s of a 642 s pipeline run at 1,000 thresholds; scores are also bucketed,
so ties within a bucket blur the ranking.  This one sorts the actual scores
(exact) and takes seconds.  TFMA's own ``COCOMeanAveragePrecision`` at IoU 0.5
is still computed (``tfma_map_50``, 100 thresholds) as a cross-check.

Every detection ``MetricConfig`` names this module (``module=components.box_metrics``),
for two reasons:

* **TFMA 0.47 crashes once there is a baseline.**  Its
  ``BoundingBoxMatchPreprocessor`` returns predictions not keyed by model name,
  so with a candidate and a baseline the confusion-matrix combiner raises
  ``expected dict for "candidate" but found list`` — i.e. the second run of a
  pipeline, the first with a blessed model to compare with.  Importing this
  module swaps in :class:`ModelKeyedBoxMatch`, which keys them.  The swap is of
  the class TFMA instantiates, and that class lives here, so Beam workers that
  unpickle the metric computations import this module and get the fix too.
* the metrics above live here.

TFMA's COCO classes are re-exported so that ``class_name`` resolves here.
Labels and predictions use TFMA's object-detection format: per example the
true boxes ``[G, 5]`` (xmin, ymin, xmax, ymax, class) stacked from the
example's features, and the model's ``boxes``/``class_ids``/``scores`` cut
to ``num_detections``.
"""

from __future__ import annotations

from typing import Dict, List, Optional

import apache_beam as beam
import numpy as np
from tensorflow_model_analysis import constants
from tensorflow_model_analysis.metrics import metric_types, metric_util
from tensorflow_model_analysis.metrics import preprocessors as tfma_preprocessors
from tensorflow_model_analysis.metrics.object_detection_metrics import (  # noqa: F401  (re-exported)
    COCOAveragePrecision, COCOAverageRecall, COCOMeanAveragePrecision, COCOMeanAverageRecall)
from tensorflow_model_analysis.metrics.preprocessors import object_detection_preprocessors

MATCHED_IOU_NAME = "matched_box_iou"
#: COCO's IoU thresholds for AP and AR averaged "@0.5:0.95".
COCO_IOUS = tuple(np.round(np.linspace(0.5, 0.95, 10), 2))
#: COCO's 101 recall points for interpolated AP.
RECALL_POINTS = np.linspace(0.0, 1.0, 101)
__all__ = ["COCOAveragePrecision", "COCOAverageRecall", "COCOMeanAveragePrecision", "COCOMeanAverageRecall",
           "COCODetectionMetrics", "MatchedBoxIoU", "ModelKeyedBoxMatch"]


class ModelKeyedBoxMatch(object_detection_preprocessors.BoundingBoxMatchPreprocessor):
    """TFMA's box matcher, with predictions keyed by model name when there is one (see the module docstring)."""

    def process(self, extracts):
        for result in super().process(extracts):
            if self._model_name:
                result[constants.PREDICTIONS_KEY] = {self._model_name: result[constants.PREDICTIONS_KEY]}
            yield result


tfma_preprocessors.BoundingBoxMatchPreprocessor = ModelKeyedBoxMatch
object_detection_preprocessors.BoundingBoxMatchPreprocessor = ModelKeyedBoxMatch


def box_iou(box: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    """IoU of one ``[4]`` box (xmin, ymin, xmax, ymax) with ``[n, 4]`` boxes."""
    if len(boxes) == 0:
        return np.zeros(0)
    width = np.clip(np.minimum(box[2], boxes[:, 2]) - np.maximum(box[0], boxes[:, 0]), 0, None)
    height = np.clip(np.minimum(box[3], boxes[:, 3]) - np.maximum(box[1], boxes[:, 1]), 0, None)
    inter = width * height
    area = (box[2] - box[0]) * (box[3] - box[1]) + (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    return inter / np.maximum(area - inter, 1e-12)


def matched_ious(truth: np.ndarray, found: np.ndarray, iou_threshold: float, score_threshold: float) -> List[float]:
    """IoUs of greedy same-class matches (highest score first) of ``found [D, 6]`` to ``truth [G, 5]``."""
    found = found[found[:, 5] >= score_threshold]
    found = found[np.argsort(-found[:, 5], kind="stable")]
    taken = np.zeros(len(truth), bool)
    ious = []
    for detection in found:
        candidates = (truth[:, 4] == detection[4]) & ~taken
        overlaps = np.where(candidates, box_iou(detection[:4], truth[:, :4]), -1.0)
        best = int(np.argmax(overlaps)) if len(overlaps) else -1
        if best >= 0 and overlaps[best] >= iou_threshold:
            taken[best] = True
            ious.append(float(overlaps[best]))
    return ious


class MatchedBoxIoU(metric_types.Metric):
    """Mean IoU of detections (score ≥ ``score_threshold``) matched to a true box of their class at
    IoU ≥ ``iou_threshold``; NaN when nothing matched."""

    def __init__(self, labels_to_stack: Optional[List[str]] = None, predictions_to_stack: Optional[List[str]] = None,
                 num_detections_key: Optional[str] = None, iou_threshold: float = 0.5, score_threshold: float = 0.3,
                 name: str = MATCHED_IOU_NAME, code_version: str = ""):
        # code_version only makes this module's source part of the Evaluator's cache key (pipeline/cache_keys.py).
        super().__init__(metric_util.merge_per_key_computations(_matched_iou_computations),
                         labels_to_stack=labels_to_stack,
                         predictions_to_stack=predictions_to_stack, num_detections_key=num_detections_key,
                         iou_threshold=iou_threshold, score_threshold=score_threshold, name=name)


def _matched_iou_computations(labels_to_stack, predictions_to_stack, num_detections_key, iou_threshold,
                              score_threshold, name, eval_config=None, model_name: str = "", output_name: str = "",
                              example_weighted: bool = False, **kwargs) -> metric_types.MetricComputations:
    key = metric_types.MetricKey(name=name, model_name=model_name, output_name=output_name,
                                 example_weighted=example_weighted)
    return [metric_types.MetricComputation(
        keys=[key],
        preprocessors=[metric_types.FeaturePreprocessor(feature_keys=list(labels_to_stack))],
        combiner=_MatchedIoUCombiner(key, model_name, labels_to_stack, predictions_to_stack,
                                     num_detections_key, iou_threshold, score_threshold))]


def _stack(sources: List[Dict], keys: List[str]) -> np.ndarray:
    columns = []
    for key in keys:
        value = next((s[key] for s in sources if isinstance(s, dict) and key in s), None)
        if value is None:
            raise ValueError(f"{MATCHED_IOU_NAME}: no '{key}' among the labels, features or predictions")
        value = np.asarray(value, float)
        columns.append(value.reshape(len(value), -1) if value.ndim else value.reshape(1, 1))
    return np.concatenate(columns, axis=1) if columns else np.zeros((0, 0))


class _MatchedIoUCombiner(beam.CombineFn):
    """Sums matched IoUs and match counts; outputs their mean."""

    def __init__(self, key, model_name, labels_to_stack, predictions_to_stack, num_detections_key, iou_threshold,
                 score_threshold):
        self._key, self._model_name = key, model_name
        self._labels, self._predictions = list(labels_to_stack), list(predictions_to_stack)
        self._num_key, self._iou, self._score = num_detections_key, iou_threshold, score_threshold

    def create_accumulator(self):
        return [0.0, 0]

    def add_input(self, accumulator, element: metric_types.StandardMetricInputs):
        features = element.features or {}
        predictions = element.get_predictions(model_name=self._model_name)
        truth = _stack([element.label if isinstance(element.label, dict) else {}, features], self._labels)
        found = _stack([predictions], self._predictions)
        if self._num_key:
            found = found[:int(np.asarray(predictions[self._num_key]).reshape(-1)[0])]
        ious = matched_ious(truth, found, self._iou, self._score)
        accumulator[0] += sum(ious)
        accumulator[1] += len(ious)
        return accumulator

    def merge_accumulators(self, accumulators):
        total = [0.0, 0]
        for accumulator in accumulators:
            total[0] += accumulator[0]
            total[1] += accumulator[1]
        return total

    def extract_output(self, accumulator):
        return {self._key: accumulator[0] / accumulator[1] if accumulator[1] else float("nan")}


def coco_match(truth: np.ndarray, found: np.ndarray, class_id: int, ious=COCO_IOUS):
    """COCO's greedy matching of one image's detections of ``class_id`` (highest score first, each to the
    unmatched true box of highest IoU ≥ the threshold).  Returns (scores ``[D]``, hits ``[len(ious), D]``,
    the IoU of each hit at the first threshold ``[D]``, true box count)."""
    mine_truth = truth[truth[:, 4] == class_id, :4]
    mine = found[found[:, 4] == class_id]
    mine = mine[np.argsort(-mine[:, 5], kind="mergesort")]
    overlaps = np.stack([box_iou(d[:4], mine_truth) for d in mine]) if len(mine) else np.zeros((0, len(mine_truth)))
    hits = np.zeros((len(ious), len(mine)), bool)
    hit_iou = np.zeros(len(mine))
    for t, threshold in enumerate(ious):
        taken = np.zeros(len(mine_truth), bool)
        for d in range(len(mine)):
            candidates = np.where(taken, -1.0, overlaps[d]) if len(mine_truth) else np.zeros(0)
            best = int(np.argmax(candidates)) if len(candidates) else -1
            if best >= 0 and candidates[best] >= threshold:
                taken[best] = True
                hits[t, d] = True
                if t == 0:
                    hit_iou[d] = candidates[best]
    return mine[:, 5], hits, hit_iou, len(mine_truth)


def interpolated_ap(scores: np.ndarray, hits: np.ndarray, positives: int) -> float:
    """COCO's 101-point interpolated AP of one (class, IoU) pair; NaN without true boxes."""
    if positives == 0:
        return float("nan")
    order = np.argsort(-scores, kind="mergesort")
    true_positives = np.cumsum(hits[order])
    recall = true_positives / positives
    precision = true_positives / np.arange(1, len(order) + 1)
    precision = np.maximum.accumulate(precision[::-1])[::-1]
    index = np.searchsorted(recall, RECALL_POINTS, side="left")
    return float(np.mean([precision[i] if i < len(precision) else 0.0 for i in index]))


class COCODetectionMetrics(metric_types.Metric):
    """``map_50``, ``map_50_95``, ``mar_50_95``, ``ap_50/<class>`` and ``matched_box_iou`` (see the module
    docstring); NaN means no true box of any class (AP) or no match (IoU)."""

    def __init__(self, class_names: List[str], labels_to_stack: List[str], predictions_to_stack: List[str],
                 num_detections_key: Optional[str] = None, name: str = "map_50", code_version: str = ""):
        # code_version only makes this module's source part of the Evaluator's cache key (pipeline/cache_keys.py).
        super().__init__(metric_util.merge_per_key_computations(_coco_computations), class_names=list(class_names),
                         labels_to_stack=list(labels_to_stack), predictions_to_stack=list(predictions_to_stack),
                         num_detections_key=num_detections_key, name=name)


def _coco_computations(class_names, labels_to_stack, predictions_to_stack, num_detections_key, name,
                       eval_config=None, model_name: str = "", output_name: str = "", example_weighted: bool = False,
                       **kwargs) -> metric_types.MetricComputations:
    def key(metric_name):
        return metric_types.MetricKey(name=metric_name, model_name=model_name, output_name=output_name,
                                      example_weighted=example_weighted)

    names_out = [name, "map_50_95", "mar_50_95", MATCHED_IOU_NAME] + [f"ap_50/{c}" for c in class_names]
    keys = {n: key(n) for n in names_out}
    return [metric_types.MetricComputation(
        keys=list(keys.values()),
        preprocessors=[metric_types.FeaturePreprocessor(feature_keys=list(labels_to_stack))],
        combiner=_COCOCombiner(keys, name, model_name, class_names, labels_to_stack, predictions_to_stack,
                               num_detections_key))]


class _COCOCombiner(beam.CombineFn):
    """Per (class, IoU): detection scores and hits of every image; per class: true box counts."""

    def __init__(self, keys, map_name, model_name, class_names, labels_to_stack, predictions_to_stack,
                 num_detections_key):
        self._keys, self._map_name, self._model_name = keys, map_name, model_name
        self._class_names = list(class_names)
        self._labels, self._predictions, self._num_key = labels_to_stack, predictions_to_stack, num_detections_key

    def create_accumulator(self):
        classes = len(self._class_names)
        return {"scores": [[] for _ in range(classes)], "hits": [[] for _ in range(classes)],
                "positives": np.zeros(classes, np.int64), "iou_sum": 0.0, "iou_count": 0}

    def add_input(self, accumulator, element: metric_types.StandardMetricInputs):
        predictions = element.get_predictions(model_name=self._model_name)
        truth = _stack([element.label if isinstance(element.label, dict) else {}, element.features or {}],
                       self._labels)
        found = _stack([predictions], self._predictions)
        if self._num_key:
            found = found[:int(np.asarray(predictions[self._num_key]).reshape(-1)[0])]
        for class_id in range(len(self._class_names)):
            scores, hits, hit_iou, positives = coco_match(truth, found, class_id)
            accumulator["scores"][class_id].append(scores)
            accumulator["hits"][class_id].append(hits)
            accumulator["positives"][class_id] += positives
            accumulator["iou_sum"] += float(hit_iou[hits[0]].sum())
            accumulator["iou_count"] += int(hits[0].sum())
        return accumulator

    def merge_accumulators(self, accumulators):
        accumulators = list(accumulators)
        merged = self.create_accumulator()
        for accumulator in accumulators:
            for class_id in range(len(self._class_names)):
                merged["scores"][class_id] += accumulator["scores"][class_id]
                merged["hits"][class_id] += accumulator["hits"][class_id]
            merged["positives"] += accumulator["positives"]
            merged["iou_sum"] += accumulator["iou_sum"]
            merged["iou_count"] += accumulator["iou_count"]
        return merged

    def extract_output(self, accumulator):
        aps, recalls = np.full((len(COCO_IOUS), len(self._class_names)), np.nan), []
        for class_id in range(len(self._class_names)):
            scores = np.concatenate(accumulator["scores"][class_id] or [np.zeros(0)])
            hits = np.concatenate(accumulator["hits"][class_id] or [np.zeros((len(COCO_IOUS), 0), bool)], axis=1)
            positives = int(accumulator["positives"][class_id])
            for t in range(len(COCO_IOUS)):
                aps[t, class_id] = interpolated_ap(scores, hits[t], positives)
                if positives:
                    recalls.append(hits[t].sum() / positives)
        mean = lambda values: float(np.nanmean(values)) if np.any(~np.isnan(values)) else float("nan")  # noqa: E731
        output = {self._keys[self._map_name]: mean(aps[0]), self._keys["map_50_95"]: mean(aps),
                  self._keys["mar_50_95"]: float(np.mean(recalls)) if recalls else float("nan"),
                  self._keys[MATCHED_IOU_NAME]: (accumulator["iou_sum"] / accumulator["iou_count"]
                                                 if accumulator["iou_count"] else float("nan"))}
        for class_id, class_name in enumerate(self._class_names):
            output[self._keys[f"ap_50/{class_name}"]] = float(aps[0, class_id])
        return output
