"""The whole pipeline, for real (TFX, Beam DirectRunner, ML Metadata, TFMA), on a tiny digits set.

One cold run feeds most assertions; a second, unchanged run must come from the cache.
"""

import base64
import dataclasses
import glob
import json
import os
import re
import time

import numpy as np
import pytest
import tensorflow as tf
from tensorflow_metadata.proto.v0 import statistics_pb2

from common import names
from common.examples_io import record_dataset
from ingest import embedded as default_data
from ingest.config import DataConfig
from pipeline.configs import BlessingConfig, PipelineConfig, RunConfig, TrainingLength
from reporting.run_summary import format_summary
from runners import local as local_run
from tests.browser import find_chromium, open_facets, open_offline
from trainer import image_ops
from trainer.config import AugmentationConfig, TrainerConfig

pytestmark = pytest.mark.e2e

EXPECTED_COMPONENTS = ["ImportExampleGen", "ImageValidator", "StatisticsGen", "SchemaGen", "ExampleValidator", "AnomalyGate", "Transform",
                       "Trainer", "LabelInspector", "FacetsPages", "latest_blessed_model_resolver", "Evaluator", "TfliteEvaluator",
                       "ModelCardGen", "Pusher"]


#: ~3% bad files hidden among the 300 digits, each with the reason the validator must give.
BAD_FILES = {
    "3/zero_bytes.png": "empty record (zero bytes)",
    "4/truncated.png": "truncated or corrupt image data",
    "5/not_an_image.png": "cannot be decoded as an image",
    "6/digit_copy.png": "exact duplicate",
    "7/tiny.png": "too small",
}


def _add_bad_files(images):
    """Corrupt, truncated, zero-byte, duplicate, too-small and odd-grayscale (but valid) files."""
    from PIL import Image
    import io

    first_six = sorted((images / "6").iterdir())[0].read_bytes()
    big = io.BytesIO()
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (64, 64), dtype=np.uint8)).save(big, format="PNG")
    tiny = io.BytesIO()
    Image.fromarray(np.zeros((2, 2), np.uint8)).save(tiny, format="PNG")
    odd = io.BytesIO()
    Image.fromarray(np.full((8, 8), 30000, np.uint16), mode="I;16").save(odd, format="PNG")
    contents = {"3/zero_bytes.png": b"", "4/truncated.png": big.getvalue()[:300], "5/not_an_image.png": b"GIF89a?",
                "6/digit_copy.png": first_six, "7/tiny.png": tiny.getvalue(), "8/gray16_odd.png": odd.getvalue()}
    for name, data in contents.items():
        (images / name).write_bytes(data)


