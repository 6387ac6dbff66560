"""The whole pipeline, for real (TFX, Beam DirectRunner, ML Metadata, TFMA), on a tiny digits set.

One cold run feeds most assertions; a second, unchanged run must come from the cache.
"""

import base64
import glob
import os
import re
import time

import numpy as np
import pytest
import tensorflow as tf
from tensorflow_metadata.proto.v0 import statistics_pb2

from pipeline import default_data, local_run
from pipeline import example_format as ef
from pipeline.configs import PipelineConfig
from trainer import features, image_ops
from trainer.task_config import AugmentationConfig, TrainerConfig

pytestmark = pytest.mark.e2e

EXPECTED_COMPONENTS = ["ImportExampleGen", "StatisticsGen", "SchemaGen", "ExampleValidator", "Transform",
                       "Trainer", "latest_blessed_model_resolver", "Evaluator", "Pusher"]


def _config(root):
    images = default_data.write_digits_pngs(root / "digits", limit_per_class=30)
    return PipelineConfig(
        trainer=TrainerConfig(image_size=16, batch_size=32, steps_per_epoch=40,
                              augmentation=AugmentationConfig(flip_left_right=False)),
        data=str(images),
        train_steps=160,
        eval_steps=4,
        min_accuracy=0.5,
        max_accuracy_drop=1.0,
        output_dir=str(root / "outputs"),
    )


@pytest.fixture(scope="module")
def cold_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("e2e")
    config = _config(root)
    started = time.monotonic()
    summary = local_run.run(config)
    return config, summary, time.monotonic() - started


def _component(summary, node_id):
    return next(c for c in summary.components if c.node_id == node_id)


def _eval_examples(config):
    """(raw PNG bytes, labels) of the prepared eval split."""
    files = glob.glob(os.path.join(config.prepared_data_dir, "digits-*", ef.EVAL_SPLIT, "*"))
    images, labels = [], []
    for record in tf.data.TFRecordDataset(files, compression_type="GZIP"):
        feature = tf.train.Example.FromString(record.numpy()).features.feature
        images.append(feature[ef.IMAGE_KEY].bytes_list.value[0])
        labels.append(feature[ef.LABEL_KEY].int64_list.value[0])
    return images, np.array(labels)


def test_every_component_ran_and_is_recorded_in_mlmd(cold_run):
    _, summary, _ = cold_run
    assert [c.node_id for c in summary.components] == EXPECTED_COMPONENTS
    assert {c.state for c in summary.components} == {"COMPLETE"}
    assert os.path.isdir(_component(summary, "Transform").outputs["transformed_examples"][0])


def test_evaluator_metrics_cover_the_eval_split(cold_run):
    config, summary, _ = cold_run
    metrics = summary.metrics
    assert metrics["example_count"] == 60
    assert 0.5 <= metrics["sparse_categorical_accuracy"] <= 1.0
    assert metrics["sparse_top_k_categorical_accuracy"] >= metrics["sparse_categorical_accuracy"]
    for name in config.trainer.class_names:
        assert 0.0 <= metrics[f"precision/{name}"] <= 1.0 and 0.0 <= metrics[f"recall/{name}"] <= 1.0
    assert sorted(summary.per_class_metrics) == sorted(config.trainer.class_names)
    assert sum(m["example_count"] for m in summary.per_class_metrics.values()) == 60


def test_blessed_model_is_pushed_in_serving_layout(cold_run):
    config, summary, _ = cold_run
    assert summary.blessed is True
    pushed = summary.pushed_model
    assert os.path.dirname(pushed) == os.path.abspath(config.serving_model_dir)
    assert os.path.basename(pushed).isdigit()
    assert os.path.isfile(os.path.join(pushed, "saved_model.pb"))


def test_pushed_model_predicts_raw_png_bytes_with_the_evaluator_accuracy(cold_run):
    config, summary, _ = cold_run
    images, labels = _eval_examples(config)
    model = tf.saved_model.load(summary.pushed_model)
    out = model.signatures["serving_default"](image_bytes=tf.constant(images))
    predicted = out["class_id"].numpy()
    assert out["probabilities"].shape == (len(images), 10)
    assert [n.decode() for n in out["class_name"].numpy()] == [config.trainer.class_names[i] for i in predicted]
    assert np.mean(predicted == labels) == pytest.approx(summary.metrics["sparse_categorical_accuracy"], abs=1e-6)


def test_no_training_serving_skew(cold_run):
    """Raw-bytes serving == the Keras model on Transform's materialised eval output."""
    config, summary, _ = cold_run
    transformed_dir = _component(summary, "Transform").outputs["transformed_examples"][0]
    files = glob.glob(os.path.join(transformed_dir, "Split-eval", "*"))
    pixels = []
    for record in tf.data.TFRecordDataset(files, compression_type="GZIP"):
        feature = tf.train.Example.FromString(record.numpy()).features.feature
        pixels.append(feature[features.TRANSFORMED_IMAGE_KEY].bytes_list.value[0])
    model = tf.keras.models.load_model(summary.pushed_model)
    decoded = image_ops.bytes_to_pixels(tf.constant(pixels), config.trainer.image_size)
    via_transform = model(tf.cast(decoded, tf.float32), training=False).numpy()
    images, _ = _eval_examples(config)
    via_bytes = tf.saved_model.load(summary.pushed_model).signatures["serving_default"](
        image_bytes=tf.constant(images))["probabilities"].numpy()
    assert via_transform.shape == via_bytes.shape
    # Example order differs between the two files; compare the sorted rows.
    order = lambda a: a[np.lexsort(a.T[::-1])]  # noqa: E731
    np.testing.assert_allclose(order(via_transform), order(via_bytes), atol=1e-5)


def test_reports_are_written(cold_run):
    _, summary, _ = cold_run
    html = open(summary.reports["Statistics (Facets Overview)"], encoding="utf-8").read()
    assert html.startswith("<!DOCTYPE html>") and "<facets-overview" in html
    encoded = re.search(r'proto-input="([^"]+)"', html).group(1)
    stats = statistics_pb2.DatasetFeatureStatisticsList.FromString(base64.b64decode(encoded))
    assert sorted(d.name for d in stats.datasets) == ["eval", "train"]
    assert {d.num_examples for d in stats.datasets} == {60, 240}
    assert "no anomalies" in open(summary.reports["Anomalies"], encoding="utf-8").read()
    assert os.path.isfile(summary.reports["Run summary (JSON)"])


def test_unchanged_rerun_comes_from_the_cache(cold_run):
    config, summary, cold_seconds = cold_run
    started = time.monotonic()
    rerun = local_run.run(config)
    warm_seconds = time.monotonic() - started
    states = {c.node_id: c.state for c in rerun.components}
    assert all(state == "CACHED" for node, state in states.items() if node != "latest_blessed_model_resolver"), states
    assert rerun.all_cached
    assert rerun.pushed_model == summary.pushed_model  # nothing pushed twice
    assert warm_seconds < cold_seconds / 4
