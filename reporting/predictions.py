"""``predictions.csv`` of a ``--predict`` run, from BulkInferrer's prediction logs and the validator's report.

One row per file of the folder: predicted files with their class, id,
confidence and top-k; quarantined files with their reason and no prediction,
so nothing is silently dropped.
"""

from __future__ import annotations

import csv
import glob
import os
from typing import Dict, List, Optional

import numpy as np
import tensorflow as tf

from common import names

COLUMNS = ["file", "class_name", "class_id", "confidence", "top_k", "quarantine_reason"]


def read_prediction_logs(inference_uri: str, class_names: List[str], top_k: int = 3) -> List[Dict[str, object]]:
    """Rows of every PredictionLog under ``inference_uri`` (BulkInferrer's InferenceResult)."""
    from tensorflow_serving.apis import prediction_log_pb2

    files = sorted(glob.glob(os.path.join(inference_uri, "*")))
    rows = []
    for record in tf.data.TFRecordDataset(files, compression_type="GZIP"):
        log = prediction_log_pb2.PredictionLog.FromString(record.numpy())
        request, response = log.predict_log.request, log.predict_log.response
        examples = tf.make_ndarray(request.inputs["examples"]).reshape(-1)
        probabilities = tf.make_ndarray(response.outputs[names.PROBABILITIES_KEY]).reshape(len(examples), -1)
        for serialized, probs in zip(examples, probabilities):
            feature = tf.train.Example.FromString(serialized).features.feature
            filename = feature[names.FILENAME_KEY].bytes_list.value[0].decode("utf-8", "replace")
            order = np.argsort(-probs)[:top_k]
            name = (lambda i: class_names[i] if i < len(class_names) else str(i))
            rows.append({"file": filename, "class_name": name(int(order[0])), "class_id": int(order[0]),
                         "confidence": round(float(probs[order[0]]), 4),
                         "top_k": ";".join(f"{name(int(i))}:{probs[i]:.4f}" for i in order),
                         "quarantine_reason": ""})
    return rows


def write_predictions(path: str, predicted: List[Dict[str, object]], validation: Optional[Dict]) -> Dict[str, int]:
    """Writes the CSV (files in name order); returns counts: files, predicted, quarantined."""
    rows = list(predicted)
    quarantined = [r for r in (validation or {}).get("examples", []) if r.get("reason")]
    rows += [{"file": r["filename"], "class_name": "", "class_id": "", "confidence": "", "top_k": "",
              "quarantine_reason": r["reason"] + (f" ({r['detail']})" if r.get("detail") else "")}
             for r in quarantined]
    rows.sort(key=lambda r: r["file"])
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    return {"files": len(rows), "predicted": len(predicted), "quarantined": len(quarantined)}
