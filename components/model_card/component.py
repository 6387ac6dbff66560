"""ModelCard component: after the Evaluator (and TfliteEvaluator); the Pusher ships its card."""

from __future__ import annotations

from typing import Optional

from tfx import types
from tfx.dsl.components.base import base_component, executor_spec

from components.model_card import spec
from components.model_card.executor import CardConfig, Executor


class ModelCardGen(base_component.BaseComponent):
    """Writes the model card of the Trainer's model from its run's artifacts."""

    SPEC_CLASS = spec.ModelCardSpec
    EXECUTOR_SPEC = executor_spec.ExecutorClassSpec(Executor)

    def __init__(self, model: types.BaseChannel, model_run: types.BaseChannel, evaluation: types.BaseChannel,
                 blessing: types.BaseChannel, validation_report: types.BaseChannel, config: CardConfig,
                 tflite_evaluation: Optional[types.BaseChannel] = None,
                 label_issues: Optional[types.BaseChannel] = None):
        super().__init__(spec=spec.ModelCardSpec(**{
            spec.MODEL_KEY: model,
            spec.MODEL_RUN_KEY: model_run,
            spec.EVALUATION_KEY: evaluation,
            spec.BLESSING_KEY: blessing,
            spec.VALIDATION_REPORT_KEY: validation_report,
            spec.TFLITE_EVALUATION_KEY: tflite_evaluation,
            spec.LABEL_ISSUES_KEY: label_issues,
            spec.CONFIG_KEY: config.to_json(),
            spec.MODEL_CARD_KEY: types.Channel(type=spec.ModelCard),
        }))
