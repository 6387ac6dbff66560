"""FacetsPages' component spec and its artifact type."""

from tfx import types
from tfx.types import standard_artifacts
from tfx.types.component_spec import ChannelParameter, ExecutionParameter

from components.image_validator.spec import ImageValidationReport
from components.label_inspector.spec import LabelIssues

STATISTICS_KEY = "statistics"
EXAMPLES_KEY = "examples"
QUARANTINE_KEY = "quarantine"
VALIDATION_REPORT_KEY = "validation_report"
LABEL_ISSUES_KEY = "label_issues"
OVERVIEW_KEY = "overview"
DIVE_KEY = "dive"
CONFIG_KEY = "config"


class HTMLPage(types.Artifact):
    """One self-contained HTML file at the artifact's URI.

    ``system.HTML`` is the type the Kubeflow Pipelines UI renders in its
    Visualization tab; the executor writes the page at the URI itself (a
    file, not a folder), which is where that UI reads it.
    """

    TYPE_NAME = "system.HTML"


class FacetsPagesSpec(types.ComponentSpec):
    """Statistics, examples (good and quarantined), the validation report and, optionally, label issues in."""

    PARAMETERS = {CONFIG_KEY: ExecutionParameter(type=str)}
    INPUTS = {
        STATISTICS_KEY: ChannelParameter(type=standard_artifacts.ExampleStatistics),
        EXAMPLES_KEY: ChannelParameter(type=standard_artifacts.Examples),
        QUARANTINE_KEY: ChannelParameter(type=standard_artifacts.Examples),
        VALIDATION_REPORT_KEY: ChannelParameter(type=ImageValidationReport),
        LABEL_ISSUES_KEY: ChannelParameter(type=LabelIssues, optional=True),
    }
    OUTPUTS = {
        OVERVIEW_KEY: ChannelParameter(type=HTMLPage),
        DIVE_KEY: ChannelParameter(type=HTMLPage),
    }
