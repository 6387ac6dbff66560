"""AnomalyGate component: spec wiring, the policy check at construction, the feature list parameter."""

import json

import pytest
from tfx.types import channel_utils, standard_artifacts

from components.anomaly_gate.component import AnomalyGate
from components.anomaly_gate.spec import MODEL_FEATURES_KEY, POLICY_KEY, RESULT_KEY, AnomalyGateResult


def _anomalies_channel():
    return channel_utils.as_channel([standard_artifacts.ExampleAnomalies()])


def test_result_output_and_parameters():
    gate = AnomalyGate(anomalies=_anomalies_channel(), policy="all", model_features=["picture", "target"])
    assert gate.outputs[RESULT_KEY].type == AnomalyGateResult
    assert AnomalyGateResult.TYPE_NAME == "image_tfx.AnomalyGateResult"
    assert gate.exec_properties[POLICY_KEY] == "all"
    assert json.loads(gate.exec_properties[MODEL_FEATURES_KEY]) == ["picture", "target"]


def test_unknown_policy_is_refused_when_the_pipeline_is_built():
    with pytest.raises(ValueError, match="--block-anomalies must be one of"):
        AnomalyGate(anomalies=_anomalies_channel(), policy="some")
