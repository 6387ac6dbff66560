"""ModelCardGen component: spec wiring; optional inputs may be left out; the config round-trips."""

from tfx.types import channel_utils, standard_artifacts

from components.image_validator.spec import ImageValidationReport
from components.model_card import spec
from components.model_card.component import ModelCardGen
from components.model_card.executor import CardConfig


def _channel(artifact_type):
    return channel_utils.as_channel([artifact_type()])


def test_outputs_a_model_card_and_keeps_the_config():
    card = ModelCardGen(model=_channel(standard_artifacts.Model), model_run=_channel(standard_artifacts.ModelRun),
                        evaluation=_channel(standard_artifacts.ModelEvaluation),
                        blessing=_channel(standard_artifacts.ModelBlessing),
                        validation_report=_channel(ImageValidationReport),
                        config=CardConfig(pipeline_name="p", class_names=["a", "b"], settings={"seed": 3}))
    assert card.outputs[spec.MODEL_CARD_KEY].type == spec.ModelCard
    assert spec.ModelCard.TYPE_NAME == "image_tfx.ModelCard"
    assert spec.TFLITE_EVALUATION_KEY not in card.inputs and spec.LABEL_ISSUES_KEY not in card.inputs
    config = CardConfig.from_json(card.exec_properties[spec.CONFIG_KEY])
    assert (config.pipeline_name, config.class_names, config.settings) == ("p", ["a", "b"], {"seed": 3})
