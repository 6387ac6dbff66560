"""LabelInspector component: spec wiring and the config parameter."""

from tfx.types import channel_utils, standard_artifacts

from components.label_inspector.component import LabelInspector
from components.label_inspector.executor import InspectionConfig
from components.label_inspector.spec import CONFIG_KEY, LABEL_ISSUES_KEY, LabelIssues


def test_outputs_and_config_round_trip():
    inspector = LabelInspector(examples=channel_utils.as_channel([standard_artifacts.Examples()]),
                               model=channel_utils.as_channel([standard_artifacts.Model()]),
                               config=InspectionConfig(class_names=["a", "b"], action="stop", max_share=0.1))
    assert inspector.outputs[LABEL_ISSUES_KEY].type == LabelIssues
    assert LabelIssues.TYPE_NAME == "image_tfx.LabelIssues"
    config = InspectionConfig.from_json(inspector.exec_properties[CONFIG_KEY])
    assert (config.class_names, config.action, config.max_share) == (["a", "b"], "stop", 0.1)
