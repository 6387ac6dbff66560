"""TfliteEvaluator component: runs after the Trainer, beside the Evaluator; nothing waits for it."""

from __future__ import annotations

import json
from typing import List, Optional

import tensorflow_model_analysis as tfma
from google.protobuf import json_format
from tfx import types
from tfx.dsl.components.base import base_beam_component, executor_spec
from tfx.types import standard_artifacts

from components.tflite_evaluator.executor import Executor
from components.tflite_evaluator.spec import (CODE_VERSION_KEY, EVAL_CONFIG_KEY, EVALUATION_KEY, EXAMPLE_SPLITS_KEY,
                                              EXAMPLES_KEY, MODEL_KEY, MODULE_PATH_KEY, TfliteEvaluatorSpec)


class TfliteEvaluator(base_beam_component.BaseBeamComponent):
    """TFMA metrics of each TFLite file the Trainer wrote (a multi-model EvalConfig, one model per file)."""

    SPEC_CLASS = TfliteEvaluatorSpec
    EXECUTOR_SPEC = executor_spec.BeamExecutorSpec(Executor)

    def __init__(self, examples: types.BaseChannel, model: types.BaseChannel, eval_config: tfma.EvalConfig,
                 module_path: str, example_splits: Optional[List[str]] = None, code_version: str = ""):
        super().__init__(spec=TfliteEvaluatorSpec(**{
            EXAMPLES_KEY: examples,
            MODEL_KEY: model,
            EVAL_CONFIG_KEY: json_format.MessageToJson(eval_config, sort_keys=True),
            MODULE_PATH_KEY: module_path,
            EXAMPLE_SPLITS_KEY: json.dumps(example_splits) if example_splits else None,
            CODE_VERSION_KEY: code_version,
            EVALUATION_KEY: types.Channel(type=standard_artifacts.ModelEvaluation),
        }))
