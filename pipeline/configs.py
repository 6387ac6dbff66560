"""The single source of configuration for both runners.

One dataclass per concern, composed by :class:`PipelineConfig`:

==================  =====================================  ==============================
field               dataclass (home)                       what it decides
==================  =====================================  ==============================
``data``            :class:`ingest.config.DataConfig`      what to read, how to split it
``quality``         :class:`DataQualityConfig`             what counts as bad data
``trainer``         :class:`trainer.config.TrainerConfig`  Transform + Trainer settings
``steps``           :class:`TrainingLength`                TFX train/eval args
``blessing``        :class:`BlessingConfig`                what it takes to be pushed
``run``             :class:`RunConfig`                     where outputs go, Beam, cache
==================  =====================================  ==============================

Every field that users set carries its flag, default and help text
(:func:`common.options.option`); :func:`add_cli_flags` and :func:`from_cli`
derive the command line from them, so ``local_runner.py`` and
``kubeflow_runner.py`` accept the same flags and a pipeline compiled for
Kubeflow is the pipeline that was tried on a laptop.  This module imports no
TensorFlow, TFX or Beam: the runners' ``--help`` stays fast.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
from pathlib import Path
from typing import Dict, List, Optional, Sequence

from common import tasks
from common.options import add_flags, from_args, option
from common.tasks.contract import FeatureKeys
from pipeline import cache_keys
from ingest.config import DataConfig
from trainer.config import TrainerConfig

ROOT_DIR = Path(__file__).resolve().parent.parent

BEAM_HEAVY_COMPONENTS = ("ImageValidator", "StatisticsGen", "Transform", "Evaluator")
BLOCK_POLICIES = ("model-features", "all", "none")
LABEL_ISSUE_ACTIONS = ("warn", "stop")
#: Flag groups, in the order ``--help`` lists them.
FLAG_GROUPS = ("data", "image validation", "model", "tuning", "blessing", "output", "scale-out")


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


@dataclasses.dataclass
class DataQualityConfig:
    """What the ImageValidator, TFDV and the AnomalyGate treat as bad data."""

    #: Curated schema to import (ImportSchemaGen) instead of inferring one; see resolve_schema_file().
    schema_file: Optional[str] = option(
        None, flag="--schema", group="data",
        help="curated schema.pbtxt to validate against (default: schema/TASK/schema.pbtxt for the embedded "
             "data, inferred by SchemaGen for your own; create one with python -m reporting.schema_tool)")
    #: schema_file is a path inside the container image (Kubeflow), not on this machine.
    schema_in_image: bool = False
    max_bad_fraction: float = option(0.05, group="image validation", minimum=0, maximum=1,
                                     help="stop the run when more than this share of examples is quarantined "
                                          "(default: %(default)s)")
    #: An absolute floor, not a share of --image-size: smaller images are upsampled to the model input
    #: (CIFAR's 32-px photos at 224 are the anchor's own work); only a side too small to carry a
    #: picture at all is quarantined.
    min_image_size: int = option(8, group="image validation", minimum=1,
                                 help="quarantine images with a side below this many pixels; larger ones of any "
                                      "size are resized (upsampled) to --image-size (default: %(default)s)")
    max_aspect_ratio: float = option(4.0, group="image validation", minimum=1,
                                     help="quarantine images more elongated than this (default: %(default)s)")
    block_anomalies: str = option("model-features", choices=BLOCK_POLICIES, group="image validation",
                                  help="which TFDV anomalies stop the run before Transform: those in the "
                                       "image/label/mask (default), all, or none (reported only)")
    label_issues: str = option("warn", choices=LABEL_ISSUE_ACTIONS, group="image validation",
                               help="classification: suspected label errors (confident learning on out-of-sample "
                                    "probabilities, written to label_issues.csv) only warn (default), or stop "
                                    "the run before pushing when they exceed --max-label-issue-share")
    max_label_issue_share: float = option(0.05, group="image validation", minimum=0, maximum=1,
                                          help="with --label-issues stop: largest share of suspected label errors "
                                               "let through (default: %(default)s)")
    drift_threshold: float = option(0.1, group="image validation", minimum=0,
                                    help="distance (L-inf / JS divergence) above which the report flags drift or "
                                         "skew (default: %(default)s)")


@dataclasses.dataclass
class TrainingLength:
    """TFX's TrainArgs (not in the Trainer's custom_config: the Trainer reads it from fn_args, and Kubeflow
    takes it as a runtime parameter)."""

    #: None: the task's default (filled in by PipelineConfig).
    train_steps: Optional[int] = option(None, parse=int, task_default=True, group="model", minimum=1,
                                        help=lambda: "default: " + tasks.describe_defaults("train_steps"))


@dataclasses.dataclass
class TuningConfig:
    """TFX's Tuner in the DAG (``--tune``): how many trials, how long each trains."""

    tune: bool = option(False, group="tuning", store_true=True,
                        help="search hyperparameters with TFX's Tuner before training (learning rate, and per "
                             "task: flips, head-only vs fine-tuning, the Dice weight), scored on the validation "
                             "split carved from train; the Trainer then trains with the best")
    tune_trials: int = option(6, group="tuning", minimum=1, help="trials of the random search (default: %(default)s)")
    tune_steps: int = option(150, group="tuning", minimum=1,
                             help="training steps of each trial (default: %(default)s)")
    hyperparameters_file: Optional[str] = option(
        None, flag="--hyperparameters", group="tuning",
        help="train with saved hyperparameters instead of tuning: a JSON file as the Tuner writes it "
             "(best_hyperparameters.txt, e.g. from an earlier --tune run) or {\"learning_rate\": 0.001, ...}")

    def __post_init__(self) -> None:
        if self.tune and self.hyperparameters_file:
            raise ValueError("--tune and --hyperparameters: choose one (tune now, or train with saved values)")

    def custom_config(self) -> Dict[str, int]:
        return {"trials": self.tune_trials, "steps": self.tune_steps}


