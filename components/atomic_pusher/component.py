"""AtomicPusher component: TFX's Pusher contract, an atomic exactly-once push, the model card inside."""

from __future__ import annotations

from typing import Optional

from tfx import types
from tfx.dsl.components.base import base_component, executor_spec
from tfx.proto import pusher_pb2
from tfx.types import standard_artifacts, standard_component_specs

from components.atomic_pusher.executor import Executor
from components.atomic_pusher.spec import MODEL_CARD_KEY, AtomicPusherSpec


class AtomicPusher(base_component.BaseComponent):
    """Pushes a blessed model to a file-system destination (see the executor), with its model card."""

    SPEC_CLASS = AtomicPusherSpec
    EXECUTOR_SPEC = executor_spec.ExecutorClassSpec(Executor)

    def __init__(self, model: types.BaseChannel, model_blessing: types.BaseChannel,
                 push_destination: pusher_pb2.PushDestination, model_card: Optional[types.BaseChannel] = None):
        super().__init__(spec=AtomicPusherSpec(**{
            standard_component_specs.MODEL_KEY: model,
            standard_component_specs.MODEL_BLESSING_KEY: model_blessing,
            standard_component_specs.PUSH_DESTINATION_KEY: push_destination,
            MODEL_CARD_KEY: model_card,
            standard_component_specs.PUSHED_MODEL_KEY: types.Channel(type=standard_artifacts.PushedModel),
        }))
