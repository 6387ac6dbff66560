"""ImageValidator component: its spec wires the right artifact types and carries the config."""

import json

from tfx.types import channel_utils, standard_artifacts

from components.image_validator.component import ImageValidator
from components.image_validator.executor import ValidationConfig
from components.image_validator.spec import (CONFIG_KEY, QUARANTINE_KEY, REPORT_KEY, VALIDATED_EXAMPLES_KEY,
                                             ImageValidationReport)


def _examples_channel():
    return channel_utils.as_channel([standard_artifacts.Examples()])


def test_outputs_have_the_documented_types():
    component = ImageValidator(examples=_examples_channel())
    outputs = component.outputs
    assert outputs[VALIDATED_EXAMPLES_KEY].type == standard_artifacts.Examples
    assert outputs[QUARANTINE_KEY].type == standard_artifacts.Examples
    assert outputs[REPORT_KEY].type == ImageValidationReport
    # KFP v2 accepts custom artifact types only as "<namespace>.<Name>".
    assert ImageValidationReport.TYPE_NAME == "image_tfx.ImageValidationReport"


def test_config_travels_as_json_and_round_trips():
    config = ValidationConfig(image_key="picture", label_key=None, mask_key="seg", num_classes=3, min_size=16,
                              max_aspect_ratio=2.5, max_bad_fraction=0.2)
    component = ImageValidator(examples=_examples_channel(), config=config)
    text = component.exec_properties[CONFIG_KEY]
    assert json.loads(text)["image_key"] == "picture"
    assert ValidationConfig.from_json(text) == config


def test_default_config_checks_the_default_feature_keys():
    component = ImageValidator(examples=_examples_channel())
    recorded = ValidationConfig.from_json(component.exec_properties[CONFIG_KEY])
    assert (recorded.image_key, recorded.label_key, recorded.mask_key) == ("image", "label", None)
