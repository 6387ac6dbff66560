"""An independent average precision for boxes (numpy, COCO rules), to check TFMA's detection metrics against.

COCO's procedure: per class, detections of all images sorted by score; each is
a true positive when it overlaps a not-yet-matched true box of its image with
IoU >= the threshold (greedy, highest IoU), else a false positive; precision
is made monotone and sampled at 101 recall points.
"""

from __future__ import annotations

from typing import Dict, List, Sequence

import numpy as np


def iou(box: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    """IoU of one ``[4]`` box (xmin, ymin, xmax, ymax) with ``[n, 4]`` boxes."""
    if len(boxes) == 0:
        return np.zeros(0)
    width = np.clip(np.minimum(box[2], boxes[:, 2]) - np.maximum(box[0], boxes[:, 0]), 0, None)
    height = np.clip(np.minimum(box[3], boxes[:, 3]) - np.maximum(box[1], boxes[:, 1]), 0, None)
    inter = width * height
    area = lambda b: (b[..., 2] - b[..., 0]) * (b[..., 3] - b[..., 1])  # noqa: E731
    return inter / np.maximum(area(box) + area(boxes) - inter, 1e-12)


def average_precision(truth: Sequence[Dict[str, np.ndarray]], found: Sequence[Dict[str, np.ndarray]],
                      class_id: int, threshold: float = 0.5) -> float:
    """AP of one class; ``truth[i]`` has ``boxes [n, 4]``, ``class_ids [n]``; ``found[i]`` also ``scores``.

    NaN when the class has no true box.
    """
    detections = []  # (score, image, box)
    positives = 0
    for image, (t, f) in enumerate(zip(truth, found)):
        positives += int(np.sum(t["class_ids"] == class_id))
        for box, score, cid in zip(f["boxes"], f["scores"], f["class_ids"]):
            if cid == class_id:
                detections.append((float(score), image, np.asarray(box, float)))
    if positives == 0:
        return float("nan")
    detections.sort(key=lambda d: -d[0])
    matched = [np.zeros(int(np.sum(t["class_ids"] == class_id)), bool) for t in truth]
    hits = []
    for _, image, box in detections:
        mine = np.asarray(truth[image]["boxes"], float)[truth[image]["class_ids"] == class_id]
        overlaps = iou(box, mine)
        overlaps[matched[image]] = -1.0
        best = int(np.argmax(overlaps)) if len(overlaps) else -1
        if best >= 0 and overlaps[best] >= threshold:
            matched[image][best] = True
            hits.append(1)
        else:
            hits.append(0)
    hits = np.asarray(hits, float)
    true_positives = np.cumsum(hits)
    recall = true_positives / positives
    precision = true_positives / np.arange(1, len(hits) + 1)
    precision = np.maximum.accumulate(precision[::-1])[::-1] if len(precision) else precision
    points = np.linspace(0, 1, 101)
    sampled = [precision[np.searchsorted(recall, r, side="left")] if np.any(recall >= r) else 0.0 for r in points]
    return float(np.mean(sampled))


def mean_average_precision(truth, found, num_classes: int, threshold: float = 0.5) -> float:
    values: List[float] = [average_precision(truth, found, c, threshold) for c in range(num_classes)]
    values = [v for v in values if v == v]
    return float(np.mean(values)) if values else float("nan")