@dataclasses.dataclass
class BlessingConfig:
    """What the Evaluator measures and what it takes to be blessed and pushed."""

    min_accuracy: float = option(0.9, group="blessing",
                                 help="accuracy the model must reach to be blessed and pushed (default: %(default)s)")
    max_accuracy_drop: float = option(0.01, group="blessing",
                                      help="largest accuracy drop allowed against the last blessed model "
                                           "(default: %(default)s)")
    top_k: int = 3
    min_mean_iou: float = option(0.7, group="blessing",
                                 help="segmentation: mean IoU needed to be blessed and pushed (default: %(default)s)")
    max_mean_iou_drop: float = option(0.01, group="blessing",
                                      help="segmentation: largest mean-IoU drop against the last blessed model "
                                           "(default: %(default)s)")

    min_map: float = option(0.5, group="blessing",
                            help="detection: COCO mAP at IoU 0.5 needed to be blessed and pushed (default: %(default)s)")
    max_map_drop: float = option(0.01, group="blessing",
                                 help="detection: largest mAP@0.5 drop against the last blessed model "
                                      "(default: %(default)s)")

    def __post_init__(self) -> None:
        for name in ("min_accuracy", "max_accuracy_drop", "min_mean_iou", "max_mean_iou_drop", "min_map",
                     "max_map_drop"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"--{name.replace('_', '-')} {value:g}: must be between 0 and 1")


