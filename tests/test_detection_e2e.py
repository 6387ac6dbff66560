"""Detection through the whole pipeline on small generated scenes (real TFX/Beam/MLMD/TFMA).

A short training run: the point is the plumbing — boxes from VOC files to
TFMA's COCO metrics and to the serving signature, in the image's own pixels —
not the quality (benchmarks/ measures that on the full default).
"""

import dataclasses
import glob
import os

import numpy as np
import pytest
import tensorflow as tf

from common import names
from common.examples_io import record_dataset
from ingest import embedded
from ingest.config import DataConfig
from pipeline.configs import BlessingConfig, PipelineConfig, RunConfig, TrainingLength
from runners import local as local_run
from tests.box_ap import mean_average_precision
from trainer.config import TrainerConfig

pytestmark = pytest.mark.e2e


def _config(root, train_steps=60):
    scenes = embedded.write_detection_scenes(root / "scenes", count=100, size=96)
    return PipelineConfig(
        trainer=TrainerConfig(task="detection", image_size=64, batch_size=16, steps_per_epoch=30, tflite="none",
                              class_names=list(embedded.SCENE_CLASSES)),
        data=DataConfig(path=str(scenes)), steps=TrainingLength(train_steps=train_steps),
        blessing=BlessingConfig(min_map=0.0, max_map_drop=1.0), run=RunConfig(output_dir=str(root / "outputs")))


@pytest.fixture(scope="module")
def det_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("det_e2e")
    config = _config(root)
    return root, config, local_run.run(config)


def _eval_examples(summary):
    validated = next(c for c in summary.components if c.node_id == "ImageValidator").outputs["validated_examples"][0]
    files = glob.glob(os.path.join(validated, "Split-eval", "*"))
    rows = []
    for record in record_dataset(files):
        feature = tf.train.Example.FromString(record.numpy()).features.feature
        boxes = np.stack([np.array(feature[k].float_list.value) for k in names.BOX_COORDINATE_KEYS], -1)
        rows.append((feature[names.DEFAULT_IMAGE_KEY].bytes_list.value[0], boxes.reshape(-1, 4),
                     np.array(feature[names.BOX_CLASS_KEY].int64_list.value)))
    return rows


def test_the_detector_is_trained_evaluated_with_coco_metrics_and_pushed(det_run):
    _, config, summary = det_run
    assert {c.state for c in summary.components} == {"COMPLETE"}
    assert summary.blessed is True and os.path.isfile(os.path.join(summary.pushed_model, "saved_model.pb"))
    metrics = summary.metrics
    assert metrics["example_count"] == 20
    for name in (names.MAP_50, "map_50_95", "mar_50_95", *[f"ap_50/{c}" for c in config.trainer.class_names]):
        assert 0.0 <= metrics[name] <= 1.0, name
    assert metrics["map_50_95"] <= metrics[names.MAP_50] + 1e-9
    card = open(os.path.join(summary.pushed_model, "model_card.md"), encoding="utf-8").read()
    assert "boxes (xmin, ymin, xmax, ymax in the input's pixels)" in card and "| ap_50/circle |" in card


def test_the_report_draws_the_boxes_on_the_samples_of_each_class(det_run):
    _, config, summary = det_run
    report = next(path for name, path in summary.reports.items() if name.startswith("Data report"))
    html = open(report, encoding="utf-8").read()
    assert "Boxes drawn in their class colour" in html
    for name in config.trainer.class_names:
        assert f"class {name}" in html


def test_served_boxes_are_in_the_images_own_pixels_and_give_tfmas_map(det_run):
    """The raw-bytes signature (boxes in pixels) scored independently against the true boxes = TFMA's mAP@0.5."""
    _, config, summary = det_run
    rows = _eval_examples(summary)
    served = tf.saved_model.load(summary.pushed_model).signatures["serving_default"]
    truth, found = [], []
    for image, boxes, classes in rows:
        out = served(image_bytes=tf.constant([image]))
        count = int(out[names.NUM_DETECTIONS_KEY][0])
        height, width = tf.image.decode_image(image).shape[:2]
        scale = np.array([width, height, width, height], float)
        assert (out[names.DETECTION_BOXES_KEY][0, :count].numpy() <= scale + 1e-3).all()
        names_out = [n.decode() for n in out[names.DETECTION_CLASS_NAMES_KEY][0, :count].numpy()]
        ids = out[names.DETECTION_CLASSES_KEY][0, :count].numpy()
        assert names_out == [config.trainer.class_names[i] for i in ids]
        truth.append({"boxes": boxes * scale, "class_ids": classes})
        found.append({"boxes": out[names.DETECTION_BOXES_KEY][0, :count].numpy(), "class_ids": ids,
                      "scores": out[names.DETECTION_SCORES_KEY][0, :count].numpy()})
    independent = mean_average_precision(truth, found, len(config.trainer.class_names))
    assert independent == pytest.approx(summary.metrics[names.MAP_50], abs=0.02)


def test_predict_lists_each_images_boxes_as_served(det_run, tmp_path):
    """--predict for detection: each file's row holds exactly serving_default's boxes (the image's own pixels),
    class names and scores; a broken file is listed with its reason."""
    import json

    from tests.predict_folder import predict_folder

    _, config, summary = det_run
    sources = sorted(glob.glob(os.path.join(config.data.path, "images", "*.png")))[:3]
    files = {name: open(path, "rb").read() for name, path in zip(("a.png", "b.png", "sub/c.png"), sources)}
    _, rows = predict_folder(config, tmp_path / "new", files)
    served = tf.saved_model.load(summary.pushed_model).signatures["serving_default"]
    for name, data in files.items():
        out = served(image_bytes=tf.constant([data]))
        count = int(out[names.NUM_DETECTIONS_KEY][0])
        found = json.loads(rows[name]["boxes"])
        assert int(rows[name]["detections"]) == count == len(found)
        np.testing.assert_allclose(np.array([f["box"] for f in found], float).reshape(-1, 4),
                                   out[names.DETECTION_BOXES_KEY][0, :count].numpy(), atol=0.051)
        np.testing.assert_allclose([f["score"] for f in found], out[names.DETECTION_SCORES_KEY][0, :count].numpy(),
                                   atol=5e-5)
        assert [f["class"] for f in found] == [n.decode() for n in out[names.DETECTION_CLASS_NAMES_KEY][0, :count].numpy()]
    assert sum(int(rows[name]["detections"]) for name in files) > 0  # boxes were compared, not only empty lists


def test_a_retrained_model_is_compared_with_the_blessed_one(det_run):
    """The second model has a baseline: TFMA's detection metrics run with two models (fixed in box_metrics)."""
    root, config, first = det_run
    second = local_run.run(dataclasses.replace(config, steps=TrainingLength(train_steps=61)))
    evaluator = next(c for c in second.components if c.node_id == "Evaluator")
    assert evaluator.state == "COMPLETE" and second.baseline.startswith("model ")
    assert first.pushed_model and second.baseline.endswith(
        next(c for c in first.components if c.node_id == "Trainer").outputs["model"][0])
    assert names.MAP_50 in second.metrics
