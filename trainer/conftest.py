"""Shared fixtures for the trainer tests: a real Transform graph built with tft_beam."""

import os

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")

import pytest  # noqa: E402
import tensorflow as tf  # noqa: E402
import tensorflow_transform as tft  # noqa: E402
import tensorflow_transform.beam as tft_beam  # noqa: E402
from tensorflow_transform.tf_metadata import dataset_metadata, metadata_io, schema_utils  # noqa: E402

from tests.image_fixtures import encode, solid  # noqa: E402
from trainer.preprocessing import preprocessing_fn  # noqa: E402
from trainer.config import TrainerConfig  # noqa: E402

IMAGE_SIZE = 8


def sample_images():
    """(name, encoded bytes, expected RGB colour) in every format preprocessing supports."""
    return [
        ("gray_png", encode(solid((100,)), "PNG"), (100, 100, 100)),
        ("rgb_png", encode(solid((200, 30, 60)), "PNG"), (200, 30, 60)),
        ("rgba_png", encode(solid((10, 20, 30, 128)), "PNG", mode="RGBA"), (10, 20, 30)),
        ("jpeg", encode(solid((120, 120, 120)), "JPEG"), (120, 120, 120)),
        ("bmp", encode(solid((1, 2, 3)), "BMP"), (1, 2, 3)),
        ("gif", encode(solid((255, 255, 255)), "GIF"), (255, 255, 255)),
    ]


def run_tft(tmp, config: TrainerConfig, raw, feature_spec):
    """preprocessing_fn through real TFT/Beam; returns (transformed rows, TFTransformOutput)."""
    metadata = dataset_metadata.DatasetMetadata(schema_utils.schema_from_feature_spec(feature_spec))
    output_dir = str(tmp / "transform_output")
    with tft_beam.Context(temp_dir=str(tmp / "tft_tmp"), force_tf_compat_v1=False):
        (rows, _), transform_fn = (raw, metadata) | tft_beam.AnalyzeAndTransformDataset(
            lambda inputs: preprocessing_fn(inputs, config.transform_config().to_dict())
        )
        _ = transform_fn | tft_beam.WriteTransformFn(output_dir)
    # TFX's Transform also stores the raw schema; serving reads the raw feature spec from it.
    metadata_io.write_metadata(metadata, os.path.join(output_dir, tft.TFTransformOutput.RAW_METADATA_DIR))
    return rows, tft.TFTransformOutput(output_dir)


@pytest.fixture(scope="session")
def transform_run(tmp_path_factory):
    """Classification: (config, transformed rows, TFTransformOutput) for sample_images()."""
    # Non-ASCII class names with spaces: serving must return them unchanged.
    config = TrainerConfig(image_size=IMAGE_SIZE, class_names=[f"{n} 帽子 été" for n, _, _ in sample_images()])
    raw = [{"image": data, "label": i} for i, (_, data, _) in enumerate(sample_images())]
    rows, output = run_tft(tmp_path_factory.mktemp("tft"), config, raw, {
        "image": tf.io.FixedLenFeature([], tf.string),
        "label": tf.io.FixedLenFeature([], tf.int64),
    })
    return config, rows, output