@dataclasses.dataclass
class RunConfig:
    """Where things go and how the Beam steps run."""

    output_dir: str = option("outputs", group="output",
                             help="pipeline root, ML Metadata, pushed models and reports go here (default: %(default)s)")
    #: Pushed models land in <serving_dir>/<version>; default <output_dir>/serving_model/<name>.
    serving_dir: Optional[str] = option(None, group="output",
                                        help="push destination (default: OUTPUT_DIR/serving_model/NAME)")
    pipeline_name: str = option("", group="output", help="default: image-TASK")
    enable_cache: bool = option(True, flag="--no-cache", store_false=True, group="output",
                                help="re-run every component even if its inputs are unchanged")
    #: Local DirectRunner parallelism: 1 = in-memory, >1 = that many worker processes.
    beam_workers: int = option(1, group="scale-out", minimum=1,
                               help="local DirectRunner worker processes (default: %(default)s = in-memory)")
    beam_args: List[str] = option(
        default_factory=list, flag="--beam-arg", repeat=True, metavar="ARG", group="scale-out",
        help="Beam pipeline arg for every Beam component, repeatable, e.g. --beam-arg=--runner=DataflowRunner "
             "--beam-arg=--project=P --beam-arg=--region=R --beam-arg=--temp_location=gs://B/tmp")
    component_beam_args: Dict[str, List[str]] = option(
        default_factory=dict, flag="--component-beam-arg", repeat=True, metavar="COMPONENT=ARG",
        parse=parse_component_beam_args, group="scale-out",
        help=f"Beam arg for one component ({', '.join(BEAM_HEAVY_COMPONENTS)}), repeatable, "
             "e.g. --component-beam-arg=Transform=--max_num_workers=50")


@dataclasses.dataclass
class PipelineConfig:
    """Everything that defines one pipeline run; defaults train on the embedded digits."""

    trainer: TrainerConfig = dataclasses.field(default_factory=TrainerConfig)
    data: DataConfig = dataclasses.field(default_factory=DataConfig)
    quality: DataQualityConfig = dataclasses.field(default_factory=DataQualityConfig)
    steps: TrainingLength = dataclasses.field(default_factory=TrainingLength)
    blessing: BlessingConfig = dataclasses.field(default_factory=BlessingConfig)
    tuning: TuningConfig = dataclasses.field(default_factory=TuningConfig)
    run: RunConfig = dataclasses.field(default_factory=RunConfig)

    def __post_init__(self) -> None:
        contract = tasks.get(self.trainer.task)  # an unknown task is refused here, by name
        if self.steps.train_steps is None:
            self.steps.train_steps = contract.defaults.train_steps
        if self.tuning.tune:
            self.trainer.hyperparameters_source = "--tune (TFX Tuner, scored on the validation split)"
        elif self.tuning.hyperparameters_file:
            self.trainer.hyperparameters_source = f"--hyperparameters {self.tuning.hyperparameters_file}"
        if self.data.path is None and contract.embedded_without_flips:
            # The embedded classes have a handedness (mirrored digits are other glyphs): no horizontal flips.
            self.trainer.augmentation.flip_left_right = False
            self.trainer.augmentation.flip_reason = (f"the embedded {contract.embedded_dataset} dataset: its "
                                                     "classes have a handedness")
        if not self.run.pipeline_name:
            self.run.pipeline_name = f"image-{self.trainer.task}"
        versions = cache_keys.code_versions()
        self.trainer.code_version = self.trainer.code_version or versions["Transform"]
        self.trainer.training_code_version = self.trainer.training_code_version or versions["Trainer"]
        self.code_versions = versions

    @property
    def task(self) -> str:
        return self.trainer.task

    @property
    def contract(self) -> tasks.TaskContract:
        """What this run's task is, as every layer sees it (common/tasks)."""
        return tasks.get(self.trainer.task)

    @property
    def feature_keys(self) -> FeatureKeys:
        trainer = self.trainer
        return FeatureKeys(image_key=trainer.image_key, label_key=trainer.label_key, mask_key=trainer.mask_key)

    @property
    def pipeline_name(self) -> str:
        return self.run.pipeline_name

    def beam_pipeline_args(self) -> List[str]:
        """DirectRunner settings first, then the user's args (which win for the same option)."""
        workers = self.run.beam_workers
        mode = "multi_processing" if workers > 1 else "in_memory"
        return [f"--direct_running_mode={mode}", f"--direct_num_workers={workers}", *self.run.beam_args]

    def model_features(self) -> List[str]:
        """The raw features the model reads: the image and the task's target."""
        return list(self.contract.model_features(self.feature_keys))

    def resolve_schema_file(self) -> Optional[str]:
        """The schema to import: --schema, else the curated one of the embedded dataset, else None (infer)."""
        schema_file = self.quality.schema_file
        if schema_file and self.quality.schema_in_image:
            return schema_file
        if schema_file:
            if "://" not in schema_file and not os.path.isfile(schema_file):
                raise FileNotFoundError(f"--schema {schema_file}: no such file")
            return schema_file if "://" in schema_file else os.path.abspath(schema_file)
        default = ROOT_DIR / "schema" / self.task / "schema.pbtxt"
        if self.data.path is None and default.is_file():
            return str(default)
        return None

    # Derived locations: one place decides the output layout.
    @property
    def pipeline_root(self) -> str:
        return os.path.join(self.run.output_dir, "pipeline_root", self.pipeline_name)

    @property
    def metadata_path(self) -> str:
        return os.path.join(self.run.output_dir, "metadata.sqlite")

    @property
    def serving_model_dir(self) -> str:
        return self.run.serving_dir or os.path.join(self.run.output_dir, "serving_model", self.pipeline_name)

    @property
    def reports_dir(self) -> str:
        return os.path.join(self.run.output_dir, "reports")

    @property
    def prepared_data_dir(self) -> str:
        return os.path.join(self.run.output_dir, "data")


