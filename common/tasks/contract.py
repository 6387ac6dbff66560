"""What a vision task is, told to every layer: the task contract.

Why a TensorFlow-free descriptor in ``common``: ingest, the pipeline definition, the components and the
reports all need to know things about a task (which features hold its target, its default image size,
which metric blesses it, which data preparation reads its folders, which columns ``--predict`` writes)
but the architecture keeps them from importing ``trainer``.  Without one descriptor they compared task
names, and a forgotten branch quietly treated a new task as classification.  Every layer asks the
contract instead; the TensorFlow side (``trainer.tasks``) and the pipeline-side hooks (the TFMA
EvalConfig builders in ``pipeline.evaluation``) are registered under the same name.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Callable, Dict, Optional, Sequence, Tuple

#: Target kinds the generic components know how to check and show.  A task of another kind still runs
#: through the pipeline; the ImageValidator then checks its images only.
CLASS_ID = "class_id"
MASK = "class_mask"
BOXES = "boxes"


@dataclasses.dataclass(frozen=True)
class FeatureKeys:
    """The configured raw feature names (``--image-key``, ``--label-key``, ``--mask-key``)."""

    image_key: str
    label_key: str
    mask_key: str


@dataclasses.dataclass(frozen=True)
class TaskDefaults:
    """Settings whose sensible value depends on the task; used wherever the user gives none.

    ``image_size`` is the small ResNet's input size; a pretrained backbone uses the size it learnt on.
    """

    image_size: int
    batch_size: int
    train_steps: int
    learning_rate: float = 2e-3
    dice_weight: float = 0.0
    tflite: str = "float"

    def as_dict(self) -> Dict[str, Any]:
        return dataclasses.asdict(self)


@dataclasses.dataclass(frozen=True)
class Blessing:
    """What blesses a model of this task: one metric key of the Evaluator's results and the two
    ``BlessingConfig`` fields that hold its threshold and the largest drop against the last blessed model."""

    metric: str
    minimum_field: str
    max_drop_field: str


@dataclasses.dataclass(frozen=True)
class TaskContract:
    """One vision task, as every layer of the pipeline sees it.  Registered once (:mod:`common.tasks`)."""

    #: The ``--task`` value.
    name: str
    #: One line for ``--help``.
    summary: str
    #: The target's kind (``CLASS_ID``, ``MASK``, ``BOXES`` or a task's own).
    target_kind: str
    #: Raw features holding the target, given the configured keys.
    target_keys: Callable[[FeatureKeys], Tuple[str, ...]]
    defaults: TaskDefaults
    blessing: Blessing
    #: Which data preparation (``ingest.preparations``) reads the user's folders for this task.
    preparation: str
    #: What ``--data`` takes for this task, in words (``--help`` and error messages).
    data_help: str
    #: Columns of ``--predict``'s predictions.csv.
    prediction_columns: Tuple[str, ...]
    #: What ``serving_default`` returns, in words (the model card).
    serving_outputs: str
    #: The per-class metric (higher is better) the model card names the weakest class by.
    per_class_metric: str
    #: ``--resize`` policies that keep this task's target right, and why others are refused.
    resize_policies: Tuple[str, ...] = ("squash", "crop", "letterbox")
    resize_reason: str = ""
    #: The input size must be a multiple of this (a detector's stride-4 grid: a backbone's 227 becomes 224).
    image_size_multiple: int = 1
    #: ``--tflite`` modes this task can export, and why others are refused.
    tflite_modes: Tuple[str, ...] = ("none", "float", "int8")
    tflite_reason: str = ""
    #: The embedded default dataset (``ingest.embedded``) a run without ``--data`` trains on (None: ``--data``
    #: is required).
    embedded_dataset: Optional[str] = None
    #: Whether mirroring an image may change its target's meaning in a way the augmentation cannot follow
    #: (a mirrored 'b' is a 'd'): then ``--flips auto`` decides from the data (trainer/flip_check.py); else
    #: flips are on (masks and boxes are mirrored with the image).
    decides_flips_from_data: bool = False
    #: Whether the LabelInspector looks for suspected label errors (it needs one class id per image).
    inspects_labels: bool = False
    #: Whether the embedded default trains without horizontal flips (its classes have a handedness).
    embedded_without_flips: bool = False

    def model_features(self, keys: FeatureKeys) -> Tuple[str, ...]:
        """The raw features the model reads: the image and the target."""
        return (keys.image_key, *self.target_keys(keys))

    def encoded_image_keys(self, keys: FeatureKeys) -> Tuple[str, ...]:
        """Features that hold encoded images (the image; a mask too), profiled as images, not text."""
        return (keys.image_key, keys.mask_key) if self.target_kind == MASK else (keys.image_key,)

    def check_resize(self, policy: str) -> None:
        if policy not in self.resize_policies:
            raise ValueError(f"--resize {policy} is not for {self.name}: {self.resize_reason} "
                             f"(use --resize {' or '.join(self.resize_policies)})")

    def check_tflite(self, mode: str) -> None:
        if mode not in self.tflite_modes:
            raise ValueError(f"--tflite {mode} is not for {self.name}: {self.tflite_reason} "
                             f"(use --tflite {' or '.join(self.tflite_modes)})")


def label_target(keys: FeatureKeys) -> Tuple[str, ...]:
    return (keys.label_key,)


def mask_target(keys: FeatureKeys) -> Tuple[str, ...]:
    return (keys.mask_key,)


def describe_defaults(field: str, contracts: Sequence[TaskContract], unit: str = "") -> Optional[str]:
    """``"32 classification, 64 segmentation, 128 detection"`` for ``--help``; None when no task has one."""
    parts = [f"{getattr(c.defaults, field)}{unit} {c.name}" for c in contracts if hasattr(c.defaults, field)]
    return ", ".join(parts) or None
