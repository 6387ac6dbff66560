"""ImageValidator: a custom TFX component (Beam) in front of StatisticsGen and Transform."""

from __future__ import annotations

from typing import Optional

from tfx import types
from tfx.dsl.components.base import base_beam_component, executor_spec
from tfx.types import standard_artifacts

from components.image_validator.executor import Executor, ValidationConfig
from components.image_validator.spec import (CONFIG_KEY, EXAMPLES_KEY, QUARANTINE_KEY, REPORT_KEY,
                                             VALIDATED_EXAMPLES_KEY, ImageValidationReport, ImageValidatorSpec)


class ImageValidator(base_beam_component.BaseBeamComponent):
    """Decodes every image; good examples flow on, bad ones are quarantined with a reason each.

    Outputs: ``validated_examples`` (what the rest of the pipeline sees),
    ``quarantine`` (bad examples plus ``quarantine_reason``) and ``report``
    (per-image properties and counts, JSON).
    """

    SPEC_CLASS = ImageValidatorSpec
    EXECUTOR_SPEC = executor_spec.BeamExecutorSpec(Executor)

    def __init__(self, examples: types.BaseChannel, config: Optional[ValidationConfig] = None):
        super().__init__(spec=ImageValidatorSpec(**{
            EXAMPLES_KEY: examples,
            CONFIG_KEY: (config or ValidationConfig()).to_json(),
            VALIDATED_EXAMPLES_KEY: types.Channel(type=standard_artifacts.Examples),
            QUARANTINE_KEY: types.Channel(type=standard_artifacts.Examples),
            REPORT_KEY: types.Channel(type=ImageValidationReport),
        }))
