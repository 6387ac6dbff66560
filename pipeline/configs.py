"""The single source of configuration for both runners.

``local_runner.py`` and ``kubeflow_runner.py`` build a :class:`PipelineConfig`
from the same defaults and the same command-line flags (:func:`add_cli_flags`
/ :func:`from_cli`), so a pipeline compiled for Kubeflow is the pipeline that
was tried on a laptop.  Training hyper-parameters live in the embedded
:class:`trainer.task_config.TrainerConfig`, which travels to Transform and the
Trainer as ``custom_config``.
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import os
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence

# Keras 2 (tf_keras) everywhere: TFX 1.16's Transform/Trainer/TFMA stack needs
# Keras-2 SavedModels.  Set before anything imports TensorFlow.
os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")

from trainer.task_config import BACKBONES, AugmentationConfig, TrainerConfig  # noqa: E402

TASKS = ("classification", "segmentation")
#: Defaults that differ by task (used where the user gives no value).
TASK_DEFAULTS: Dict[str, Dict[str, Any]] = {
    "classification": {"image_size": 32, "batch_size": 32, "train_steps": 500, "learning_rate": 2e-3},
    "segmentation": {"image_size": 64, "batch_size": 16, "train_steps": 600, "learning_rate": 2e-3},
}
BEAM_HEAVY_COMPONENTS = ("ImageValidator", "StatisticsGen", "Transform", "Evaluator")


def code_version() -> str:
    """Hash of the trainer package's sources (see ``TrainerConfig.code_version``)."""
    digest = hashlib.sha256()
    for path in sorted((Path(__file__).resolve().parent.parent / "trainer").glob("*.py")):
        if not path.name.endswith("_test.py"):
            digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:16]


