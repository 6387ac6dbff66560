"""LabelInspector's component spec and its artifact type."""

from tfx import types
from tfx.types import standard_artifacts
from tfx.types.component_spec import ChannelParameter, ExecutionParameter

EXAMPLES_KEY = "examples"
MODEL_KEY = "model"
LABEL_ISSUES_KEY = "label_issues"
CONFIG_KEY = "config"
#: Files of the LabelIssues artifact.
ISSUES_FILENAME = "label_issues.csv"
PREDICTIONS_FILENAME = "predictions.csv"
SUMMARY_FILENAME = "label_issues.json"


class LabelIssues(types.Artifact):
    """``label_issues.csv`` (suspects, highest score first) and ``predictions.csv`` (every example)."""

    # "<namespace>.<Name>": the form Kubeflow Pipelines v2 accepts for custom artifact types.
    TYPE_NAME = "image_tfx.LabelIssues"


class LabelInspectorSpec(types.ComponentSpec):
    """Validated examples and the trained model in; suspected label errors out."""

    PARAMETERS = {CONFIG_KEY: ExecutionParameter(type=str)}
    INPUTS = {
        EXAMPLES_KEY: ChannelParameter(type=standard_artifacts.Examples),
        MODEL_KEY: ChannelParameter(type=standard_artifacts.Model),
    }
    OUTPUTS = {LABEL_ISSUES_KEY: ChannelParameter(type=LabelIssues)}
