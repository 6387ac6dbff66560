"""Horizontal flips decided from the data: the rule, the measurement, and the refusal to flip undecided."""

import numpy as np
import pytest
import tensorflow as tf

from trainer import augmentation, flip_check
from trainer.config import AugmentationConfig, TrainerConfig


@pytest.mark.parametrize("accuracy, mirrored, flips", [
    (0.95, 0.93, True),    # photos: a mirrored shoe is a shoe
    (0.95, 0.50, False),   # arrows: left and right swap, up and down stay
    (0.90, 0.30, False),   # digits: a mirrored 2 is no digit
    (0.30, 0.30, False),   # too near chance (0.25) to tell: off, and the reason says so
])
def test_flips_go_on_only_where_mirrored_images_keep_the_skill(accuracy, mirrored, flips):
    decision = flip_check.decide(accuracy, mirrored, num_classes=4, images=200)
    assert decision.flips is flips and decision.decided_by == "data"
    assert f"{accuracy:.2f}" in decision.reason
    if accuracy - 0.25 < flip_check.MIN_SKILL:
        assert "too near chance" in decision.reason


def test_no_validation_images_means_no_flips_and_says_why():
    decision = flip_check.decide(0.0, 0.0, num_classes=3, images=0)
    assert not decision.flips and "no validation images" in decision.reason


def test_mirrored_accuracy_is_measured_on_the_mirrored_images():
    """A 'model' that reads the left half's brightness: mirroring moves the bright half and flips its answer."""
    left_bright = np.zeros((4, 8, 8, 3), np.float32)
    left_bright[:, :, :4] = 255.0
    images = np.concatenate([left_bright, left_bright[:, :, ::-1]])
    labels = np.array([0] * 4 + [1] * 4)

    def model(batch, training=False):
        left = tf.reduce_mean(batch[:, :, :4], axis=[1, 2, 3])
        return tf.stack([left, 255.0 - left], axis=-1)

    accuracy, mirrored, count = flip_check.mirrored_accuracies(model, [(tf.constant(images), labels)])
    assert (accuracy, mirrored, count) == (1.0, 0.0, 8)


def test_the_decision_comes_from_the_flag_or_the_task_where_the_data_is_not_asked():
    auto = TrainerConfig(class_names=["a", "b"])
    assert flip_check.needs_data(auto)
    off = TrainerConfig(class_names=["a", "b"], augmentation=AugmentationConfig(flip_left_right=False))
    assert not flip_check.needs_data(off) and flip_check.without_data(off).reason == "--flips off"
    masks = TrainerConfig(task="segmentation", class_names=["a", "b"])
    assert not flip_check.needs_data(masks) and flip_check.without_data(masks).flips


def test_the_augmentation_refuses_undecided_flips():
    with pytest.raises(ValueError, match="undecided"):
        augmentation.augment(tf.zeros([2, 8, 8, 3]), AugmentationConfig(), seed=(1, 2))
