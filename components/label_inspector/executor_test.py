"""LabelInspector executor: Do() on real Examples and a real SavedModel with the embeddings contract.

The model is a small SavedModel built here that honours the
``serving_embeddings`` contract (raw image bytes in; ``embedding`` and
``probabilities`` out): its embedding is the image's mean colour.  The data
are three colour classes with noise; a few labels are flipped on purpose,
and those files must come out on top of ``label_issues.csv``.
"""

import csv
import io
import json
import os

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image
from tfx.types import artifact_utils, standard_artifacts

from common import names
from components.label_inspector import executor as label_inspector_executor
from components.label_inspector.executor import (ISSUES_FILENAME, PREDICTIONS_FILENAME, SUMMARY_FILENAME, Executor,
                                                 InspectionConfig, LabelIssuesFound)
from components.label_inspector.spec import LabelIssues
from ingest.example_format import make_image_example

CLASSES = ["red", "green", "blue"]
FLIPPED = {"train/img_007.png": 0, "train/img_031.png": 2, "eval/img_005.png": 0}


class _MeanColourModel(tf.Module):
    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="image_bytes")])
    def embeddings(self, image_bytes):
        pixels = tf.map_fn(lambda b: tf.cast(tf.io.decode_png(b, channels=3), tf.float32), image_bytes,
                           fn_output_signature=tf.TensorSpec([8, 8, 3], tf.float32))
        embedding = tf.reduce_mean(pixels, axis=[1, 2]) / 255.0
        return {names.EMBEDDING_KEY: embedding, names.PROBABILITIES_KEY: tf.nn.softmax(embedding * 10.0)}


