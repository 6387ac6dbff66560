"""Hyperparameters: the values a Tuner trial or the Trainer applies to a TrainerConfig.

Why a module apart from the tuner: the Trainer applies the Tuner's best values (``fn_args.hyperparameters``)
without importing KerasTuner, and the search space is plain data (TrainerConfig field -> choices) that each
task declares (``Task.search_space``), so a test can read it without TensorFlow running a trial.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Dict, Mapping, Optional

from trainer.config import FLIP_CHOICES, TrainerConfig

#: Prefix of the AugmentationConfig fields in a search space.
AUGMENTATION = "augmentation."


def values_of(hyperparameters: Optional[Mapping[str, Any]]) -> Dict[str, Any]:
    """The values of TFX's ``fn_args.hyperparameters`` (KerasTuner's ``HyperParameters.get_config()``)."""
    if not hyperparameters:
        return {}
    return dict(hyperparameters.get("values", hyperparameters))


def read_back(config: TrainerConfig, names) -> Dict[str, Any]:
    """The configuration's values of ``names`` (search-space names): what training really used."""
    return {name: getattr(config.augmentation, name[len(AUGMENTATION):]) if name.startswith(AUGMENTATION)
            else getattr(config, name) for name in names}


def apply(config: TrainerConfig, values: Mapping[str, Any]) -> TrainerConfig:
    """``config`` with ``values`` set; an unknown name is refused (a renamed field must not pass silently)."""
    fields = {f.name for f in dataclasses.fields(TrainerConfig)}
    augmentation_fields = {f.name for f in dataclasses.fields(type(config.augmentation))}
    top, augmentation = {}, {}
    for name, value in values.items():
        if name.startswith(AUGMENTATION) and name[len(AUGMENTATION):] in augmentation_fields:
            field = name[len(AUGMENTATION):]
            augmentation[field] = FLIP_CHOICES[value] if field == "flip_left_right" and isinstance(value, str) \
                else value
        elif name in fields:
            top[name] = value
        else:
            raise ValueError(f"hyperparameter {name!r} is no TrainerConfig field")
    if augmentation:
        top["augmentation"] = dataclasses.replace(config.augmentation, **augmentation)
    return dataclasses.replace(config, **top) if top else config
