"""What Transform and the Trainer need at run time, carried to TFX as ``custom_config``.

Two dataclasses, because the two components must not share a cache key:

* :class:`TransformConfig` — only what changes Transform's output (the task,
  the feature keys, the model resolution, the code version).  Changing the
  learning rate therefore does not re-decode every image.
* :class:`TrainerConfig` — a TransformConfig plus the training settings.

The pipeline configuration (:mod:`pipeline.configs`) embeds a TrainerConfig
and hands ``transform_config().to_dict()`` to Transform and ``to_dict()`` to
the Trainer; the code running inside those components rebuilds them with
``from_dict()``.  Each field's command-line flag is declared on the field
(:func:`common.options.option`), so the flag, its default and its help text
cannot drift apart.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Dict, List, Optional, Type, TypeVar

from common import names, tasks
from common.labels import read_labels_file
from common.options import option

BACKBONES = ("resnet", "squeezenet", "mobilenet", "mobilenet_v2", "efficientnet_b0", "resnet50")
#: Input size an ImageNet backbone was trained at: its default --image-size (the small ResNet: the task's).
BACKBONE_IMAGE_SIZE = {"squeezenet": 227, "mobilenet": 224, "mobilenet_v2": 224, "efficientnet_b0": 224, "resnet50": 224}
DISTRIBUTIONS = ("none", "mirrored", "multi_worker_mirrored")
#: How an image of any aspect ratio becomes the square model input (trainer/image_ops.py).
#: ``squash``: the whole image, stretched: nothing is lost, shapes are distorted.
#: ``crop``: the largest centred square, resized: shapes are kept, the ends of long images are lost
#: (ImageNet's evaluation convention); training then augments with random resized crops.
#: ``letterbox``: the whole image, aspect ratio kept, padded with black to a square (detection boxes follow).
RESIZE_POLICIES = ("squash", "crop", "letterbox")
#: TFLite files written beside the SavedModel (trainer/tflite_export.py): none, float, or float and int8.
TFLITE_MODES = ("none", "float", "int8")

C = TypeVar("C", bound="_DictConfig")
#: ``--flips`` values and what they set ``AugmentationConfig.flip_left_right`` to.
FLIP_CHOICES = {"auto": None, "on": True, "off": False}


def _floats(text: str) -> List[float]:
    return [float(w) for w in text.split(",")]


class _DictConfig:
    """``to_dict``/``from_dict`` for the JSON ``custom_config`` of a TFX component."""

    def to_dict(self) -> Dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls: Type[C], values: Optional[Dict[str, Any]]) -> C:
        """Rebuilds the config; unknown keys are an error so typos do not pass silently."""
        values = dict(values or {})
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ValueError(f"unknown {cls.__name__} key(s) {unknown}; known: {sorted(known)}")
        return cls(**values)


@dataclasses.dataclass
class AugmentationConfig(_DictConfig):
    """On-the-fly training augmentation; never applied to eval or serving."""

    enabled: bool = option(True, flag="--no-augmentation", store_false=True, group="model",
                           help="train without on-the-fly augmentation")
    #: None ("auto"): decided by the task — from the data where its contract says mirroring may change the class
    #: (trainer/flip_check.py), else on; True / False: the user's choice.
    flip_left_right: Optional[bool] = option(
        None, flag="--flips", choices=FLIP_CHOICES, parse=lambda text: FLIP_CHOICES[text], group="model",
        help="horizontal flips while training: 'auto' (default) decides from the data where mirroring may change "
             "the class (classification: after the first epoch, mirrored validation images are scored; flips stay "
             "off when they score clearly worse, as for digits, letters or arrows), 'on' or 'off' "
             "(--no-flip is --flips off)")
    #: Why flip_left_right was set, where no flag set it (the embedded data's rule); shown in the summary.
    flip_reason: str = ""
    #: Pad by this fraction of the image size, then crop back at a random offset.
    crop_pad_fraction: float = 0.1
    #: ``--resize crop``: random resized crops cover at least this share of the stored (centre-cropped)
    #: image, with an aspect ratio in [3/4, 4/3]; they replace pad-and-crop.
    min_crop_area: float = 0.5
    #: Max random brightness delta, in [0, 1] image units.
    brightness: float = 0.1
    #: Max relative contrast change (0.1 -> factor in [0.9, 1.1]).
    contrast: float = 0.1

    def describe(self, resize_policy: str, decides_flips: bool, with_flips: bool = True) -> str:
        """The augmentation in force, in words: printed before training (the run summary adds the flip
        decision the Trainer made)."""
        if not self.enabled:
            return "none (--no-augmentation)"
        crop = (f"random resized crops (at least {self.min_crop_area:.0%} of the image)" if resize_policy == "crop"
                else f"random shifts (padding {self.crop_pad_fraction:.0%})")
        text = f"{crop}, brightness ±{self.brightness:g}, contrast ±{self.contrast:.0%}"
        if not with_flips:
            return text
        given = f" ({self.flip_reason})" if self.flip_reason else ""
        flips = {True: f"horizontal flips{given or ' (--flips on)'}",
                 False: f"no horizontal flips{given or ' (--flips off)'}"}.get(
            self.flip_left_right, "horizontal flips decided from the data after the first epoch (--flips auto)"
            if decides_flips else "horizontal flips (the targets are mirrored with the image)")
        return f"{text}, {flips}"


@dataclasses.dataclass
class TransformConfig(_DictConfig):
    """Everything that changes Transform's output, and nothing else."""

    task: str = option("classification", choices=tasks.task_names, group="data",
                       help=lambda: "what to train: " + "; ".join(f"{c.name}: {c.summary}" for c in tasks.contracts())
                       + " (default: %(default)s)")
    image_key: str = option(names.DEFAULT_IMAGE_KEY, group="data",
                            help="image feature name in TFRecords (default: %(default)s)")
    label_key: str = option(names.DEFAULT_LABEL_KEY, group="data",
                            help="label feature name in TFRecords (default: %(default)s)")
    mask_key: str = option(names.DEFAULT_MASK_KEY, group="data",
                           help="segmentation: mask feature name in TFRecords (default: %(default)s)")
    #: None: the backbone's ImageNet size, or (the small ResNet) the task's default.
    image_size: Optional[int] = option(
        None, parse=int, task_default=True, group="model",
        help=lambda: "square model input size in pixels (default: the backbone's ImageNet size — "
                     + ", ".join(f"{size} {name}" for name, size in BACKBONE_IMAGE_SIZE.items())
                     + " — or, for the small resnet, " + tasks.describe_defaults("image_size") + ")")
    resize_policy: str = option("squash", flag="--resize", choices=RESIZE_POLICIES, group="model",
                                help=lambda: "how photos of any shape become square: 'squash' stretches the whole "
                                "image, 'crop' keeps the largest centred square, 'letterbox' fits the whole image and "
                                "pads it with black (" + "; ".join(f"{c.name}: {', '.join(c.resize_policies)}"
                                                                   for c in tasks.contracts())
                                + "; default: %(default)s)")
    #: Hash of the code that runs inside the component; part of its configuration, so editing
    #: the code invalidates the TFX cache (function references alone would not).
    code_version: str = ""

    def __post_init__(self) -> None:
        contract = tasks.get(self.task)  # an unknown task is refused here, by name
        if self.image_size is None:
            self.image_size = contract.defaults.image_size
        if self.image_size < 8:
            raise ValueError(f"image_size must be at least 8 pixels, got {self.image_size}")
        if self.resize_policy not in RESIZE_POLICIES:
            raise ValueError(f"resize_policy must be one of {RESIZE_POLICIES}, got {self.resize_policy!r}")
        contract.check_resize(self.resize_policy)

    @property
    def contract(self) -> tasks.TaskContract:
        return tasks.get(self.task)


