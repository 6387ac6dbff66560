"""FacetsPages component: spec wiring, the optional label-issues input, the system.HTML output type."""

import json

from tfx.types import channel_utils, standard_artifacts

from components.facets_pages.component import FacetsPages
from components.facets_pages.spec import DIVE_KEY, OVERVIEW_KEY, HTMLPage
from components.image_validator.spec import ImageValidationReport
from components.label_inspector.spec import LabelIssues


def _channel(kind):
    return channel_utils.as_channel([kind()])


def _pages(**extra):
    return FacetsPages(statistics=_channel(standard_artifacts.ExampleStatistics),
                       examples=_channel(standard_artifacts.Examples),
                       quarantine=_channel(standard_artifacts.Examples),
                       validation_report=_channel(ImageValidationReport), class_names=["a", "b"], **extra)


def test_outputs_are_html_pages_the_kubeflow_ui_renders():
    pages = _pages()
    assert pages.outputs[OVERVIEW_KEY].type == HTMLPage and pages.outputs[DIVE_KEY].type == HTMLPage
    assert HTMLPage.TYPE_NAME == "system.HTML"
    assert json.loads(pages.exec_properties["config"])["class_names"] == ["a", "b"]


def test_label_issues_are_optional():
    assert "label_issues" not in _pages().inputs
    assert "label_issues" in _pages(label_issues=_channel(LabelIssues)).inputs
