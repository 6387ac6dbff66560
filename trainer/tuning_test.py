"""Hyperparameters onto a TrainerConfig, and each task's search space (its own values first: the baseline)."""

import pytest

from trainer import tuning
from trainer.config import AugmentationConfig, TrainerConfig
from trainer.tasks.registry import get_task


def test_values_land_on_the_config_and_its_augmentation():
    config = TrainerConfig(class_names=["a", "b"])
    tuned = tuning.apply(config, {"learning_rate": 5e-4, "augmentation.flip_left_right": "off"})
    assert tuned.learning_rate == 5e-4 and tuned.augmentation.flip_left_right is False
    assert tuning.read_back(tuned, ["learning_rate", "augmentation.flip_left_right"]) == {
        "learning_rate": 5e-4, "augmentation.flip_left_right": False}
    assert tuning.apply(config, {"augmentation.flip_left_right": "auto"}).augmentation.flip_left_right is None
    assert config.learning_rate == 2e-3  # the original is left alone


def test_an_unknown_hyperparameter_is_refused_by_name():
    with pytest.raises(ValueError, match="'dropout_rate' is no TrainerConfig field"):
        tuning.apply(TrainerConfig(class_names=["a", "b"]), {"dropout_rate": 0.3})


def test_tfx_hyperparameters_config_gives_its_values():
    assert tuning.values_of({"space": [], "values": {"learning_rate": 0.01}}) == {"learning_rate": 0.01}
    assert tuning.values_of(None) == {}


@pytest.mark.parametrize("task, pretrained, expected", [
    ("classification", False, {"learning_rate", "augmentation.flip_left_right"}),
    ("classification", True, {"learning_rate", "augmentation.flip_left_right", "head_steps_fraction",
                              "fine_tune_learning_rate"}),
    ("segmentation", False, {"learning_rate", "dice_weight"}),
    ("detection", False, {"learning_rate"}),
])
def test_each_task_searches_what_matters_to_it_with_its_defaults_first(task, pretrained, expected):
    config = TrainerConfig(task=task, class_names=["a", "b"])
    space = get_task(task).search_space(config, pretrained)
    assert set(space) == expected
    first = {name: values[0] for name, values in space.items()}
    defaults = tuning.read_back(tuning.apply(config, first), [n for n in first if n != "head_steps_fraction"])
    assert defaults == tuning.read_back(config, list(defaults))  # the first trial is the configuration itself


def test_flips_fixed_by_a_flag_are_not_searched():
    config = TrainerConfig(class_names=["a", "b"], augmentation=AugmentationConfig(flip_left_right=False))
    assert "augmentation.flip_left_right" not in get_task("classification").search_space(config, False)
