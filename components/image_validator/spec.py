"""ImageValidator's component spec and its report artifact type."""

from tfx import types
from tfx.types import standard_artifacts
from tfx.types.component_spec import ChannelParameter, ExecutionParameter

EXAMPLES_KEY = "examples"
VALIDATED_EXAMPLES_KEY = "validated_examples"
QUARANTINE_KEY = "quarantine"
REPORT_KEY = "report"
CONFIG_KEY = "config"
#: The report artifact's files: counts, warnings and near-duplicates (JSON), and one row per example
#: (JSON Lines, written by Beam as the rows stream past, never held as one list).
REPORT_FILENAME = "image_validation.json"
ROWS_FILENAME = "examples.jsonl"


class ImageValidationReport(types.Artifact):
    """Per-image findings (size, format, channels, brightness, reason) and counts, as JSON."""

    # "<namespace>.<Name>": the form Kubeflow Pipelines v2 accepts for custom artifact types.
    TYPE_NAME = "image_tfx.ImageValidationReport"


class ImageValidatorSpec(types.ComponentSpec):
    """Examples in; good examples, quarantined examples (with reasons) and a report out."""

    PARAMETERS = {CONFIG_KEY: ExecutionParameter(type=str)}
    INPUTS = {EXAMPLES_KEY: ChannelParameter(type=standard_artifacts.Examples)}
    OUTPUTS = {
        VALIDATED_EXAMPLES_KEY: ChannelParameter(type=standard_artifacts.Examples),
        QUARANTINE_KEY: ChannelParameter(type=standard_artifacts.Examples),
        REPORT_KEY: ChannelParameter(type=ImageValidationReport),
    }
