"""Training hyper-parameters: defined once here, carried to TFX as ``custom_config``.

The pipeline config (:mod:`pipeline.configs`) embeds a :class:`TrainerConfig`
and hands ``to_dict()`` to Transform and the Trainer; the code running inside
those components rebuilds it with ``from_dict()``.  One dataclass on both sides
means a new hyper-parameter cannot be set in one place and ignored in another.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Dict, List, Optional

BACKBONES = ("resnet", "mobilenet_v2", "efficientnet_b0", "resnet50")


@dataclasses.dataclass
class AugmentationConfig:
    """On-the-fly training augmentation; never applied to eval or serving."""

    enabled: bool = True
    flip_left_right: bool = True
    #: Pad by this fraction of the image size, then crop back at a random offset.
    crop_pad_fraction: float = 0.1
    #: Max random brightness delta, in [0, 1] image units.
    brightness: float = 0.1
    #: Max relative contrast change (0.1 -> factor in [0.9, 1.1]).
    contrast: float = 0.1


@dataclasses.dataclass
class TrainerConfig:
    """What Transform and the Trainer need at run time."""

    task: str = "classification"
    image_key: str = "image"
    label_key: str = "label"
    #: Class names in id order (the model's output order and serving's class_name).
    class_names: List[str] = dataclasses.field(default_factory=list)
    image_size: int = 32
    backbone: str = "resnet"
    #: "imagenet" (download), a local weights file, or None (random init).
    weights: Optional[str] = None
    batch_size: int = 32
    steps_per_epoch: int = 50
    learning_rate: float = 2e-3
    #: Second phase (backbone partly unfrozen) learning rate.
    fine_tune_learning_rate: float = 2e-4
    #: Share of the backbone's layers, from the top, unfrozen in phase two.
    fine_tune_fraction: float = 0.3
    #: Share of the training steps spent with a frozen backbone (pretrained weights only).
    head_steps_fraction: float = 0.5
    early_stopping_patience: int = 4
    # --- segmentation only ---------------------------------------------------
    mask_key: str = "mask"
    #: Mask value that marks pixels to ignore in the loss and the IoU.
    ignore_label: int = 255
    #: Weight of the soft-Dice term added to sparse cross-entropy (0 = off).
    dice_weight: float = 0.0
    #: Per-class loss weights for imbalanced classes (None = all 1).
    class_weights: Optional[List[float]] = None
    #: Filters of the U-Net decoder stages, deepest first.
    decoder_filters: List[int] = dataclasses.field(default_factory=lambda: [64, 32, 16])
    augmentation: AugmentationConfig = dataclasses.field(default_factory=AugmentationConfig)
    #: tf.distribute strategy: none | mirrored | multi_worker_mirrored (see trainer/distribution.py).
    distribution: str = "none"
    #: Hash of the training code; part of the component inputs, so editing the
    #: code invalidates the TFX cache (function references alone would not).
    code_version: str = ""

    def __post_init__(self) -> None:
        if self.backbone not in BACKBONES:
            raise ValueError(f"backbone must be one of {BACKBONES}, got {self.backbone!r}")
        if self.image_size < 8:
            raise ValueError(f"image_size must be at least 8 pixels, got {self.image_size}")
        if self.class_weights is not None and self.class_names and len(self.class_weights) != len(self.class_names):
            raise ValueError(f"class_weights has {len(self.class_weights)} values for {len(self.class_names)} classes")
        if isinstance(self.augmentation, dict):
            self.augmentation = AugmentationConfig(**self.augmentation)

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    def to_dict(self) -> Dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values: Optional[Dict[str, Any]]) -> "TrainerConfig":
        """Rebuilds the config; unknown keys are an error so typos do not pass silently."""
        values = dict(values or {})
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ValueError(f"unknown trainer config key(s) {unknown}; known: {sorted(known)}")
        return cls(**values)
