"""Horizontal flips decided from the data, not from a constant.

Why: flipping training images left-right is free accuracy on photos (a mirrored shoe is a shoe) and a
silent wrong answer where handedness is the class: a mirrored 'b' is a 'd', a left arrow becomes a right
one, a mirrored 2 is no digit.  A user's folder gives no hint which it is, and the embedded data cannot
stand in for theirs.  So, for tasks whose contract says mirroring may change the class, ``--flips auto``
trains the first epoch without flips and then asks the model: it scores the validation split (carved from
train) as it is and mirrored, with the same labels.  Where the mirrored images lose a clear share of what
the model has learnt, mirroring changes the class and flips stay off; where they score about the same,
flips go on for the rest of training.  The decision, its figures and its reason are written to the
Trainer's model_run artifact and shown in the run summary.
"""

from __future__ import annotations

import dataclasses
from typing import Dict, Optional, Tuple

import numpy as np

from common import tasks
from trainer.config import TrainerConfig
from trainer.linear_probe import predictions_accuracy

#: Flips go on when mirrored validation images keep at least this share of the model's skill above chance.
MIN_KEPT_SKILL = 0.8
#: Below this much accuracy above chance after the first epoch, the model cannot tell yet: flips stay off.
MIN_SKILL = 0.15


@dataclasses.dataclass(frozen=True)
class FlipDecision:
    """Whether training flips images, who decided (``flag``, ``task``, ``data``) and why, in words."""

    flips: bool
    decided_by: str
    reason: str
    accuracy: Optional[float] = None
    mirrored_accuracy: Optional[float] = None

    def to_dict(self) -> Dict[str, object]:
        return dataclasses.asdict(self)

    def describe(self) -> str:
        return f"horizontal flips {'on' if self.flips else 'off'} ({self.decided_by}: {self.reason})"


def needs_data(config: TrainerConfig) -> bool:
    """Whether the flips are left to the data: ``--flips auto``, augmentation on, and a task where mirroring
    may change the class."""
    return (config.augmentation.enabled and config.augmentation.flip_left_right is None
            and tasks.get(config.task).decides_flips_from_data)


def without_data(config: TrainerConfig) -> FlipDecision:
    """The decision where the data is not asked: the user's flag, or the task's rule."""
    if not config.augmentation.enabled:
        return FlipDecision(False, "flag", "--no-augmentation")
    flips = config.augmentation.flip_left_right
    if flips is not None:
        if config.augmentation.flip_reason:
            return FlipDecision(flips, "default", config.augmentation.flip_reason)
        return FlipDecision(flips, "flag", f"--flips {'on' if flips else 'off'}")
    return FlipDecision(True, "task", f"{config.task} mirrors its targets with the image")


def with_flips(config: TrainerConfig, flips: bool) -> TrainerConfig:
    """``config`` with the flip decision filled in (the augmentation refuses an undecided one)."""
    return dataclasses.replace(config, augmentation=dataclasses.replace(config.augmentation, flip_left_right=flips))


def mirrored_accuracies(model, validation_batches) -> Tuple[float, float, int]:
    """(accuracy, accuracy on the mirrored images with the same labels, images) over the validation batches."""
    import tensorflow as tf

    batches = list(validation_batches)
    count = sum(len(np.asarray(labels).reshape(-1)) for _, labels in batches)
    if not count:
        return 0.0, 0.0, 0
    mirrored = [(tf.image.flip_left_right(images), labels) for images, labels in batches]
    return predictions_accuracy(model, batches), predictions_accuracy(model, mirrored), count


def decide(accuracy: float, mirrored_accuracy: float, num_classes: int, images: int) -> FlipDecision:
    """Flips on when the mirrored images keep at least MIN_KEPT_SKILL of the skill above chance."""
    if images == 0:
        return FlipDecision(False, "data", "no validation images to check mirroring on; --flips on to flip")
    chance = 1.0 / max(num_classes, 1)
    skill = accuracy - chance
    figures = dict(accuracy=round(accuracy, 4), mirrored_accuracy=round(mirrored_accuracy, 4))
    if skill < MIN_SKILL:
        return FlipDecision(False, "data", f"after the first epoch the model scored {accuracy:.2f} on {images} "
                            f"validation images, too near chance ({chance:.2f}) to tell whether mirroring changes "
                            "the class; --flips on to flip", **figures)
    kept = (mirrored_accuracy - chance) / skill
    verdict = (f"mirrored validation images scored {mirrored_accuracy:.2f} against {accuracy:.2f} as they are "
               f"({images} images, {kept:.0%} of the skill above chance kept)")
    if kept >= MIN_KEPT_SKILL:
        return FlipDecision(True, "data", f"{verdict}: mirroring keeps the class", **figures)
    return FlipDecision(False, "data", f"{verdict}: mirroring changes the class", **figures)