#: Flags that were renamed: the old name is refused with the new one, not reported as unknown.
RENAMED_FLAGS = {"--eval-steps": ("--validation-batches", "it sizes the validation split carved from the "
                                  "training data, never the eval split that blesses")}


class _RenamedFlag(argparse.Action):
    def __call__(self, parser, namespace, values, option_string=None):
        new, why = RENAMED_FLAGS[option_string]
        parser.error(f"{option_string} is now {new} ({why}); use {new} {values}")


def add_cli_flags(parser: argparse.ArgumentParser) -> None:
    """Adds a flag for every user-settable field of :class:`PipelineConfig` (both runners use this)."""
    groups = {name: parser.add_argument_group(name) for name in FLAG_GROUPS}
    add_flags(parser, PipelineConfig, groups)
    for old in RENAMED_FLAGS:
        parser.add_argument(old, action=_RenamedFlag, help=argparse.SUPPRESS)
    # The older switch, kept: the same as --flips off.
    parser.add_argument("--no-flip", dest="flips", action="store_const", const="off", help="--flips off")


def from_cli(args: argparse.Namespace) -> PipelineConfig:
    """Builds the config from parsed flags (see :func:`add_cli_flags`).  Task-dependent defaults are filled in
    by the config classes themselves from the task contract, so the Python API and the CLI build equal configs."""
    return from_args(PipelineConfig, args)


def check_local_files(config: PipelineConfig) -> None:
    """Files a local run reads must exist now, not minutes later in the Trainer.

    Not for a Kubeflow compile: there the paths are read inside the container image.
    """
    weights = config.trainer.weights
    if weights and weights not in ("imagenet", "none", "None") and "://" not in weights \
            and not os.path.isfile(weights):
        raise ValueError(f"--weights {weights}: no such file; pass an existing .h5 weights file (see the README "
                         "for where each backbone's file comes from) or leave out --weights")
    if not config.quality.schema_in_image:
        config.resolve_schema_file()  # a missing --schema file is named now, before the data is prepared
    if config.tuning.hyperparameters_file:
        read_hyperparameters(config)


def read_hyperparameters(config: PipelineConfig) -> Dict[str, object]:
    """The values of ``--hyperparameters FILE``, checked against the Trainer's configuration now (a typo or a
    file from another task is named before anything runs, not in the Trainer)."""
    import json

    from trainer import tuning

    path = config.tuning.hyperparameters_file
    if not os.path.isfile(path):
        raise ValueError(f"--hyperparameters {path}: no such file")
    try:
        values = tuning.values_of(json.loads(Path(path).read_text()))
        tuning.apply(config.trainer, values)
    except (json.JSONDecodeError, ValueError, TypeError, AttributeError) as err:
        raise ValueError(f"--hyperparameters {path}: {err}; give the best_hyperparameters.txt a --tune run "
                         "wrote, or a JSON object of TrainerConfig fields") from None
    return values