def _config(root):
    images = default_data.write_digits_pngs(root / "digits", limit_per_class=30)
    _add_bad_files(images)
    return PipelineConfig(
        trainer=TrainerConfig(image_size=16, batch_size=32, steps_per_epoch=40, tflite="int8",
                              augmentation=AugmentationConfig(flip_left_right=False)),
        data=DataConfig(path=str(images)),
        steps=TrainingLength(train_steps=160),
        blessing=BlessingConfig(min_accuracy=0.5, max_accuracy_drop=1.0),
        run=RunConfig(output_dir=str(root / "outputs")),
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


def _eval_examples(summary):
    """(raw PNG bytes, labels) of the validated eval split (what Transform and the Evaluator saw)."""
    validated = _component(summary, "ImageValidator").outputs["validated_examples"][0]
    files = glob.glob(os.path.join(validated, "Split-eval", "*"))
    images, labels = [], []
    for record in record_dataset(files):
        feature = tf.train.Example.FromString(record.numpy()).features.feature
        images.append(feature[names.DEFAULT_IMAGE_KEY].bytes_list.value[0])
        labels.append(feature[names.DEFAULT_LABEL_KEY].int64_list.value[0])
    return images, np.array(labels)


def test_every_component_ran_and_is_recorded_in_mlmd(cold_run):
    _, summary, _ = cold_run
    order = [c.node_id for c in summary.components]
    assert sorted(order) == sorted(EXPECTED_COMPONENTS)
    # Topological: each after what it reads; the Pusher last (it waits for the LabelInspector too).
    for before, after in (("ImageValidator", "StatisticsGen"), ("AnomalyGate", "Transform"), ("Trainer", "LabelInspector"),
                          ("LabelInspector", "FacetsPages"), ("Evaluator", "Pusher"), ("LabelInspector", "Pusher"),
                          ("TfliteEvaluator", "ModelCardGen"), ("ModelCardGen", "Pusher")):
        assert order.index(before) < order.index(after), (before, after)
    assert order[-1] == "Pusher"
    assert {c.state for c in summary.components} == {"COMPLETE"}
    assert os.path.isdir(_component(summary, "Transform").outputs["transformed_examples"][0])


def test_import_example_gen_copies_the_prepared_shuffled_shards(cold_run):
    """Prepared records are already in a seeded shuffled order: copied byte for byte, not reshuffled in memory."""
    config, summary, _ = cold_run
    examples = _component(summary, "ImportExampleGen").outputs["examples"][0]
    (manifest,) = glob.glob(os.path.join(config.prepared_data_dir, "*", names.MANIFEST_FILENAME))
    assert json.load(open(manifest))[names.RECORD_ORDER_KEY] == names.SHUFFLED_RECORD_ORDER
    for split in (names.TRAIN_SPLIT, names.EVAL_SPLIT):
        prepared = sorted(glob.glob(os.path.join(os.path.dirname(manifest), split, f"*{names.TFRECORD_SUFFIX}")))
        copied = sorted(glob.glob(os.path.join(examples, f"Split-{split}", "*")))
        assert prepared and [open(p, "rb").read() for p in copied] == [open(p, "rb").read() for p in prepared]


def test_evaluator_metrics_cover_the_eval_split(cold_run):
    config, summary, _ = cold_run
    metrics = summary.metrics
    assert 50 < metrics["example_count"] <= 60
    assert 0.5 <= metrics["sparse_categorical_accuracy"] <= 1.0
    assert metrics["sparse_top_k_categorical_accuracy"] >= metrics["sparse_categorical_accuracy"]
    for name in config.trainer.class_names:
        assert 0.0 <= metrics[f"precision/{name}"] <= 1.0 and 0.0 <= metrics[f"recall/{name}"] <= 1.0
    assert sorted(summary.per_class_metrics) == sorted(config.trainer.class_names)
    assert sum(m["example_count"] for m in summary.per_class_metrics.values()) == metrics["example_count"]


def test_blessed_model_is_pushed_in_serving_layout(cold_run):
    config, summary, _ = cold_run
    assert summary.blessed is True
    pushed = summary.pushed_model
    assert os.path.dirname(pushed) == os.path.abspath(config.serving_model_dir)
    assert os.path.basename(pushed).isdigit()
    assert os.path.isfile(os.path.join(pushed, "saved_model.pb"))


def test_pushed_model_predicts_raw_png_bytes_with_the_evaluator_accuracy(cold_run):
    config, summary, _ = cold_run
    images, labels = _eval_examples(summary)
    model = tf.saved_model.load(summary.pushed_model)
    out = model.signatures["serving_default"](image_bytes=tf.constant(images))
    predicted = out["class_id"].numpy()
    assert out["probabilities"].shape == (len(images), 10)
    assert [n.decode() for n in out["class_name"].numpy()] == [config.trainer.class_names[i] for i in predicted]
    assert np.mean(predicted == labels) == pytest.approx(summary.metrics["sparse_categorical_accuracy"], abs=1e-6)
    # Per-class precision and recall are of the predicted (top-1) class, not of a 0.5 probability threshold.
    for class_id, name in enumerate(config.trainer.class_names):
        hits = np.sum((predicted == class_id) & (labels == class_id))
        assert summary.metrics[f"recall/{name}"] == pytest.approx(hits / np.sum(labels == class_id), abs=1e-6)
        if np.any(predicted == class_id):
            assert summary.metrics[f"precision/{name}"] == pytest.approx(hits / np.sum(predicted == class_id),
                                                                         abs=1e-6)


def test_no_training_serving_skew(cold_run):
    """Raw-bytes serving == the Keras model on Transform's materialised eval output."""
    config, summary, _ = cold_run
    transformed_dir = _component(summary, "Transform").outputs["transformed_examples"][0]
    files = glob.glob(os.path.join(transformed_dir, "Split-eval", "*"))
    pixels = []
    for record in record_dataset(files):
        feature = tf.train.Example.FromString(record.numpy()).features.feature
        pixels.append(feature[names.TRANSFORMED_IMAGE_KEY].bytes_list.value[0])
    model = tf.keras.models.load_model(summary.pushed_model)
    decoded = image_ops.bytes_to_pixels(tf.constant(pixels), config.trainer.image_size)
    via_transform = model(tf.cast(decoded, tf.float32), training=False).numpy()
    images, _ = _eval_examples(summary)
    via_bytes = tf.saved_model.load(summary.pushed_model).signatures["serving_default"](
        image_bytes=tf.constant(images))["probabilities"].numpy()
    assert via_transform.shape == via_bytes.shape
    # Example order differs between the two files; compare the sorted rows.
    order = lambda a: a[np.lexsort(a.T[::-1])]  # noqa: E731
    np.testing.assert_allclose(order(via_transform), order(via_bytes), atol=1e-5)


def test_bad_files_are_quarantined_and_counts_add_up(cold_run):
    _, summary, _ = cold_run
    validation = summary.validation
    assert validation["total"] == 306 and validation["quarantined"] == len(BAD_FILES)
    assert validation["good"] + validation["quarantined"] == validation["total"]
    from components.image_validator.report import load_report

    report = load_report(os.path.dirname(validation["path"]))
    reasons = {row["filename"]: row["reason"] for row in report["examples"] if row["reason"]}
    assert reasons == BAD_FILES
    good_eval = report["splits"]["eval"]["good"]
    assert summary.metrics["example_count"] == good_eval  # the Evaluator saw only good examples


def test_reports_are_written(cold_run):
    _, summary, _ = cold_run
    html = open(summary.reports["Statistics (Facets Overview)"], encoding="utf-8").read()
    assert html.startswith("<!DOCTYPE html>") and "<facets-overview" in html
    encoded = re.search(r'getElementById\("overview0"\)\.protoInput = "([^"]+)"', html).group(1)
    stats = statistics_pb2.DatasetFeatureStatisticsList.FromString(base64.b64decode(encoded))
    assert sorted(d.name for d in stats.datasets) == ["eval", "train"]
    splits = json.load(open(summary.validation["path"]))["splits"]
    assert {d.name: d.num_examples for d in stats.datasets} == {s: v["good"] for s, v in splits.items()}
    assert "no anomalies" in open(summary.reports["Anomalies"], encoding="utf-8").read()
    assert os.path.isfile(summary.reports["Run summary (JSON)"])
    # Listed for a blessed run too (it once was only when the model failed a check).
    with open(summary.reports["Image validation (JSON Lines, every file and its verdict)"], encoding="utf-8") as rows:
        verdicts = [json.loads(line) for line in rows]
    assert len(verdicts) == summary.validation["total"]
    assert {row["filename"]: row["reason"] for row in verdicts if row["reason"]} == BAD_FILES
    issues = open(summary.reports["Suspected label errors (CSV)"], encoding="utf-8").read().splitlines()
    assert issues[0] == "file,split,given_label,suggested_label,score"
    assert summary.label_issues["examples"] == sum(summary.validation["split_good"].values())
    assert summary.label_issues["suspects"] == len(issues) - 1


@pytest.mark.skipif(find_chromium() is None, reason="no chromium on this machine (apt-get install chromium)")
def test_facets_pages_of_the_run_render_offline_with_every_example(cold_run):
    _, summary, _ = cold_run
    facts, errors, blocked = open_facets(summary.reports["Statistics (Facets Overview)"])
    assert facts["overviewDefined"] and facts["overviewTables"][0] >= 1 and errors == [] and blocked == []
    facts, errors, blocked = open_facets(summary.reports["Every example (Facets Dive)"])
    assert facts["diveItems"] == summary.validation["total"]  # quarantined files included
    assert {"label", "predicted", "suspect", "quarantine"} <= set(facts["diveKeys"])
    assert errors == [] and blocked == []


@pytest.mark.skipif(find_chromium() is None, reason="no chromium on this machine (apt-get install chromium)")
def test_data_report_renders_offline_in_a_real_browser(cold_run):
    _, summary, _ = cold_run
    path = summary.reports["Data report (HTML, offline)"]
    facts, console_errors, external_requests = open_offline(path)
    assert console_errors == [] and external_requests == []
    assert {"counts", "images", "samples", "quarantine", "label-issues", "near-duplicates", "anomalies", "schema",
            "skew", "drift", "evaluation"} <= set(facts["sections"])
    assert facts["charts"] >= 6 and facts["bars"] > 20
    assert facts["images"] and all(complete and width > 0 for complete, width in facts["images"])
    assert facts["broken"] >= 2  # zero-byte and not-an-image files have no thumbnail
    assert {row[1]: row[2] for row in facts["quarantineRows"]} == BAD_FILES
    assert facts["metricsRows"] > 5


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


def test_model_selection_never_sees_the_eval_split(cold_run):
    """The Trainer carves its validation split from train; the summary gives all three counts."""
    _, summary, _ = cold_run
    examples = summary.examples
    good_train = summary.validation["split_good"]["train"]
    assert examples["train"] + examples["validation"] == good_train
    assert 0.05 * good_train <= examples["validation"] <= 0.15 * good_train
    assert examples["eval"] == summary.metrics["example_count"]
    assert summary.baseline is None  # the first model is judged on the absolute thresholds alone


def test_a_model_that_misses_a_threshold_is_named_and_exits_3(cold_run, tmp_path):
    """Same data, 3 training steps against a 0.9 bar: the summary names the failed check, the exit status is 3."""
    config, _, _ = cold_run
    code = local_run.main(["--data", config.data.path, "--output-dir", config.run.output_dir,
                           "--image-size", "16", "--train-steps", "3", "--validation-batches", "4", "--no-flip",
                           "--min-accuracy", "0.9", "--max-accuracy-drop", "1.0",
                           "--pipeline-name", "strict-bar"])
    assert code == local_run.EXIT_NOT_BLESSED
    summary_path = os.path.join(config.reports_dir, "latest", "run_summary.json")
    recorded = json.load(open(summary_path))
    assert recorded["blessed"] is False and recorded["pushed_model"] is None
    (check,) = recorded["failed_checks"]
    assert re.fullmatch(r"sparse_categorical_accuracy 0\.\d{4} < 0\.9000", check), check


def test_a_new_learning_rate_retrains_without_re_transforming(cold_run):
    config, _, _ = cold_run
    changed = dataclasses.replace(config, trainer=dataclasses.replace(config.trainer, learning_rate=1e-3))
    states = {c.node_id: c.state for c in local_run.run(changed).components}
    assert states["Transform"] == "CACHED" and states["ImageValidator"] == "CACHED"
    assert states["Trainer"] == "COMPLETE" and states["Evaluator"] == "COMPLETE"


def test_summary_counts_examples_and_reports_training_speed(cold_run):
    config, summary, _ = cold_run
    assert summary.examples["train"] + summary.examples["validation"] == summary.validation["split_good"]["train"]
    assert summary.examples["eval"] == summary.metrics["example_count"]
    # One phase (no pretrained weights), timed over every step but the first (tracing).
    assert list(summary.training_speed) == ["train"] and summary.training_speed["train"] > 0
    run_dir = _component(summary, "Trainer").outputs["model_run"][0]
    recorded = json.load(open(os.path.join(run_dir, "training_speed.json")))
    assert recorded["phases"]["train"]["timed_steps"] == config.steps.train_steps - 1
    assert "Training speed: train" in format_summary(summary, 1.0)
    assert recorded["phases"]["train"]["steps"] == config.steps.train_steps
    assert f"Training: {config.steps.train_steps} steps (train {config.steps.train_steps})" \
        in format_summary(summary, 1.0)


def test_pushed_tflite_files_match_the_saved_model_accuracy(cold_run):
    """float within 0.01 of the Evaluator's accuracy, int8 within 0.02, on the eval digits; metadata attached."""
    from tensorflow_lite_support.metadata.python import metadata

    from trainer import tflite_export

    config, summary, _ = cold_run
    images, labels = _eval_examples(summary)
    pixels = image_ops.decode_and_resize(tf.constant(images), config.trainer.image_size).numpy().astype("float32")
    accuracy = summary.metrics["sparse_categorical_accuracy"]
    folder = os.path.join(summary.pushed_model, "tflite")
    assert open(os.path.join(folder, "labels.txt")).read().split() == config.trainer.class_names
    for name, tolerance in (("model.tflite", 0.01), ("model_int8.tflite", 0.02)):
        predicted = tflite_export.predict(os.path.join(folder, name), pixels).argmax(axis=1)
        assert abs(np.mean(predicted == labels) - accuracy) <= tolerance, name
        displayer = metadata.MetadataDisplayer.with_model_file(os.path.join(folder, name))
        assert displayer.get_packed_associated_file_list() == ["labels.txt"]


def test_the_tflite_evaluator_scores_both_files_beside_the_saved_model(cold_run):
    """TFMA's numbers for the TFLite files (TfliteEvaluator) agree with the interpreter check above; shown in the summary."""
    _, summary, _ = cold_run
    accuracy = summary.metrics["sparse_categorical_accuracy"]
    assert sorted(summary.tflite_metrics) == [names.TFLITE_FLOAT_MODEL, names.TFLITE_INT8_MODEL]
    for model, tolerance in ((names.TFLITE_FLOAT_MODEL, 0.01), (names.TFLITE_INT8_MODEL, 0.02)):
        metrics = summary.tflite_metrics[model]
        assert metrics["example_count"] == summary.metrics["example_count"]
        assert abs(metrics["sparse_categorical_accuracy"] - accuracy) <= tolerance, model
    text = format_summary(summary, 1.0)
    assert re.search(r"model_int8\.tflite \(int8\)\s+sparse_categorical_accuracy \d\.\d{4} \(SavedModel", text)


def test_the_model_card_sits_in_the_pushed_version_directory_and_states_this_run(cold_run):
    """model_card.md / .html beside saved_model.pb, with this run's counts, metrics and verdict."""
    config, summary, _ = cold_run
    markdown = open(os.path.join(summary.pushed_model, "model_card.md"), encoding="utf-8").read()
    page = open(os.path.join(summary.pushed_model, "model_card.html"), encoding="utf-8").read()
    assert f"| classes | 10: {', '.join(config.trainer.class_names)} |" in markdown
    assert f"| sparse_categorical_accuracy | {summary.metrics['sparse_categorical_accuracy']:.4f} |" in markdown
    assert f"| example_count | {int(summary.metrics['example_count'])} |" in markdown
    assert f"{summary.validation['quarantined']} of {summary.validation['total']} input files were quarantined" \
        in markdown
    assert "BLESSED" in markdown and "rule: SparseCategoricalAccuracy >= 0.5" in markdown
    assert "| TFLite tflite_int8 | value | SavedModel |" in markdown
    assert "<h2 id=known-limitations>" in page


def test_predict_scores_a_folder_with_the_blessed_model_and_quarantines_bad_files(cold_run, tmp_path):
    """--predict: BulkInferrer's classes equal the pushed model's raw-bytes classes; bad files keep a reason."""
    import csv

    from reporting import mlmd
    from runners.predict import predict

    config, summary, _ = cold_run
    folder = tmp_path / "new images"
    folder.mkdir()
    images, _ = _eval_examples(summary)
    for i, data in enumerate(images[:12]):
        (folder / f"new_{i:02d}.png").write_bytes(data)
    (folder / "notes.txt").write_text("not an image")
    result = predict(config, str(folder), log=lambda *_: None)
    rows = {r["file"]: r for r in csv.DictReader(open(result["predictions"], encoding="utf-8"))}
    assert set(rows) == {f"new_{i:02d}.png" for i in range(12)} | {"notes.txt"}
    assert rows["notes.txt"]["class_name"] == "" and "cannot be decoded" in rows["notes.txt"]["quarantine_reason"]
    served = tf.saved_model.load(summary.pushed_model).signatures["serving_default"](
        image_bytes=tf.constant(images[:12]))
    expected = [n.decode() for n in served["class_name"].numpy()]
    assert [rows[f"new_{i:02d}.png"]["class_name"] for i in range(12)] == expected
    assert all(len(rows[f"new_{i:02d}.png"]["top_k"].split(";")) == 3 for i in range(12))
    assert (result["predicted"], result["quarantined"]) == (12, 1)
    run_id, nodes = mlmd.run_nodes(config.metadata_path, f"{config.pipeline_name}-predict")
    assert run_id == result["prediction_run"] and nodes["BulkInferrer"].state == "COMPLETE"
