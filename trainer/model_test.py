"""Model building, backbones, normalisation and the two-phase training plan."""

import numpy as np
import pytest

from trainer import backbones
from trainer.keras_lib import keras
from trainer.classifier import build_classifier
from trainer.run import plan_phases, set_trainable
from trainer.config import TrainerConfig


def test_classifier_outputs_probabilities_per_class():
    config = TrainerConfig(image_size=16, class_names=list("abcd"))
    model, backbone = build_classifier(config)
    out = model(np.zeros((3, 16, 16, 3), np.float32)).numpy()
    assert out.shape == (3, 4)
    np.testing.assert_allclose(out.sum(axis=1), 1.0, rtol=1e-5)
    assert backbone.name == "small_resnet"


def test_classifier_needs_two_classes():
    with pytest.raises(ValueError, match="at least 2 class names"):
        build_classifier(TrainerConfig(class_names=["only"]))


@pytest.mark.parametrize("name", ["mobilenet", "mobilenet_v2", "efficientnet_b0", "resnet50"])
def test_keras_application_backbones_build_without_weights(name):
    model, mode = backbones.build_backbone(name, 32, None)
    assert model.output_shape[1:3] == (1, 1)
    assert mode == backbones.NORMALIZATION[name]


def test_missing_weights_file_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="weights file .*nope.h5.* not found"):
        backbones.build_backbone("mobilenet_v2", 32, str(tmp_path / "nope.h5"))


def test_local_weights_file_is_loaded(tmp_path):
    source, _ = backbones.build_backbone("resnet", 16, None)
    path = str(tmp_path / "resnet.h5")
    source.save_weights(path)
    loaded, _ = backbones.build_backbone("resnet", 16, path)
    for a, b in zip(source.get_weights(), loaded.get_weights()):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("mode,expected", [("unit", [1.0, 0.0, 0.2]), ("tf", [1.0, -1.0, -0.6]),
                                           ("caffe", [51 - 103.939, 0 - 116.779, 255 - 123.68])])
def test_normalize_modes(mode, expected):
    pixel = np.array([[[[255.0, 0.0, 51.0]]]], np.float32)
    np.testing.assert_allclose(backbones.Normalize(mode)(pixel).numpy().ravel(), expected, rtol=1e-5)


def test_phases_without_pretrained_weights_train_everything_once():
    phases = plan_phases(TrainerConfig(), 100, pretrained=False)
    assert [(p.name, p.steps, p.trainable_fraction) for p in phases] == [("train", 100, 1.0)]


def test_phases_with_pretrained_weights_freeze_then_fine_tune():
    config = TrainerConfig(head_steps_fraction=0.3, fine_tune_fraction=0.25, learning_rate=1e-3,
                           fine_tune_learning_rate=1e-5)
    head, tune = plan_phases(config, 100, pretrained=True)
    assert (head.steps, head.trainable_fraction, head.learning_rate) == (30, 0.0, 1e-3)
    assert (tune.steps, tune.trainable_fraction, tune.learning_rate) == (70, 0.25, 1e-5)


def test_set_trainable_unfreezes_top_layers_and_keeps_batchnorm_frozen():
    backbone, _ = backbones.build_backbone("resnet", 16, None)
    assert set_trainable(backbone, 0.0, keep_batchnorm_frozen=True) == 0
    assert not backbone.trainable_weights
    count = set_trainable(backbone, 0.5, keep_batchnorm_frozen=True)
    trainable = [layer for layer in backbone.layers if layer.trainable]
    assert count == len(trainable) > 0
    assert not any(isinstance(layer, keras.layers.BatchNormalization) for layer in trainable)
    assert backbone.layers.index(trainable[0]) >= len(backbone.layers) // 2


def test_head_only_plan_trains_every_step_with_the_backbone_frozen():
    (head,) = plan_phases(TrainerConfig(head_steps_fraction=1.0), 120, pretrained=True)
    assert head.name == "head" and head.steps == 120 and head.trainable_fraction == 0.0


def test_an_explicit_head_fraction_applies_to_random_init_too():
    """The schedule of TFX's CIFAR-10 example: 120 of 160 steps frozen, then the top 10% trains."""
    config = TrainerConfig(head_steps_fraction=0.75, fine_tune_fraction=0.1)
    head, tune = plan_phases(config, 160, pretrained=False)
    assert (head.name, head.steps, head.trainable_fraction) == ("head", 120, 0.0)
    assert (tune.name, tune.steps, tune.trainable_fraction) == ("fine_tune", 40, 0.1)
    assert sum(p.steps for p in plan_phases(TrainerConfig(), 160, pretrained=True)) == 160


def test_head_fraction_outside_zero_to_one_is_refused():
    with pytest.raises(ValueError, match="--head-steps-fraction must be within"):
        TrainerConfig(head_steps_fraction=1.5)
