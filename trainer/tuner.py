"""TFX's Tuner for this pipeline: ``trainer.tuner.tuner_fn``, KerasTuner's oracle, our own training per trial.

Why not KerasTuner's ``Tuner``: keras-tuner 1.4.8 builds and fits multi-backend Keras 3 models and refuses the
tf_keras (Keras 2) models TFX 1.16 needs (keras-tuner#1039).  Its ``BaseTuner`` with ``run_trial`` overridden
needs no Keras model at all: the oracle proposes values (random search, seeded), each trial trains the task's
model with them through the Trainer's own ``train`` on the training split for ``--tune-steps`` steps, and
the task's objective (``Task.tuning_objective``: validation accuracy, mean IoU, or the loss where no tuned
setting changes it) is measured on the validation split carved from train — never the eval split that blesses.  TFX's Tuner
executor then writes the best values, which the Trainer applies (``trainer.tuning``).
"""

from __future__ import annotations

import os
from typing import Any, Dict

from absl import logging

from common import names
from trainer import run as training
from trainer import tuning
from trainer.backbones import resolve_weights
from trainer.config import TrainerConfig
from trainer.tasks.registry import get_task



def search_space(task, config: TrainerConfig):
    """KerasTuner HyperParameters from the task's search space (each a Choice over its values)."""
    import keras_tuner

    space = keras_tuner.HyperParameters()
    for name, values in task.search_space(config, resolve_weights(config.weights) is not None).items():
        space.Choice(name, values, ordered=False, default=values[0])
    return space


def objective(config: TrainerConfig):
    """The task's objective on the validation split (``Task.tuning_objective``)."""
    import keras_tuner

    return keras_tuner.Objective(*get_task(config.task).tuning_objective)


def _oracle(config: TrainerConfig, space, trials: int):
    """Random search (seeded) whose first trial is the configuration's own values: the baseline."""
    import keras_tuner
    from keras_tuner.engine import trial as trial_module

    class DefaultsFirst(keras_tuner.oracles.RandomSearchOracle):
        def populate_space(self, trial_id):
            if not self.trials:
                return {"status": trial_module.TrialStatus.RUNNING, "values": self.hyperparameters.values}
            return super().populate_space(trial_id)

    return DefaultsFirst(objective=objective(config), max_trials=trials, hyperparameters=space, seed=config.seed)


def _tuner_class():
    from keras_tuner.engine import base_tuner

    class ImageTuner(base_tuner.BaseTuner):
        """Each trial: the Trainer's training with the trial's values, scored on the validation split."""

        def __init__(self, run: "training.Training", steps: int, **kwargs):
            super().__init__(**kwargs)
            self._run, self._steps = run, steps

        def run_trial(self, trial, *args, **kwargs) -> Dict[str, float]:
            values = trial.hyperparameters.values
            config = tuning.apply(self._run.config, values)
            training.seed_everything(config.seed)
            trial_run = training.Training(self._run.fn_args, config, self._run.task,
                                           self._run.tf_transform_output, self._run.plan)
            trained = training.train(trial_run, self._steps)
            name = self._run.task.tuning_objective[0]
            result = {name: self._run.task.tuning_score(trained.model, trained.validation_ds, config)}
            logging.info("tuning trial %s: %s -> %s", trial.trial_id, values, result)
            return result

        # KerasTuner prints these; the run's console shows progress lines only, so they go to the log.
        def search_space_summary(self, extended=False):
            logging.info("tuning: search space %s", self.oracle.hyperparameters.get_config()["space"])

        def results_summary(self, num_trials=10):
            for best in self.oracle.get_best_trials(num_trials):
                logging.info("tuning: trial %s scored %s with %s", best.trial_id, best.score,
                             best.hyperparameters.values)

    return ImageTuner


def tuner_fn(fn_args):
    """TFX's hook: the tuner and its search arguments (none: each trial reads its own data)."""
    from tfx.components.tuner.component import TunerFnResult

    custom = dict(fn_args.custom_config)
    settings: Dict[str, Any] = custom.pop(names.TUNING_CONFIG_KEY)
    config = TrainerConfig.from_dict(custom)
    run = training.start(fn_args, config)
    oracle = _oracle(config, search_space(run.task, config), settings["trials"])
    tuner = _tuner_class()(run, settings["steps"], oracle=oracle,
                           directory=os.path.join(fn_args.working_dir, "trials"), project_name="image_tuner",
                           overwrite=True)
    return TunerFnResult(tuner=tuner, fit_kwargs={"verbose": 0})
