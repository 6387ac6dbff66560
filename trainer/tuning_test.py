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


@pytest.mark.parametrize("task", ["classification", "segmentation", "detection"])
def test_no_objective_is_a_loss_that_a_searched_setting_changes(task):
    """A Dice weight of 0 'wins' on a loss without its Dice term: such a search must score a metric."""
    config = TrainerConfig(task=task, class_names=["a", "b"])
    space = get_task(task).search_space(config, pretrained=False)
    loss_settings = {"dice_weight", "class_weights"}
    if loss_settings & set(space):
        assert get_task(task).tuning_objective[0] != "val_loss"


def test_segmentation_trials_are_scored_by_mean_iou_without_ignored_pixels():
    import numpy as np
    import tensorflow as tf

    masks = np.array([[[0], [1]], [[1], [255]]], np.uint8)[None]  # one 2x2 mask, one pixel ignored
    predicted = np.zeros((1, 2, 2, 2), np.float32)
    predicted[0, 0, 0, 0] = predicted[0, 0, 1, 1] = predicted[0, 1, 0, 0] = predicted[0, 1, 1, 0] = 1.0

    def model(images, training=False):
        return tf.constant(predicted)

    config = TrainerConfig(task="segmentation", class_names=["a", "b"])
    score = get_task("segmentation").tuning_score(model, [(np.zeros((1, 2, 2, 3)), masks)], config)
    # class a: 1 right of (1 true + 1 false) -> 1/2; class b: 1 right of 2 true -> 1/2; the 255 pixel left out
    assert score == pytest.approx(0.5)
