"""AnomalyGate executor: Do() on a real ExampleAnomalies artifact made by TFDV."""

import json
import os

import pandas as pd
import pytest
import tensorflow_data_validation as tfdv
from tfx.types import artifact_utils, standard_artifacts

from components.anomaly_gate.executor import RESULT_FILENAME, AnomaliesBlockTheRun, Executor
from components.anomaly_gate.spec import AnomalyGateResult
from reporting import schema_tool


def _anomalies_artifact(root):
    """TFDV anomalies: label 5 outside classes [a, b]; a file name that is not a string any more."""
    good = pd.DataFrame({"image": [b"x"] * 4, "label": [0, 1, 0, 1], "filename": ["f1", "f2", "f3", "f4"]})
    schema = schema_tool.build_schema(tfdv.generate_statistics_from_dataframe(good), "classification",
                                      ["a", "b"], None, "regenerate")
    bad = pd.DataFrame({"image": [b"x"] * 4, "label": [0, 1, 5, 1], "filename": [1.5, 2.5, 3.5, 4.5]})
    anomalies = tfdv.validate_statistics(tfdv.generate_statistics_from_dataframe(bad), schema)
    artifact = standard_artifacts.ExampleAnomalies()
    artifact.uri = str(root / "anomalies")
    artifact.split_names = artifact_utils.encode_split_names(["train"])
    os.makedirs(os.path.join(artifact.uri, "Split-train"))
    with open(os.path.join(artifact.uri, "Split-train", "SchemaDiff.pb"), "wb") as handle:
        handle.write(anomalies.SerializeToString())
    return artifact


def _run(tmp_path, policy):
    result = AnomalyGateResult()
    result.uri = str(tmp_path / f"result_{policy}")
    error = None
    try:
        Executor().Do({"anomalies": [_anomalies_artifact(tmp_path / policy)]}, {"result": [result]},
                      {"policy": policy, "model_features": json.dumps(["image", "label"])})
    except AnomaliesBlockTheRun as err:
        error = err
    return json.load(open(os.path.join(result.uri, RESULT_FILENAME))), error


def test_default_policy_blocks_on_model_features_only(tmp_path):
    result, error = _run(tmp_path, "model-features")
    assert {r["feature"] for r in result["anomalies"]} == {"label", "filename"}
    assert [r["feature"] for r in result["blocking"]] == ["label"]
    assert error is not None and "[train] label:" in str(error) and "python -m reporting.schema_tool" in str(error)


def test_all_blocks_on_everything_and_none_on_nothing(tmp_path):
    result_all, error_all = _run(tmp_path, "all")
    assert {r["feature"] for r in result_all["blocking"]} == {"label", "filename"} and error_all
    result_none, error_none = _run(tmp_path, "none")
    assert result_none["passed"] and error_none is None and len(result_none["anomalies"]) == 2


def test_unknown_policy_is_rejected_at_construction():
    from tfx.types import Channel

    from components.anomaly_gate.component import AnomalyGate

    with pytest.raises(ValueError, match="--block-anomalies must be one of"):
        AnomalyGate(Channel(type=standard_artifacts.ExampleAnomalies), policy="sometimes")


@pytest.mark.parametrize("damage", ["missing", "garbage", "no splits"])
def test_missing_or_unreadable_input_fails_closed_even_with_policy_none(tmp_path, damage):
    from components.anomaly_gate.executor import AnomaliesUnreadable

    artifact = _anomalies_artifact(tmp_path)
    path = os.path.join(artifact.uri, "Split-train", "SchemaDiff.pb")
    if damage == "missing":
        os.remove(path)
    elif damage == "garbage":
        open(path, "wb").write(b"\xff\x00 not a proto")
    else:
        artifact.split_names = artifact_utils.encode_split_names([])
    result = AnomalyGateResult()
    result.uri = str(tmp_path / "result")
    with pytest.raises(AnomaliesUnreadable, match="SchemaDiff.pb|no splits|names no splits"):
        Executor().Do({"anomalies": [artifact]}, {"result": [result]},
                      {"policy": "none", "model_features": json.dumps(["image", "label"])})
    assert not os.path.exists(os.path.join(result.uri, RESULT_FILENAME))  # no "passed" verdict was written
