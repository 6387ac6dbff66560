"""AtomicPusher's component spec: TFX's Pusher inputs plus the model card it ships with the model."""

from tfx.types import standard_component_specs
from tfx.types.component_spec import ChannelParameter

from components.model_card.spec import ModelCard

MODEL_CARD_KEY = "model_card"


class AtomicPusherSpec(standard_component_specs.PusherSpec):
    """PusherSpec + an optional ``model_card`` whose files land in the pushed version directory."""

    INPUTS = {
        **standard_component_specs.PusherSpec.INPUTS,
        MODEL_CARD_KEY: ChannelParameter(type=ModelCard, optional=True),
    }
