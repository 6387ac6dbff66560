"""``predictions.csv`` of a ``--predict`` run, from BulkInferrer's prediction logs and the validator's report.

One row per file of the folder, so nothing is silently dropped:

* classification — the class, id, confidence and top-k;
* segmentation — a class-id mask PNG at the image's own size (``masks/<file>.png``,
  the same format as training masks), each predicted class's pixel share and
  the mean per-pixel confidence;
* detection — how many boxes were found and each box (class, score, xmin, ymin,
  xmax, ymax in the image's own pixels, best first) as JSON, exactly what
  ``serving_default`` returns;
* quarantined files — their reason, and no prediction.
"""

from __future__ import annotations

import csv
import glob
import json
import os
from typing import Dict, List, Optional

import numpy as np
import tensorflow as tf

from common import names, tasks

MASK_OUTPUT = names.SERVED_MASK_KEY
MASKS_DIRNAME = "masks"


def _class_name(class_names: List[str], class_id: int) -> str:
    return class_names[class_id] if class_id < len(class_names) else str(class_id)


def mask_path(masks_dir: str, filename: str) -> str:
    """``masks/<file as listed>.png``: one mask per input file, no two files on one path."""
    relative = os.path.normpath(filename)
    if relative.startswith("..") or os.path.isabs(relative):
        raise ValueError(f"prediction for {filename!r}: not a path inside the scored folder")
    return os.path.join(masks_dir, relative + ".png")


def _classification_row(filename, outputs, index, class_names, top_k):
    probs = outputs[names.PROBABILITIES_KEY][index]
    order = np.argsort(-probs)[:top_k]
    return {"file": filename, "class_name": _class_name(class_names, int(order[0])), "class_id": int(order[0]),
            "confidence": round(float(probs[order[0]]), 4),
            "top_k": ";".join(f"{_class_name(class_names, int(i))}:{probs[i]:.4f}" for i in order),
            "quarantine_reason": ""}


def _segmentation_row(filename, outputs, index, class_names, masks_dir):
    from PIL import Image

    height, width = int(outputs["height"][index]), int(outputs["width"][index])
    mask = outputs[MASK_OUTPUT][index][:height, :width].astype(np.uint8)
    path = mask_path(masks_dir, filename)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    Image.fromarray(mask).save(path)
    ids, counts = np.unique(mask, return_counts=True)
    shares = ";".join(f"{_class_name(class_names, int(i))}:{c / mask.size:.4f}"
                      for i, c in sorted(zip(ids, counts), key=lambda ic: -ic[1]))
    confidence = float(outputs[names.PROBABILITIES_KEY][index].max(axis=-1).mean())
    return {"file": filename, "mask_png": os.path.relpath(path, os.path.dirname(masks_dir)),
            "class_shares": shares, "mean_confidence": round(confidence, 4), "quarantine_reason": ""}


def _detection_row(filename, outputs, index, class_names):
    count = int(outputs[names.NUM_DETECTIONS_KEY][index])
    boxes = outputs[names.DETECTION_BOXES_KEY][index][:count]
    scores = outputs[names.DETECTION_SCORES_KEY][index][:count]
    class_ids = outputs[names.DETECTION_CLASSES_KEY][index][:count]
    found = [{"class": _class_name(class_names, int(class_id)), "score": round(float(score), 4),
              "box": [round(float(v), 1) for v in box]} for box, score, class_id in zip(boxes, scores, class_ids)]
    return {"file": filename, "detections": count, "boxes": json.dumps(found), "quarantine_reason": ""}


def _row(filename, outputs, index, class_names, top_k, masks_dir):
    """The row of one file, by what the model returned (the task's outputs)."""
    if MASK_OUTPUT in outputs:
        return _segmentation_row(filename, outputs, index, class_names, masks_dir)
    if names.NUM_DETECTIONS_KEY in outputs:
        return _detection_row(filename, outputs, index, class_names)
    return _classification_row(filename, outputs, index, class_names, top_k)


def read_prediction_logs(inference_uri: str, class_names: List[str], top_k: int = 3,
                         masks_dir: Optional[str] = None) -> List[Dict[str, object]]:
    """Rows of every PredictionLog under ``inference_uri`` (BulkInferrer's InferenceResult).

    Segmentation logs (they carry a ``mask`` output) also write each mask PNG under ``masks_dir``.
    """
    from tensorflow_serving.apis import prediction_log_pb2

    files = sorted(glob.glob(os.path.join(inference_uri, "*")))
    rows = []
    for record in tf.data.TFRecordDataset(files, compression_type="GZIP"):
        log = prediction_log_pb2.PredictionLog.FromString(record.numpy())
        request, response = log.predict_log.request, log.predict_log.response
        examples = tf.make_ndarray(request.inputs["examples"]).reshape(-1)
        outputs = {key: tf.make_ndarray(value) for key, value in response.outputs.items()}
        if MASK_OUTPUT in outputs and masks_dir is None:
            raise ValueError("segmentation predictions need a folder for their mask PNGs (masks_dir)")
        for index, serialized in enumerate(examples):
            feature = tf.train.Example.FromString(serialized).features.feature
            filename = feature[names.FILENAME_KEY].bytes_list.value[0].decode("utf-8", "replace")
            rows.append(_row(filename, outputs, index, class_names, top_k, masks_dir))
    return rows


def write_predictions(path: str, predicted: List[Dict[str, object]], validation: Optional[Dict],
                      task: str) -> Dict[str, int]:
    """Writes the CSV (files in name order, the task contract's columns); returns counts: files, predicted,
    quarantined."""
    columns = list(tasks.get(task).prediction_columns)
    rows = list(predicted)
    quarantined = (validation or {}).get("digest", {}).get("bad", [])
    rows += [{**{column: "" for column in columns}, "file": r["filename"],
              "quarantine_reason": r["reason"] + (f" ({r['detail']})" if r.get("detail") else "")}
             for r in quarantined]
    rows.sort(key=lambda r: r["file"])
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    return {"files": len(rows), "predicted": len(predicted), "quarantined": len(quarantined)}
