"""TfliteEvaluator component: spec wiring; the eval config and module path reach the executor unchanged."""

import tensorflow_model_analysis as tfma
from google.protobuf import json_format
from tfx.types import channel_utils, standard_artifacts

from components.tflite_evaluator.component import TfliteEvaluator
from components.tflite_evaluator.spec import CODE_VERSION_KEY, EVAL_CONFIG_KEY, EVALUATION_KEY, MODULE_PATH_KEY


def test_outputs_an_evaluation_and_no_blessing():
    config = tfma.EvalConfig(model_specs=[tfma.ModelSpec(name="tflite", model_type="tf_lite")])
    evaluator = TfliteEvaluator(examples=channel_utils.as_channel([standard_artifacts.Examples()]),
                                model=channel_utils.as_channel([standard_artifacts.Model()]),
                                eval_config=config, module_path="some.module", code_version="abc")
    assert set(evaluator.outputs) == {EVALUATION_KEY}
    assert evaluator.outputs[EVALUATION_KEY].type == standard_artifacts.ModelEvaluation
    assert json_format.Parse(evaluator.exec_properties[EVAL_CONFIG_KEY], tfma.EvalConfig()) == config
    assert evaluator.exec_properties[MODULE_PATH_KEY] == "some.module"
    assert evaluator.exec_properties[CODE_VERSION_KEY] == "abc"