@dataclasses.dataclass
class TrainerConfig(TransformConfig):
    """What the Trainer needs: the Transform settings plus model and optimisation settings."""

    #: Class names in id order (the model's output order and serving's class_name).
    class_names: List[str] = option(default_factory=list, flag="--labels", parse=read_labels_file, group="data",
                                    help="text file with one class name per line (line = class id); "
                                         "default: labels.txt next to the data")
    backbone: str = option("resnet", choices=BACKBONES, group="model", help="default: %(default)s")
    weights: Optional[str] = option(None, group="model",
                                    help="backbone weights: 'imagenet' (downloads), a local .h5 file, "
                                         "or omit for random init")
    batch_size: Optional[int] = option(None, parse=int, task_default=True, group="model", minimum=1,
                                       help=lambda: "default: " + tasks.describe_defaults("batch_size"))
    steps_per_epoch: int = 50
    learning_rate: Optional[float] = option(None, parse=float, task_default=True, group="model", above=0,
                                            help=lambda: "default: " + tasks.describe_defaults("learning_rate"))
    #: Second phase (backbone partly unfrozen) learning rate.
    fine_tune_learning_rate: float = 2e-4
    fine_tune_fraction: float = option(0.3, group="model", minimum=0, maximum=1,
                                       help="share of the backbone's layers, from the top, unfrozen in the "
                                            "phase after the frozen one (default: %(default)s; 0 = head only)")
    head_steps_fraction: Optional[float] = option(
        None, parse=float, group="model",
        help="share of the training steps spent with the backbone frozen, the rest with the top "
             "--fine-tune-fraction of it trained (default: 0.5 with pretrained weights; without, 0: every "
             "layer trains from the first step; 1 = head only)")
    early_stopping_patience: int = 4
    #: 256 MiB: every bundled and shared dataset fits (the anchor's 256 images at 224 px take 38 MiB), and
    #: past it the cache saves little: reading and parsing a 32-px example costs ~20 µs, about 1% of training on it.
    #: At 1,024 the Trainer of a 128,000-image run held 298 MiB more than at 2,000 images.
    input_cache_mb: int = option(256, group="model", minimum=0,
                                 help="keep the training examples in memory after the first epoch when their "
                                      "pixels fit this many MiB, so later epochs skip reading and parsing "
                                      "(default: %(default)s; 0 = always stream from disk)")
    #: Share of the training split set aside (stratified, deterministic) to pick the best epoch; the eval
    #: split the Evaluator blesses on is never used for that.  Capped at --validation-batches batches.
    validation_fraction: float = 0.1
    validation_batches: int = option(20, group="model", minimum=1,
                                     help="largest size of the validation split carved from the training data "
                                          "(a tenth of it, stratified), in batches: it picks the best epoch and "
                                          "is evaluated whole each epoch; the eval split that blesses is never used "
                                          "for that (default: %(default)s)")
    seed: int = option(0, group="model",
                       help="seed for data order, augmentation and weight initialisation; the same seed "
                            "gives the same model (default: %(default)s)")
    # --- segmentation only ---------------------------------------------------
    dice_weight: Optional[float] = option(None, parse=float, task_default=True, group="model", minimum=0,
                                          help=lambda: "segmentation: weight of the soft-Dice loss term added to "
                                          "cross-entropy (default: " + tasks.describe_defaults("dice_weight") + ")")
    class_weights: Optional[List[float]] = option(None, parse=_floats, group="model",
                                                  help="segmentation: comma-separated per-class loss weights "
                                                       "for imbalanced classes")
    #: Filters of the U-Net decoder stages, deepest first.
    decoder_filters: List[int] = dataclasses.field(default_factory=lambda: [64, 32, 16])
    augmentation: AugmentationConfig = dataclasses.field(default_factory=AugmentationConfig)
    tflite: Optional[str] = option(None, choices=TFLITE_MODES, group="model", task_default=True,
                                   help=lambda: "TFLite files shipped inside the pushed model (tflite/): 'float', "
                                   "'int8' (float and an int8-quantised one, calibrated on training images) or 'none' "
                                   "(default: " + tasks.describe_defaults("tflite") + ")")
    distribution: str = option("none", choices=DISTRIBUTIONS, group="scale-out",
                               help="tf.distribute strategy for the Trainer (default: %(default)s)")
    #: Where the Trainer's hyperparameters come from, in words ("--tune", "--hyperparameters FILE"); "" for none.
    hyperparameters_source: str = ""
    #: Hash of every module run_fn imports (see pipeline/cache_keys.py); ``code_version`` covers Transform's.
    training_code_version: str = ""
    #: Task + class names + data source: a blessed model is a baseline only for models of the same lineage
    #: (components/baseline_resolver.py); set by the pipeline.
    lineage: str = ""

    def __post_init__(self) -> None:
        contract = tasks.get(self.task)
        if self.image_size is None and self.backbone in BACKBONE_IMAGE_SIZE:
            # Pretrained backbones see images at the size they learnt on, rounded down to the task's grid.
            size = BACKBONE_IMAGE_SIZE[self.backbone]
            self.image_size = size - size % contract.image_size_multiple
        for name, value in contract.defaults.as_dict().items():
            if hasattr(self, name) and getattr(self, name) is None:
                setattr(self, name, value)
        super().__post_init__()
        weights = self.weights if self.weights not in ("", "none", "None") else None
        if weights is not None and self.backbone == "resnet":
            raise ValueError(f"--weights {weights}: the small 'resnet' backbone is trained from scratch and has no "
                             "pretrained weights; choose --backbone squeezenet, mobilenet, mobilenet_v2, efficientnet_b0 or "
                             "resnet50, or leave out --weights")
        if weights == "imagenet" and self.backbone == "squeezenet":
            raise ValueError("--weights imagenet: Keras cannot download SqueezeNet; pass the local file "
                             "squeezenet_v1.1_weights_tf_dim_ordering_tf_kernels_notop.h5 (see the README)")
        if self.tflite not in TFLITE_MODES:
            raise ValueError(f"tflite must be one of {TFLITE_MODES}, got {self.tflite!r}")
        contract.check_tflite(self.tflite)
        if self.head_steps_fraction is not None and not 0 <= self.head_steps_fraction <= 1:
            raise ValueError(f"--head-steps-fraction must be within [0, 1], got {self.head_steps_fraction}")
        if self.backbone not in BACKBONES:
            raise ValueError(f"backbone must be one of {BACKBONES}, got {self.backbone!r}")
        if self.class_weights is not None and self.class_names and len(self.class_weights) != len(self.class_names):
            raise ValueError(
                f"--class-weights has {len(self.class_weights)} values for {len(self.class_names)} classes "
                f"({', '.join(self.class_names[:12])}{', ...' if len(self.class_names) > 12 else ''}): "
                "give one weight per class, in class-id order, or leave it out")
        if isinstance(self.augmentation, dict):
            self.augmentation = AugmentationConfig(**self.augmentation)

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    def transform_config(self) -> TransformConfig:
        """The part of this configuration that Transform sees."""
        return TransformConfig(**{f.name: getattr(self, f.name) for f in dataclasses.fields(TransformConfig)})