def _png(class_id, rng):
    colour = np.full(3, 60.0)
    colour[class_id] = 200.0
    pixels = np.clip(colour + rng.normal(0, 25, (8, 8, 3)) + rng.normal(0, 25, 3), 0, 255).astype(np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG")
    return buffer.getvalue()


def _artifacts(root):
    rng = np.random.default_rng(0)
    examples = standard_artifacts.Examples()
    examples.uri = str(root / "examples")
    examples.split_names = artifact_utils.encode_split_names(["train", "eval"])
    for split, count in (("train", 60), ("eval", 15)):
        os.makedirs(os.path.join(examples.uri, f"Split-{split}"))
        path = os.path.join(examples.uri, f"Split-{split}", "data.tfrecord.gz")
        with tf.io.TFRecordWriter(path, options="GZIP") as writer:
            for i in range(count):
                true = i % 3
                name = f"{split}/img_{i:03d}.png"
                given = FLIPPED.get(name, true)
                writer.write(make_image_example(_png(true, rng), given, CLASSES[given], name).SerializeToString())
    model = standard_artifacts.Model()
    model.uri = str(root / "model")
    module = _MeanColourModel()
    tf.saved_model.save(module, os.path.join(model.uri, "Format-Serving"),
                        signatures={names.EMBEDDINGS_SIGNATURE: module.embeddings})
    return examples, model


def _run(root, **config):
    examples, model = _artifacts(root)
    output = LabelIssues()
    output.uri = str(root / "LabelInspector" / "label_issues" / "7")  # the pipeline's layout
    error = None
    try:
        Executor().Do({"examples": [examples], "model": [model]}, {"label_issues": [output]},
                      {"config": InspectionConfig(class_names=CLASSES, **config).to_json()})
    except LabelIssuesFound as err:
        error = err
    return output, error


@pytest.fixture(scope="module")
def warned(tmp_path_factory):
    return _run(tmp_path_factory.mktemp("warn"))


def test_flipped_labels_top_the_suspects_with_their_true_class(warned):
    output, error = warned
    assert error is None
    rows = list(csv.DictReader(open(os.path.join(output.uri, ISSUES_FILENAME))))
    assert list(rows[0]) == ["file", "split", "given_label", "suggested_label", "score"]
    # cleanlab's noise-rate pruning is conservative with one flip per class pair: most, not always all.
    assert len(rows) >= 2 and all(r["file"] in FLIPPED for r in rows[:2])
    for row in rows[:2]:
        index = int(row["file"].split("_")[1][:3])
        assert row["given_label"] == CLASSES[FLIPPED[row["file"]]] and row["suggested_label"] == CLASSES[index % 3]
    scores = [float(r["score"]) for r in rows]
    assert scores == sorted(scores, reverse=True)
    assert output.get_int_custom_property("suspects") == len(rows) and len(rows) <= 6


def test_every_flipped_label_has_a_top_score(warned):
    output, _ = warned
    rows = list(csv.DictReader(open(os.path.join(output.uri, PREDICTIONS_FILENAME))))
    ranked = sorted(rows, key=lambda r: -float(r["score"]))
    assert {r["file"] for r in ranked[:len(FLIPPED)]} == set(FLIPPED)


def test_every_example_gets_a_prediction_row(warned):
    output, _ = warned
    rows = list(csv.DictReader(open(os.path.join(output.uri, PREDICTIONS_FILENAME))))
    assert len(rows) == 75 and {r["split"] for r in rows} == {"train", "eval"}
    assert all(0.0 <= float(r["confidence"]) <= 1.0 for r in rows)
    summary = json.load(open(os.path.join(output.uri, SUMMARY_FILENAME)))
    assert summary["examples"] == 75 and summary["folds"] == 5 and summary["out_of_sample_accuracy"] > 0.9


def test_stop_fails_the_run_after_writing_the_suspects(tmp_path):
    output, error = _run(tmp_path, action="stop", max_share=0.01)
    assert error is not None and ISSUES_FILENAME in str(error) and "--label-issues warn" in str(error)
    assert os.path.isfile(os.path.join(output.uri, ISSUES_FILENAME))


def test_stop_lets_a_run_through_under_the_share(tmp_path):
    _, error = _run(tmp_path, action="stop", max_share=0.5)
    assert error is None


def test_bad_settings_are_refused():
    with pytest.raises(ValueError, match="--label-issues"):
        InspectionConfig(action="ignore")
    with pytest.raises(ValueError, match="share"):
        InspectionConfig(max_share=2.0)


def test_a_class_with_one_example_is_left_out_not_the_whole_inspection(tmp_path):
    from components.label_inspector.executor import inspect

    examples, model = _artifacts(tmp_path)
    # A fourth class with a single example: confident learning cannot hold it out and fit it at once.
    path = os.path.join(examples.uri, "Split-train", "extra.tfrecord.gz")
    with tf.io.TFRecordWriter(path, options="GZIP") as writer:
        writer.write(make_image_example(_png(0, np.random.default_rng(5)), 3, "violet", "train/lonely.png")
                     .SerializeToString())
    result = inspect(examples.uri, ["train", "eval"], os.path.join(model.uri, "Format-Serving"),
                     InspectionConfig(class_names=CLASSES + ["violet"]))
    assert "skipped" not in result and result["unscored_classes"] == ["violet"] and result["folds"] == 5
    lonely = next(r for r in result["rows"] if r["file"] == "train/lonely.png")
    assert (lonely["suggested_label"], lonely["score"], lonely["suspect"]) == ("", 0.0, False)
    assert {r["file"] for r in result["suspects"][:2]} <= set(FLIPPED)


def test_stop_keeps_the_suspects_where_tfx_does_not_delete_them(tmp_path):
    _, error = _run(tmp_path, action="stop", max_share=0.01)
    kept = str(error).split("highest score first: ")[1].split(". ")[0]
    assert os.sep + "failed" + os.sep in kept and os.path.isfile(kept)
    assert open(kept).readline().startswith("file,split,given_label")


def test_standardising_in_steps_matches_sklearn_and_reuses_the_fit_rows_scale(monkeypatch):
    from sklearn.preprocessing import StandardScaler

    monkeypatch.setattr(label_inspector_executor, "_STANDARDISE_ROWS", 7)  # many steps, a ragged last one
    rng = np.random.default_rng(0)
    rows = (rng.normal(3.0, 5.0, (100, 4)) * [1, 10, 0.01, 1]).astype(np.float32)
    rows[:, 3] = 2.5  # a constant column keeps scale 1, as in sklearn
    held_out = rng.normal(3.0, 5.0, (9, 4)).astype(np.float32)
    scaler = StandardScaler().fit(rows.astype(np.float64))
    expected_rows, expected_held_out = scaler.transform(rows), scaler.transform(held_out)

    mean, scale = label_inspector_executor.standardise_in_place(rows)
    label_inspector_executor.standardise_in_place(held_out, mean, scale)
    np.testing.assert_allclose(mean, scaler.mean_, rtol=1e-6)
    np.testing.assert_allclose(scale, scaler.scale_, rtol=1e-5)
    np.testing.assert_allclose(rows, expected_rows, atol=1e-5)
    np.testing.assert_allclose(held_out, expected_held_out, atol=1e-5)
    assert rows.dtype == np.float32 and np.all(rows[:, 3] == 0.0)
