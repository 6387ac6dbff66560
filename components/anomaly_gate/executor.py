"""AnomalyGate executor: read ExampleValidator's anomalies, decide, explain.

Policies:

* ``model-features`` (default) — block when a feature the model reads (the
  image, the label or the mask) is anomalous: those break Transform or
  training, or silently change what the model learns.  Anomalies in other
  features (file names, free-text columns) are reported, not fatal.
* ``all`` — block on any anomaly, dataset-level ones included.
* ``none`` — never block; anomalies are still reported.
"""

from __future__ import annotations

import json
import logging
import os
from typing import Any, Dict, List

import tensorflow as tf
from tensorflow_metadata.proto.v0 import anomalies_pb2
from tfx.dsl.components.base import base_executor
from tfx.types import artifact_utils

from components.anomaly_gate.spec import ANOMALIES_KEY, MODEL_FEATURES_KEY, POLICIES, POLICY_KEY, RESULT_KEY

RESULT_FILENAME = "anomaly_gate.json"


class AnomaliesBlockTheRun(RuntimeError):
    """ExampleValidator found anomalies that the policy does not let through."""


class AnomaliesUnreadable(RuntimeError):
    """The gate's input is missing or unreadable: it fails closed rather than let unchecked data through."""


def read_anomalies(uri: str, split_names: List[str], required: bool = False) -> List[Dict[str, Any]]:
    """One row per (split, feature) anomaly, plus dataset-level ones (feature ``<dataset>``).

    ``required``: a split without a readable ``SchemaDiff.pb`` is an error (the gate), not skipped (reports).
    """
    if required and not split_names:
        raise AnomaliesUnreadable(f"{uri}: the ExampleAnomalies artifact names no splits; nothing to check.")
    rows = []
    for split in split_names:
        path = os.path.join(uri, f"Split-{split}", "SchemaDiff.pb")
        if not tf.io.gfile.exists(path):
            if required:
                raise AnomaliesUnreadable(f"{path}: no anomalies file for split '{split}'. ExampleValidator's "
                                          "output is missing, so the data cannot be let through unchecked.")
            logging.warning("no anomalies file for split %s at %s", split, path)
            continue
        anomalies = anomalies_pb2.Anomalies()
        try:
            with tf.io.gfile.GFile(path, "rb") as handle:
                anomalies.ParseFromString(handle.read())
        except Exception as err:  # a DecodeError or an I/O error: either way the file cannot be trusted
            if required:
                raise AnomaliesUnreadable(f"{path}: unreadable ({type(err).__name__}: {err}).") from err
            logging.warning("anomalies file %s unreadable (%s: %s)", path, type(err).__name__, err)
            continue
        for feature, info in sorted(anomalies.anomaly_info.items()):
            rows.append({"split": split, "feature": feature, "short": info.short_description,
                         "description": info.description,
                         "types": [anomalies_pb2.AnomalyInfo.Type.Name(r.type) for r in info.reason]})
        if anomalies.HasField("dataset_anomaly_info"):
            info = anomalies.dataset_anomaly_info
            rows.append({"split": split, "feature": "<dataset>", "short": info.short_description,
                         "description": info.description,
                         "types": [anomalies_pb2.AnomalyInfo.Type.Name(r.type) for r in info.reason]})
    return rows


def blocking(rows: List[Dict[str, Any]], policy: str, model_features: List[str]) -> List[Dict[str, Any]]:
    if policy not in POLICIES:
        raise ValueError(f"anomaly policy {policy!r} is not one of {POLICIES}")
    if policy == "none":
        return []
    if policy == "all":
        return list(rows)
    return [r for r in rows if r["feature"] in model_features]


class Executor(base_executor.BaseExecutor):
    def Do(self, input_dict, output_dict, exec_properties) -> None:
        anomalies = artifact_utils.get_single_instance(input_dict[ANOMALIES_KEY])
        result = artifact_utils.get_single_instance(output_dict[RESULT_KEY])
        policy = exec_properties[POLICY_KEY]
        model_features = json.loads(exec_properties[MODEL_FEATURES_KEY])
        rows = read_anomalies(anomalies.uri, artifact_utils.decode_split_names(anomalies.split_names), required=True)
        blocked = blocking(rows, policy, model_features)
        tf.io.gfile.makedirs(result.uri)
        with tf.io.gfile.GFile(os.path.join(result.uri, RESULT_FILENAME), "w") as handle:
            json.dump({"policy": policy, "model_features": model_features, "anomalies": rows,
                       "blocking": blocked, "passed": not blocked}, handle, indent=1)
        result.set_int_custom_property("anomalies", len(rows))
        result.set_int_custom_property("passed", int(not blocked))
        if blocked:
            lines = "; ".join(f"[{r['split']}] {r['feature']}: {r['short']} ({r['description']})" for r in blocked)
            raise AnomaliesBlockTheRun(
                f"{len(blocked)} data anomal{'y' if len(blocked) == 1 else 'ies'} in model features stop the run "
                f"before Transform (policy '{policy}'): {lines}. Fix the data; if the change is intended, update "
                "the schema (python -m reporting.schema_tool) or relax --block-anomalies.")
