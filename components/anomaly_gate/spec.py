"""AnomalyGate's component spec and its result artifact."""

from tfx import types
from tfx.types import standard_artifacts
from tfx.types.component_spec import ChannelParameter, ExecutionParameter

ANOMALIES_KEY = "anomalies"
RESULT_KEY = "result"
POLICY_KEY = "policy"
MODEL_FEATURES_KEY = "model_features"
CODE_VERSION_KEY = "code_version"

POLICIES = ("model-features", "all", "none")


class AnomalyGateResult(types.Artifact):
    """The anomalies found, which of them block, and the verdict, as JSON."""

    # "<namespace>.<Name>": the form Kubeflow Pipelines v2 accepts for custom artifact types.
    TYPE_NAME = "image_tfx.AnomalyGateResult"


class AnomalyGateSpec(types.ComponentSpec):
    PARAMETERS = {
        POLICY_KEY: ExecutionParameter(type=str),
        MODEL_FEATURES_KEY: ExecutionParameter(type=str),  # JSON list of feature names
        # Hash of the gate's code (pipeline/cache_keys.py): changed rules re-decide instead of a cached verdict.
        CODE_VERSION_KEY: ExecutionParameter(type=str, optional=True),
    }
    INPUTS = {ANOMALIES_KEY: ChannelParameter(type=standard_artifacts.ExampleAnomalies)}
    OUTPUTS = {RESULT_KEY: ChannelParameter(type=AnomalyGateResult)}
