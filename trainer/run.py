"""TFX Trainer entry point (``trainer.run.run_fn``): two-phase transfer learning.

With pretrained weights the backbone first stays frozen while the new head
learns (a random head would otherwise wreck the pretrained features through
large early gradients), then its top part is unfrozen and trained on with a
lower learning rate.  Without pretrained weights there is nothing to protect:
one phase trains everything.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import time
from typing import Dict, List, Optional

import numpy as np
import tensorflow_transform as tft
from absl import logging

from common import names
from trainer import batchnorm, flip_check, frozen_features, inputs, linear_probe, tuning, signatures, tflite_export, validation_split
from trainer.backbones import resolve_weights
from trainer.config import TrainerConfig
from trainer.distribution import make_strategy
from trainer.keras_lib import keras, tf
from trainer.tasks.registry import get_task



@dataclasses.dataclass(frozen=True)
class Phase:
    """One stretch of training with a fixed set of trainable backbone layers."""

    name: str
    steps: int
    learning_rate: float
    #: Share of backbone layers (from the top) that train; 0 = frozen, 1 = all.
    trainable_fraction: float


def plan_phases(config: TrainerConfig, train_steps: int, pretrained: bool) -> List[Phase]:
    """Splits ``train_steps`` into the frozen-backbone (head) phase and the fine-tuning phase.

    ``--head-steps-fraction`` defaults to 0.5 with pretrained weights and to 0
    without (nothing to protect: one phase trains every layer); given
    explicitly it applies to both, so a run can follow another pipeline's
    schedule (TFX's CIFAR-10 example: 120 of 160 steps frozen, then the top
    10% of a random-init MobileNet).
    """
    if train_steps < 1:
        raise ValueError(f"train_steps must be positive, got {train_steps}")
    fraction = config.head_steps_fraction
    if fraction is None:
        fraction = 0.5 if pretrained else 0.0
    if fraction <= 0 and not pretrained:
        return [Phase("train", train_steps, config.learning_rate, 1.0)]
    head_steps = min(train_steps, max(1, int(round(train_steps * fraction))))
    phases = [Phase("head", head_steps, config.learning_rate, 0.0)]
    if train_steps - head_steps > 0 and config.fine_tune_fraction > 0:
        phases.append(
            Phase("fine_tune", train_steps - head_steps, config.fine_tune_learning_rate, config.fine_tune_fraction)
        )
    return phases


def set_trainable(backbone: keras.Model, fraction: float, keep_batchnorm_frozen: bool) -> int:
    """Unfreezes the top ``fraction`` of the backbone's layers; returns how many train.

    BatchNorm layers of a pretrained backbone stay frozen while fine-tuning:
    re-estimating their statistics from small batches undoes pretraining.
    """
    layers = backbone.layers
    if fraction <= 0:
        backbone.trainable = False
        return 0
    backbone.trainable = True
    first = len(layers) - int(math.ceil(len(layers) * min(fraction, 1.0)))
    count = 0
    for index, layer in enumerate(layers):
        train = index >= first and not (
            keep_batchnorm_frozen and isinstance(layer, keras.layers.BatchNormalization)
        )
        layer.trainable = train
        count += int(train)
    return count


class StopAfterSteps(keras.callbacks.Callback):
    """Stops ``fit`` after exactly ``steps`` batches, so ``--train-steps N`` trains N steps, not whole epochs."""

    def __init__(self, steps: int):
        super().__init__()
        self.steps = steps
        self.done = 0

    def on_train_batch_end(self, batch, logs=None):
        self.done += 1
        if self.done >= self.steps:
            self.model.stop_training = True


class EpochLog(keras.callbacks.Callback):
    """Each epoch's losses and metrics to the run's log file (the console shows progress, not Keras lines)."""

    def __init__(self, phase: str):
        super().__init__()
        self.phase = phase

    def on_epoch_end(self, epoch, logs=None):
        logging.info("phase %s epoch %d: %s", self.phase, epoch + 1,
                     ", ".join(f"{k} {v:.4f}" for k, v in sorted((logs or {}).items())))


class TrainingSpeed(keras.callbacks.Callback):
    """Training images per second: the time inside training steps, input waits included, validation not.

    The first step of a phase is left out (it traces and compiles the step
    function), so the figure is the steady rate a longer run would see.
    """

    def __init__(self, batch_size: int):
        super().__init__()
        self.batch_size = batch_size
        self.steps = 0
        self.seconds = 0.0
        self._started = None

    def on_train_batch_begin(self, batch, logs=None):
        self._started = time.perf_counter()

    def on_train_batch_end(self, batch, logs=None):
        elapsed = time.perf_counter() - self._started
        self.steps += 1
        if self.steps > 1:
            self.seconds += elapsed

    def result(self) -> Dict[str, float]:
        timed = max(self.steps - 1, 0)
        return {"steps": self.steps, "timed_steps": timed, "seconds": round(self.seconds, 3),
                "images_per_second": round(timed * self.batch_size / self.seconds, 1) if self.seconds else None}


def seed_everything(seed: int) -> None:
    """Python, NumPy and TensorFlow seeds, and deterministic TensorFlow ops where TensorFlow offers them."""
    keras.utils.set_random_seed(seed)
    tf.config.experimental.enable_op_determinism()


def _learning_rate(phase: Phase):
    """Cosine decay over the phase: a calm end without a plateau scheduler."""
    return keras.optimizers.schedules.CosineDecay(phase.learning_rate, decay_steps=phase.steps, alpha=0.05)


@dataclasses.dataclass
class Training:
    """What every step of one training reads — the Trainer's run or a Tuner trial: its arguments,
    configuration, task and validation plan."""

    fn_args: object
    config: TrainerConfig
    task: object
    tf_transform_output: object
    plan: object

    def dataset(self, role: str, config: TrainerConfig = None):
        return inputs.make_dataset(self.fn_args.train_files, self.fn_args.data_accessor, self.tf_transform_output,
                                   config or self.config, role, self.plan)

    def training_stream(self, flip: bool):
        """The augmented training stream, with the horizontal-flip decision filled in."""
        return self.dataset(inputs.TRAIN, flip_check.with_flips(self.config, flip))

    def record(self, filename: str, values: dict, sort_keys: bool = True) -> None:
        """A JSON file in the Trainer's model_run artifact (the run summary and the model card read them)."""
        _write_json(os.path.join(self.fn_args.model_run_dir, filename), values, sort_keys=sort_keys)


