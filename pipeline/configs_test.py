"""Flags are checked when the config is built: before anything is written or any component runs."""

import argparse

import pytest

from pipeline import configs


def _config(*argv):
    """As ``local_runner.py`` builds it (``kubeflow_runner.py`` skips the local-file check)."""
    parser = argparse.ArgumentParser()
    configs.add_cli_flags(parser)
    config = configs.from_cli(parser.parse_args(list(argv)))
    configs.check_local_files(config)
    return config


@pytest.mark.parametrize("argv, message", [
    (["--weights", "imagenet"], "--weights imagenet: the small 'resnet' backbone"),
    (["--backbone", "squeezenet", "--weights", "imagenet"], "Keras cannot download SqueezeNet"),
    (["--backbone", "squeezenet", "--weights", "/no/such/file.h5"], "--weights /no/such/file.h5: no such file"),
    (["--min-accuracy", "1.5"], "--min-accuracy 1.5: must be between 0 and 1"),
    (["--max-mean-iou-drop", "-0.1"], "--max-mean-iou-drop -0.1"),
    (["--task", "segmentation", "--resize", "crop"], "--resize crop is not for segmentation"),
    (["--task", "detection", "--resize", "crop"], "--resize crop is not for detection: a crop would cut objects off"),
    (["--task", "detection", "--tflite", "int8"], "TFLite export of detectors is not done yet"),
    (["--task", "segmentation", "--class-weights", "1,2", "--labels", "{labels}"], "--class-weights has 2 values"),
])
def test_bad_flags_are_refused_with_the_flag_named(tmp_path, argv, message):
    labels = tmp_path / "labels.txt"
    labels.write_text("background\ncircle\nsquare\n")
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        _config(*[a.replace("{labels}", str(labels)) for a in argv])


def test_good_pretrained_settings_pass(tmp_path):
    weights = tmp_path / "squeezenet.h5"
    weights.write_bytes(b"")
    config = _config("--backbone", "squeezenet", "--weights", str(weights), "--resize", "crop")
    assert (config.trainer.image_size, config.trainer.resize_policy) == (227, "crop")


def test_a_renamed_flag_names_its_new_name(capsys):
    parser = argparse.ArgumentParser()
    configs.add_cli_flags(parser)
    with pytest.raises(SystemExit):
        parser.parse_args(["--eval-steps", "5"])
    assert "--eval-steps is now --validation-batches" in capsys.readouterr().err


def test_saved_hyperparameters_are_checked_before_anything_runs(tmp_path):
    parser = argparse.ArgumentParser()
    configs.add_cli_flags(parser)
    good, bad = tmp_path / "good.json", tmp_path / "bad.json"
    good.write_text('{"space": [], "values": {"learning_rate": 0.001, "augmentation.flip_left_right": "off"}}')
    bad.write_text('{"values": {"learning_rat": 0.001}}')
    config = configs.from_cli(parser.parse_args(["--hyperparameters", str(good)]))
    assert configs.read_hyperparameters(config) == {"learning_rate": 0.001, "augmentation.flip_left_right": "off"}
    assert config.trainer.hyperparameters_source == f"--hyperparameters {good}"
    with pytest.raises(ValueError, match=r"--hyperparameters .*bad.json: hyperparameter 'learning_rat' is no"):
        configs.check_local_files(configs.from_cli(parser.parse_args(["--hyperparameters", str(bad)])))
    with pytest.raises(ValueError, match="--hyperparameters .*missing.json: no such file"):
        configs.check_local_files(configs.from_cli(parser.parse_args(["--hyperparameters", str(tmp_path / "missing.json")])))
    with pytest.raises(ValueError, match="--tune and --hyperparameters: choose one"):
        configs.from_cli(parser.parse_args(["--tune", "--hyperparameters", str(good)]))
