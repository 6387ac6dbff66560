"""SqueezeNet v1.1: the architecture of the ImageNet file, and its real weights loaded layer by layer."""

from pathlib import Path

import numpy as np
import pytest

from trainer import squeezenet
from trainer.backbones import build_backbone
from trainer.keras_lib import keras

WEIGHTS = (Path(__file__).resolve().parents[2] / "shared" / "weights"
           / "squeezenet_v1.1_weights_tf_dim_ordering_tf_kernels_notop.h5")
needs_weights = pytest.mark.skipif(not WEIGHTS.is_file(), reason=f"{WEIGHTS} not present (../shared absent)")


def test_architecture_matches_the_published_feature_extractor():
    model = squeezenet.build_squeezenet()
    assert model.count_params() == 722_496  # as the weight file's README states
    assert model.output_shape == (None, 13, 13, 512)
    names = {layer.name for layer in model.layers}
    assert {"conv1", "fire2/squeeze1x1", "fire2/expand1x1", "fire2/expand3x3", "fire9/expand3x3"} <= names


def test_imagenet_download_is_a_clear_error():
    with pytest.raises(ValueError, match="squeezenet has no download source: pass --weights"):
        build_backbone("squeezenet", 227, "imagenet")


@needs_weights
def test_real_imagenet_weights_load_into_every_layer():
    model, normalization = build_backbone("squeezenet", 227, str(WEIGHTS))
    assert normalization == "caffe"
    stored = squeezenet.read_weight_file(str(WEIGHTS))
    for layer in model.layers:
        if isinstance(layer, keras.layers.Conv2D):
            kernel, bias = layer.get_weights()
            np.testing.assert_array_equal(kernel, stored[layer.name][0])
            np.testing.assert_array_equal(bias, stored[layer.name][1])
    assert len(stored) == 25  # conv1 + 8 fire modules x 3


@needs_weights
def test_pretrained_features_tell_textures_apart_better_than_random_ones():
    """A sanity check that the weights are real: trained filters respond to stripes vs noise differently."""
    rng = np.random.default_rng(0)
    stripes = np.tile((np.arange(227) // 8 % 2 * 255)[None, :, None], (227, 1, 3)).astype(np.float32)
    noise = rng.uniform(0, 255, (227, 227, 3)).astype(np.float32)
    batch = np.stack([stripes, noise]) - np.array([123.68, 116.779, 103.939], np.float32)
    trained, _ = build_backbone("squeezenet", 227, str(WEIGHTS))
    features = trained(batch[..., ::-1]).numpy().mean(axis=(1, 2))
    assert features.shape == (2, 512) and np.abs(features[0] - features[1]).mean() > 0.1


def test_a_wrong_file_is_refused_naming_the_layer(tmp_path):
    import h5py

    path = tmp_path / "other.h5"
    with h5py.File(path, "w") as handle:
        handle.create_dataset("conv1/kernel", data=np.zeros((3, 3, 3, 64), np.float32))
        handle.create_dataset("conv1/bias", data=np.zeros((64,), np.float32))
    with pytest.raises(ValueError, match="no weights for layer 'fire2/squeeze1x1'"):
        squeezenet.load_weights(squeezenet.build_squeezenet(), str(path))