@dataclasses.dataclass
class Trained:
    """A trained model and what its training decided and measured."""

    model: object
    train_ds: object
    validation_ds: object
    flips: flip_check.FlipDecision
    probe: Optional[linear_probe.ProbeOutcome]
    speeds: Dict[str, dict]


def run_fn(fn_args) -> None:
    """Trains (with the Tuner's best hyperparameters, when it ran), then exports a SavedModel with raw-bytes
    and tf.Example signatures."""
    config = TrainerConfig.from_dict(fn_args.custom_config)
    tuned = tuning.values_of(getattr(fn_args, "hyperparameters", None))
    config = tuning.apply(config, tuned)
    if "augmentation.flip_left_right" in tuned and config.augmentation.flip_left_right is not None:
        config.augmentation.flip_reason = "chosen by --tune"
    seed_everything(config.seed)
    run = start(fn_args, config)
    run.record(names.TRAINING_SPLITS_FILENAME, {**run.plan.counts(), "train_steps": fn_args.train_steps,
                                                "seed": config.seed})
    run.record(names.HYPERPARAMETERS_FILENAME, {"tuned": bool(tuned), "source": config.hyperparameters_source,
                                                "values": tuned,
                                                "applied": tuning.read_back(config, tuned)})
    trained = train(run, fn_args.train_steps)
    if trained.probe is not None:
        run.record(names.LINEAR_PROBE_FILENAME, trained.probe.to_dict())
    run.record(names.AUGMENTATION_FILENAME, {
        "augmentation": config.augmentation.describe(config.resize_policy, False, with_flips=False),
        "flips": trained.flips.to_dict()})
    run.record(names.TRAINING_SPEED_FILENAME, {"batch_size": config.batch_size, "image_size": config.image_size,
                                               "phases": trained.speeds}, sort_keys=False)  # in training order
    _write_augmented_samples(run, trained.train_ds)
    _export(run, trained.model, trained.validation_ds if run.plan.validation_count else trained.train_ds)


def train(run: "Training", train_steps: int) -> Trained:
    """Builds the task's model and trains it for ``train_steps`` (the Trainer's run and each Tuner trial)."""
    config = run.config
    # --flips auto on a task where mirroring may change the class: the first epoch trains without flips, then
    # the model decides (trainer/flip_check.py); otherwise the decision is known now.
    flips = None if flip_check.needs_data(config) else flip_check.without_data(config)
    train_ds = run.training_stream(flips.flips if flips else False)
    validation_ds = run.dataset(inputs.VALIDATION)
    strategy = make_strategy(config.distribution)
    with strategy.scope():
        model, backbone = run.task.build_model(config)
    pretrained = resolve_weights(config.weights) is not None
    phases = plan_phases(config, train_steps, pretrained)
    if not pretrained and phases[0].trainable_fraction <= 0:
        used = batchnorm.recalibrate(model, backbone, run.dataset(inputs.TRAIN_ONCE))
        logging.info("BatchNorm statistics of the untrained backbone estimated from %d training batches", used)
    probe = None
    if pretrained and run.task.probe_layer:
        probe, probe_weights, probe_features = _start_from_probe(run, model, validation_ds)
    speeds = {}
    for phase in phases:
        speeds[phase.name], flips, train_ds = _train_phase(run, phase, model, backbone, strategy, pretrained,
                                                           (train_ds, validation_ds), flips)
    if probe is not None:
        probe = linear_probe.keep_better(probe, linear_probe.predictions_accuracy(model, validation_ds),
                                         restore=lambda: _restore_probe(run, model, probe_weights, probe_features))
        logging.info("linear probe: kept the %s model (%s)", probe.kept, probe.reason)
    if flips is None:  # every phase trained on stored features: nothing was augmented
        flips = flip_check.FlipDecision(False, "flag", "no phase augmented its images")
    return Trained(model, train_ds, validation_ds, flips, probe, speeds)


