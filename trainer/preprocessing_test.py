"""preprocessing_fn through real TFT: decoding of every format, RGB conversion, resize, compactness."""

import numpy as np
import pytest
import tensorflow as tf

from common import names
from trainer import image_ops
from common import tasks
from trainer.config import TrainerConfig
from trainer.preprocessing import preprocessing_fn
from trainer.conftest import IMAGE_SIZE, sample_images


@pytest.mark.pipeline
def test_every_format_decodes_to_rgb_at_the_configured_size(transform_run):
    config, rows, _ = transform_run
    assert len(rows) == len(sample_images())
    for row, (name, _, colour) in zip(rows, sample_images()):
        pixels = tf.io.parse_tensor(row[names.TRANSFORMED_IMAGE_KEY], tf.uint8).numpy()
        assert pixels.shape == (IMAGE_SIZE, IMAGE_SIZE, 3), name
        tolerance = 3 if name == "jpeg" else 0
        np.testing.assert_allclose(pixels.reshape(-1, 3).mean(0), colour, atol=tolerance, err_msg=name)


@pytest.mark.pipeline
def test_label_passes_through(transform_run):
    _, rows, _ = transform_run
    assert [int(r[names.TRANSFORMED_LABEL_KEY]) for r in rows] == list(range(len(rows)))


@pytest.mark.pipeline
def test_transformed_example_is_uint8_sized(transform_run):
    _, rows, _ = transform_run
    # H*W*3 bytes of pixels plus a small serialized-tensor header, never float32.
    size = len(rows[0][names.TRANSFORMED_IMAGE_KEY])
    assert IMAGE_SIZE * IMAGE_SIZE * 3 <= size <= IMAGE_SIZE * IMAGE_SIZE * 3 + 32


def test_mask_resize_never_interpolates_class_ids():
    mask = np.zeros((10, 10, 1), np.uint8)
    mask[:5] = 3
    mask[5:, 5:] = 7
    resized = image_ops.resize(tf.constant(mask), 7, method="nearest").numpy()
    assert set(np.unique(resized)) <= {0, 3, 7}
    smooth = image_ops.resize(tf.constant(mask), 7, method="bilinear").numpy()
    assert set(np.unique(smooth)) - {0, 3, 7}, "bilinear should blend (sanity check of the test)"


def test_dense_1d_accepts_sparse_and_rank2():
    sparse = tf.sparse.SparseTensor(indices=[[0, 0], [2, 0]], values=[b"a", b"c"], dense_shape=[3, 1])
    assert image_ops.dense_1d(sparse).numpy().tolist() == [b"a", b"", b"c"]
    assert image_ops.dense_1d(tf.constant([[b"x"], [b"y"]])).numpy().tolist() == [b"x", b"y"]


def test_crop_policy_keeps_the_centred_square_squash_the_whole_image():
    # Three 20-px vertical bands, red | green | blue, on a 60x20 image.
    bands = np.zeros((20, 60, 3), np.uint8)
    for band in range(3):
        bands[:, 20 * band:20 * (band + 1), band] = 255
    crop = image_ops.resize(tf.constant(bands), 10, policy="crop").numpy()
    assert (crop[..., 1] == 255).all() and (crop[..., [0, 2]] == 0).all()  # only the centre band
    squash = image_ops.resize(tf.constant(bands), 12, policy="squash").numpy()
    assert squash[:, 0, 0].min() == 255 and squash[:, -1, 2].min() == 255  # both ends kept
    tall = image_ops.resize(tf.constant(bands.transpose(1, 0, 2)), 10, policy="crop").numpy()
    assert (tall[..., 1] == 255).all()


def test_segmentation_refuses_crop_policy():
    import pytest

    from trainer.config import TransformConfig

    with pytest.raises(ValueError, match="segmentation"):
        TransformConfig(task="segmentation", resize_policy="crop")
    with pytest.raises(ValueError, match="resize_policy"):
        TransformConfig(resize_policy="stretch")


def _raw_feature_spec(task: str) -> dict:
    spec = {names.DEFAULT_IMAGE_KEY: tf.io.FixedLenFeature([], tf.string)}
    if task == "classification":
        spec[names.DEFAULT_LABEL_KEY] = tf.io.FixedLenFeature([], tf.int64)
    elif task == "segmentation":
        spec[names.DEFAULT_MASK_KEY] = tf.io.FixedLenFeature([], tf.string)
    else:
        spec.update({key: tf.io.VarLenFeature(tf.float32) for key in names.BOX_COORDINATE_KEYS})
        spec[names.BOX_CLASS_KEY] = tf.io.VarLenFeature(tf.int64)
    return spec


@pytest.mark.parametrize("task", tasks.task_names())
def test_preprocessing_fn_has_no_analyzers(task):
    """The pipeline analyzes the small eval split (pipeline.py, ``splits_config``): right only while TFT's
    analysis computes nothing from the data.  An analyzer (a vocabulary, a mean) must be fitted on train:
    add one, and this fails — set the Transform's analyze split back to train."""
    from tensorflow_transform import analyzer_nodes, impl_helper

    config = TrainerConfig(task=task).transform_config().to_dict()
    specs = impl_helper.get_type_specs_from_feature_specs(_raw_feature_spec(task))
    graph, _, outputs = impl_helper.trace_preprocessing_function(
        lambda inputs: preprocessing_fn(inputs, config), specs, use_tf_compat_v1=False)
    assert outputs, "the trace produced no outputs (a broken test, not a pass)"
    assert graph.get_collection(analyzer_nodes.TENSOR_REPLACEMENTS) == []