@dataclasses.dataclass
class PipelineConfig:
    """Everything that defines one pipeline run; defaults train on the embedded digits."""

    trainer: TrainerConfig = dataclasses.field(default_factory=TrainerConfig)
    pipeline_name: str = ""  # derived from the task when empty

    # --- data -------------------------------------------------------------
    #: Class-per-folder image dir, CSV manifest or TFRecord dir; None = embedded digits.
    data: Optional[str] = None
    eval_fraction: float = 0.2
    split_seed: int = 0

    #: Curated schema to import (ImportSchemaGen) instead of inferring one; see resolve_schema_file().
    schema_file: Optional[str] = None
    #: schema_file is a path inside the container image (Kubeflow), not on this machine.
    schema_in_image: bool = False

    #: Which ExampleValidator anomalies stop the run before Transform: model-features | all | none.
    block_anomalies: str = "model-features"

    #: Label / image-statistic distance (train vs previous run, train vs eval) flagged in the report.
    drift_threshold: float = 0.1

    # --- image validation (components/image_validator) -------------------------
    #: The run stops when more than this share of examples is quarantined.
    max_bad_fraction: float = 0.05
    #: Images with a side below this are quarantined (0: a quarter of image_size).
    min_image_size: int = 0
    #: Images longer than this many times their width (or vice versa) are quarantined.
    max_aspect_ratio: float = 4.0

    # --- training length (TFX train_args / eval_args) ------------------------
    train_steps: int = 500
    eval_steps: int = 20

    # --- evaluation / blessing ---------------------------------------------
    #: Blessing needs at least this accuracy on the eval split.
    min_accuracy: float = 0.9
    #: ... and at most this drop in accuracy against the last blessed model.
    max_accuracy_drop: float = 0.01
    top_k: int = 3
    #: Segmentation: blessing needs at least this mean IoU ...
    min_mean_iou: float = 0.7
    #: ... and at most this drop in mean IoU against the last blessed model.
    max_mean_iou_drop: float = 0.01
    #: Segmentation data prep: stored mask value -> class id, e.g. "0:0,255:1" (None: values are ids).
    mask_values: Optional[str] = None

    # --- where things go ------------------------------------------------------
    output_dir: str = "outputs"
    #: Pushed models land in <serving_dir>/<version>; default <output_dir>/serving_model/<name>.
    serving_dir: Optional[str] = None
    enable_cache: bool = True
    #: Local DirectRunner parallelism: 1 = in-memory, >1 = that many worker processes.
    beam_workers: int = 1
    #: Extra Beam pipeline args for every Beam component (e.g. --runner=DataflowRunner --project=...).
    beam_args: List[str] = dataclasses.field(default_factory=list)
    #: Beam args for single components (node id -> args), e.g. more workers for Transform.
    component_beam_args: Dict[str, List[str]] = dataclasses.field(default_factory=dict)

    def beam_pipeline_args(self) -> List[str]:
        """DirectRunner settings first, then the user's args (which win for the same option)."""
        mode = "multi_processing" if self.beam_workers > 1 else "in_memory"
        return [f"--direct_running_mode={mode}", f"--direct_num_workers={self.beam_workers}", *self.beam_args]

    def __post_init__(self) -> None:
        if self.trainer.task not in TASKS:
            raise ValueError(f"task must be one of {TASKS}, got {self.trainer.task!r}")
        if not self.pipeline_name:
            self.pipeline_name = f"image-{self.trainer.task}"
        if not self.trainer.code_version:
            self.trainer.code_version = code_version()

    @property
    def task(self) -> str:
        return self.trainer.task

    def resolve_schema_file(self) -> Optional[str]:
        """The schema to import: --schema, else the curated one of the embedded dataset, else None (infer)."""
        if self.schema_file and self.schema_in_image:
            return self.schema_file
        if self.schema_file:
            if "://" not in self.schema_file and not os.path.isfile(self.schema_file):
                raise FileNotFoundError(f"--schema {self.schema_file}: no such file")
            return self.schema_file if "://" in self.schema_file else os.path.abspath(self.schema_file)
        default = Path(__file__).resolve().parent.parent / "schema" / self.task / "schema.pbtxt"
        if self.data is None and default.is_file():
            return str(default)
        return None

    # Derived locations: one place decides the output layout.
    @property
    def pipeline_root(self) -> str:
        return os.path.join(self.output_dir, "pipeline_root", self.pipeline_name)

    @property
    def metadata_path(self) -> str:
        return os.path.join(self.output_dir, "metadata.sqlite")

    @property
    def serving_model_dir(self) -> str:
        return self.serving_dir or os.path.join(self.output_dir, "serving_model", self.pipeline_name)

    @property
    def reports_dir(self) -> str:
        return os.path.join(self.output_dir, "reports")

    @property
    def prepared_data_dir(self) -> str:
        return os.path.join(self.output_dir, "data")