def start(fn_args, config: TrainerConfig) -> "Training":
    """The validation plan: the eval split (fn_args.eval_files) is the Evaluator's, so model selection (early
    stopping, the flip decision, the probe, the Tuner's objective) uses a share of train."""
    # transform_graph_path: both the Trainer and the Tuner set it (transform_output is the Trainer's old name).
    tf_transform_output = tft.TFTransformOutput(fn_args.transform_graph_path or fn_args.transform_output)
    task = get_task(config.task)
    plan = validation_split.plan(
        fn_args.train_files, fn_args.data_accessor, tf_transform_output.transformed_metadata.schema,
        task.stratum_key, config.validation_fraction, max_examples=config.validation_batches * config.batch_size)
    logging.info("examples: %d train, %d validation (carved from train for early stopping)",
                 plan.train_count, plan.validation_count)
    return Training(fn_args, config, task, tf_transform_output, plan)


def _train_phase(run: Training, phase: Phase, model, backbone, strategy, pretrained: bool, datasets, flips):
    """Fits one phase; returns (its speed record, the flip decision, the training stream now in use).

    The phase that first augments decides ``--flips auto``: one epoch without flips, the decision, then the
    rest of the phase on a stream with the decided flips (the same optimizer and schedule go on)."""
    config, (train_ds, validation_ds) = run.config, datasets
    with strategy.scope():
        trainable = set_trainable(backbone, phase.trainable_fraction, keep_batchnorm_frozen=pretrained)
    fit_model, fit_train, fit_validation, on_features = model, train_ds, validation_ds, False
    if frozen_features.applies(config, model, run.task.embedding_layer, phase.trainable_fraction,
                               strategy.num_replicas_in_sync, run.plan.train_count + run.plan.validation_count):
        fit_model, fit_train, fit_validation = _on_stored_features(model, run)
        on_features = True
    with strategy.scope():
        run.task.compile(fit_model, _learning_rate(phase), config)
    steps_per_epoch = min(config.steps_per_epoch, phase.steps)
    epochs = int(math.ceil(phase.steps / steps_per_epoch))
    logging.info("phase %s: %d steps (%d epochs), lr %g, %d/%d backbone layers trainable, %d replica(s)%s",
                 phase.name, phase.steps, epochs, phase.learning_rate, trainable, len(backbone.layers),
                 strategy.num_replicas_in_sync, ", on backbone features computed once" if on_features else "")
    speed, stopper = TrainingSpeed(config.batch_size), StopAfterSteps(phase.steps)
    fit_args = dict(steps_per_epoch=steps_per_epoch,
                    validation_data=fit_validation if run.plan.validation_count else None,
                    callbacks=_callbacks(run, phase, stopper, speed), verbose=0)
    first_epoch = 0
    if flips is None and not on_features:
        fit_model.fit(fit_train, epochs=1, **fit_args)
        flips = _decide_flips(model, validation_ds, config)
        fit_train = train_ds = run.training_stream(flips.flips)
        first_epoch = 1
    if stopper.done < phase.steps and first_epoch < epochs:
        fit_model.fit(fit_train, initial_epoch=first_epoch, epochs=epochs, **fit_args)
    record = {**speed.result(), "planned_steps": phase.steps, "stored_features": on_features}
    logging.info("phase %s: %d of %d steps, %s training images/s", phase.name, speed.steps, phase.steps,
                 record["images_per_second"])
    return record, flips, train_ds


def _callbacks(run: Training, phase: Phase, stopper, speed) -> list:
    early_stopping = ([keras.callbacks.EarlyStopping(monitor="val_loss", patience=run.config.early_stopping_patience,
                                                     restore_best_weights=True)]
                      if run.plan.validation_count else [])
    # TensorBoard logs go to the Trainer's model_run artifact (a Tuner trial has none).
    log_dir = getattr(run.fn_args, "model_run_dir", None)
    tensorboard = [keras.callbacks.TensorBoard(log_dir=log_dir, update_freq="epoch")] if log_dir else []
    return [stopper, speed, EpochLog(phase.name), *early_stopping, *tensorboard]


