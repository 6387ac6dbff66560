"""ModelCard's component spec and its artifact type."""

from tfx import types
from tfx.types import standard_artifacts, standard_component_specs
from tfx.types.component_spec import ChannelParameter, ExecutionParameter

from components.image_validator.spec import ImageValidationReport
from components.label_inspector.spec import LabelIssues

MODEL_KEY = "model"
MODEL_RUN_KEY = "model_run"
EVALUATION_KEY = standard_component_specs.EVALUATION_KEY
BLESSING_KEY = "blessing"
VALIDATION_REPORT_KEY = "validation_report"
TFLITE_EVALUATION_KEY = "tflite_evaluation"
LABEL_ISSUES_KEY = "label_issues"
MODEL_CARD_KEY = "model_card"
CONFIG_KEY = "config"
#: Files of the ModelCard artifact (the Pusher copies them into the version directory).
MARKDOWN_FILENAME = "model_card.md"
HTML_FILENAME = "model_card.html"
CARD_FILENAMES = (MARKDOWN_FILENAME, HTML_FILENAME)


class ModelCard(types.Artifact):
    """``model_card.md`` and ``model_card.html``: what the model is, what it was trained and judged on."""

    # "<namespace>.<Name>": the form Kubeflow Pipelines v2 accepts for custom artifact types.
    TYPE_NAME = "image_tfx.ModelCard"


class ModelCardSpec(types.ComponentSpec):
    """Everything a card states comes from an input artifact (or the config), none of it from memory."""

    PARAMETERS = {CONFIG_KEY: ExecutionParameter(type=str)}
    INPUTS = {
        MODEL_KEY: ChannelParameter(type=standard_artifacts.Model),
        MODEL_RUN_KEY: ChannelParameter(type=standard_artifacts.ModelRun),
        EVALUATION_KEY: ChannelParameter(type=standard_artifacts.ModelEvaluation),
        BLESSING_KEY: ChannelParameter(type=standard_artifacts.ModelBlessing),
        VALIDATION_REPORT_KEY: ChannelParameter(type=ImageValidationReport),
        TFLITE_EVALUATION_KEY: ChannelParameter(type=standard_artifacts.ModelEvaluation, optional=True),
        LABEL_ISSUES_KEY: ChannelParameter(type=LabelIssues, optional=True),
    }
    OUTPUTS = {MODEL_CARD_KEY: ChannelParameter(type=ModelCard)}