def add_cli_flags(parser: argparse.ArgumentParser) -> None:
    """Flags shared by both runners; every one maps to a config field."""
    d, t = PipelineConfig(), TrainerConfig()
    g = parser.add_argument_group("data")
    g.add_argument("--task", choices=TASKS, default=t.task, help="what to train (default: %(default)s)")
    g.add_argument("--data", default=None, help="class-per-folder image directory, CSV manifest (path,label) or "
                   "directory of TFRecords (optionally with train/ and eval|test|val/ sub-folders); "
                   "default: the embedded scikit-learn digits")
    g.add_argument("--image-key", default=t.image_key, help="image feature name in TFRecords (default: %(default)s)")
    g.add_argument("--label-key", default=t.label_key, help="label feature name in TFRecords (default: %(default)s)")
    g.add_argument("--labels", default=None, help="text file with one class name per line (line = class id); "
                   "default: labels.txt next to the data")
    g.add_argument("--mask-values", default=None,
                   help="segmentation: stored mask value -> class id, e.g. 0:0,255:1 (default: values are class ids)")
    g.add_argument("--schema", default=None,
                   help="curated schema.pbtxt to validate against (default: schema/TASK/schema.pbtxt for the "
                        "embedded data, inferred by SchemaGen for your own; create one with python -m pipeline.schema_tool)")
    g.add_argument("--eval-fraction", type=float, default=d.eval_fraction,
                   help="share of each class held out for evaluation when the data has no split (default: %(default)s)")
    g = parser.add_argument_group("image validation")
    g.add_argument("--max-bad-fraction", type=float, default=d.max_bad_fraction,
                   help="stop the run when more than this share of examples is quarantined (default: %(default)s)")
    g.add_argument("--min-image-size", type=int, default=d.min_image_size,
                   help="quarantine images with a side below this many pixels (default: a quarter of --image-size)")
    g.add_argument("--max-aspect-ratio", type=float, default=d.max_aspect_ratio,
                   help="quarantine images more elongated than this (default: %(default)s)")
    g.add_argument("--block-anomalies", choices=("model-features", "all", "none"), default=d.block_anomalies,
                   help="which TFDV anomalies stop the run before Transform: those in the image/label/mask "
                        "(default), all, or none (reported only)")
    g.add_argument("--drift-threshold", type=float, default=d.drift_threshold,
                   help="distance (L-inf / JS divergence) above which the report flags drift or skew (default: %(default)s)")
    g = parser.add_argument_group("model")
    g.add_argument("--image-size", type=int, default=None,
                   help="square model input size in pixels (default: 32 classification, 64 segmentation)")
    g.add_argument("--backbone", choices=BACKBONES, default=t.backbone, help="default: %(default)s")
    g.add_argument("--weights", default=t.weights,
                   help="backbone weights: 'imagenet' (downloads), a local .h5 file, or omit for random init")
    g.add_argument("--train-steps", type=int, default=None, help="default: 500 classification, 600 segmentation")
    g.add_argument("--eval-steps", type=int, default=d.eval_steps, help="validation steps per epoch (default: %(default)s)")
    g.add_argument("--batch-size", type=int, default=None, help="default: 32 classification, 16 segmentation")
    g.add_argument("--learning-rate", type=float, default=None, help="default: 0.002")
    g.add_argument("--dice-weight", type=float, default=t.dice_weight,
                   help="segmentation: weight of the soft-Dice loss term added to cross-entropy (default: %(default)s)")
    g.add_argument("--class-weights", default=None,
                   help="segmentation: comma-separated per-class loss weights for imbalanced classes")
    g.add_argument("--no-augmentation", action="store_true", help="train without on-the-fly augmentation")
    g.add_argument("--no-flip", action="store_true", help="no horizontal flips (e.g. for digits or text)")
    g = parser.add_argument_group("blessing")
    g.add_argument("--min-accuracy", type=float, default=d.min_accuracy,
                   help="accuracy the model must reach to be blessed and pushed (default: %(default)s)")
    g.add_argument("--max-accuracy-drop", type=float, default=d.max_accuracy_drop,
                   help="largest accuracy drop allowed against the last blessed model (default: %(default)s)")
    g.add_argument("--min-mean-iou", type=float, default=d.min_mean_iou,
                   help="segmentation: mean IoU needed to be blessed and pushed (default: %(default)s)")
    g.add_argument("--max-mean-iou-drop", type=float, default=d.max_mean_iou_drop,
                   help="segmentation: largest mean-IoU drop against the last blessed model (default: %(default)s)")
    g = parser.add_argument_group("output")
    g.add_argument("--output-dir", default=d.output_dir,
                   help="pipeline root, ML Metadata, pushed models and reports go here (default: %(default)s)")
    g.add_argument("--serving-dir", default=None, help="push destination (default: OUTPUT_DIR/serving_model/NAME)")
    g.add_argument("--pipeline-name", default="", help="default: image-TASK")
    g.add_argument("--no-cache", action="store_true", help="re-run every component even if its inputs are unchanged")
    g = parser.add_argument_group("scale-out")
    g.add_argument("--beam-workers", type=int, default=d.beam_workers,
                   help="local DirectRunner worker processes (default: %(default)s = in-memory)")
    g.add_argument("--beam-arg", action="append", default=None, metavar="ARG",
                   help="Beam pipeline arg for every Beam component, repeatable, e.g. --beam-arg=--runner=DataflowRunner "
                        "--beam-arg=--project=P --beam-arg=--region=R --beam-arg=--temp_location=gs://B/tmp")
    g.add_argument("--component-beam-arg", action="append", default=None, metavar="COMPONENT=ARG",
                   help=f"Beam arg for one component ({', '.join(BEAM_HEAVY_COMPONENTS)}), repeatable, "
                        "e.g. --component-beam-arg=Transform=--max_num_workers=50")
    g.add_argument("--distribution", choices=("none", "mirrored", "multi_worker_mirrored"), default=t.distribution,
                   help="tf.distribute strategy for the Trainer (default: %(default)s)")