def _export(run: Training, model, calibration_ds) -> None:
    """The SavedModel with its signatures, then the TFLite files (int8 calibrated on ``calibration_ds``)."""
    config, serving_dir = run.config, run.fn_args.serving_model_dir
    started = time.perf_counter()
    signatures.export_model(model, run.tf_transform_output, config, serving_dir)
    logging.info("SavedModel exported in %.1f s", time.perf_counter() - started)
    if config.tflite != "none":
        representative = _representative_images(calibration_ds) if config.tflite == "int8" else None
        written = tflite_export.export_tflite(model, config, serving_dir, representative, from_saved_model=True)
        logging.info("TFLite: %s (%.1f s with the SavedModel)", ", ".join(sorted(written.values())),
                     time.perf_counter() - started)


#: Augmented training images written for the report.
AUGMENTED_SAMPLES = 8


def _write_augmented_samples(run: Training, train_ds) -> None:
    """A few images of the training stream exactly as the model saw them (augmented, flips as decided), so a
    user can see what the augmentation does to their images."""
    folder = os.path.join(run.fn_args.model_run_dir, names.AUGMENTED_SAMPLES_DIRNAME)
    tf.io.gfile.makedirs(folder)
    for images, _ in train_ds.take(1):
        for index, image in enumerate(images[:AUGMENTED_SAMPLES]):
            pixels = tf.cast(tf.clip_by_value(tf.round(image), 0, 255), tf.uint8)
            tf.io.write_file(os.path.join(folder, f"{index}.png"), tf.io.encode_png(pixels))


def _start_from_probe(run: Training, model, validation_ds):
    """Fits the linear probe on the frozen backbone's features of the training split, writes it into the
    softmax layer and returns ``(outcome so far, the model's weights as the probe, the features it saw)``."""
    started = time.perf_counter()
    layer = run.task.embedding_layer
    train = frozen_features.extract(model, layer, run.dataset(inputs.TRAIN_ONCE))
    validation = frozen_features.extract(model, layer, validation_ds)
    weights, bias = linear_probe.fit(*train, run.config.num_classes, run.config.seed)
    linear_probe.install(model, run.task.probe_layer, weights, bias)
    outcome = linear_probe.ProbeOutcome(linear_probe.accuracy(*validation, weights, bias))
    logging.info("linear probe on the frozen backbone: validation accuracy %s (%d training, %d validation "
                 "images, %.1f s); training starts from it", outcome.probe_validation_accuracy, len(train[1]),
                 len(validation[1]), time.perf_counter() - started)
    return outcome, model.get_weights(), (train, validation)


def _restore_probe(run: Training, model, weights, features) -> None:
    """The probe is the model: its weights come back, refitted on every training example (the validation
    split has done its job of choosing), as a probe fitted on the whole training split would be."""
    (train_x, train_y), (validation_x, validation_y) = features
    model.set_weights(weights)
    refit = linear_probe.fit(np.concatenate([train_x, validation_x]), np.concatenate([train_y, validation_y]),
                             run.config.num_classes, run.config.seed)
    linear_probe.install(model, run.task.probe_layer, *refit)


def _decide_flips(model, validation_ds, config: TrainerConfig) -> "flip_check.FlipDecision":
    """After the first epoch without flips: the model scores the validation split as it is and mirrored."""
    accuracy, mirrored, images = flip_check.mirrored_accuracies(model, validation_ds)
    decision = flip_check.decide(accuracy, mirrored, config.num_classes, images)
    logging.info("augmentation: %s", decision.describe())
    return decision


def _on_stored_features(model, run: Training):
    """(head model, training stream, validation batches) on backbone features computed once per image."""
    started = time.perf_counter()
    layer, config = run.task.embedding_layer, run.config
    train = frozen_features.extract(model, layer, run.dataset(inputs.TRAIN_ONCE))
    validation = frozen_features.extract(model, layer, run.dataset(inputs.VALIDATION))
    logging.info("backbone features of %d training and %d validation images computed once in %.1f s",
                 len(train[1]), len(validation[1]), time.perf_counter() - started)
    return (frozen_features.head_model(model, layer), frozen_features.training_dataset(*train, config),
            frozen_features.validation_dataset(*validation, config))


def _representative_images(dataset, limit: int = 200):
    """int8 calibration: up to ``limit`` training-split images, one ``[1, S, S, 3]`` array at a time."""
    def generate():
        count = 0
        for images, _ in dataset:
            for image in images.numpy():
                if count >= limit:
                    return
                count += 1
                yield image[None]
    return generate


def _write_json(path: str, values: dict, sort_keys: bool = True) -> None:
    tf.io.gfile.makedirs(os.path.dirname(path))
    with tf.io.gfile.GFile(path, "w") as handle:
        handle.write(json.dumps(values, indent=1, sort_keys=sort_keys))