def parse_component_beam_args(items: Sequence[str]) -> Dict[str, List[str]]:
    """``["Transform=--num_workers=4", ...]`` -> ``{"Transform": ["--num_workers=4"], ...}``."""
    result: Dict[str, List[str]] = {}
    for item in items:
        component, sep, arg = item.partition("=")
        if not sep or not arg.startswith("--"):
            raise ValueError(f"--component-beam-arg {item!r} is not COMPONENT=--beam_option=value")
        if component not in BEAM_HEAVY_COMPONENTS:
            raise ValueError(f"--component-beam-arg: {component!r} is not one of {BEAM_HEAVY_COMPONENTS}")
        result.setdefault(component, []).append(arg)
    return result


def read_labels_file(path: str) -> List[str]:
    """One class name per line, line number = class id."""
    with open(path, encoding="utf-8") as handle:
        names = [line.strip() for line in handle if line.strip()]
    if not names:
        raise ValueError(f"{path}: labels file is empty; expected one class name per line.")
    return names


def from_cli(args: argparse.Namespace) -> PipelineConfig:
    """Builds the config from parsed flags (see :func:`add_cli_flags`)."""
    task_defaults = TASK_DEFAULTS[args.task]

    def pick(name: str):
        value = getattr(args, name)
        return task_defaults[name] if value is None else value

    trainer = TrainerConfig(
        task=args.task,
        image_key=args.image_key,
        label_key=args.label_key,
        class_names=read_labels_file(args.labels) if args.labels else [],
        image_size=pick("image_size"),
        backbone=args.backbone,
        weights=args.weights,
        batch_size=pick("batch_size"),
        learning_rate=pick("learning_rate"),
        dice_weight=args.dice_weight,
        distribution=args.distribution,
        class_weights=[float(w) for w in args.class_weights.split(",")] if args.class_weights else None,
        augmentation=AugmentationConfig(enabled=not args.no_augmentation, flip_left_right=not args.no_flip),
    )
    return PipelineConfig(
        trainer=trainer,
        pipeline_name=args.pipeline_name,
        data=args.data,
        eval_fraction=args.eval_fraction,
        train_steps=pick("train_steps"),
        eval_steps=args.eval_steps,
        min_accuracy=args.min_accuracy,
        max_accuracy_drop=args.max_accuracy_drop,
        min_mean_iou=args.min_mean_iou,
        max_mean_iou_drop=args.max_mean_iou_drop,
        mask_values=args.mask_values,
        schema_file=args.schema,
        block_anomalies=args.block_anomalies,
        drift_threshold=args.drift_threshold,
        max_bad_fraction=args.max_bad_fraction,
        min_image_size=args.min_image_size,
        max_aspect_ratio=args.max_aspect_ratio,
        output_dir=args.output_dir,
        serving_dir=args.serving_dir,
        enable_cache=not args.no_cache,
        beam_workers=args.beam_workers,
        beam_args=list(args.beam_arg or []),
        component_beam_args=parse_component_beam_args(args.component_beam_arg or []),
    )


def parse_flags(argv: Optional[Sequence[str]], description: str) -> PipelineConfig:
    parser = argparse.ArgumentParser(description=description)
    add_cli_flags(parser)
    return from_cli(parser.parse_args(argv))
