"""Segmentation through the whole pipeline on a small generated shapes set (real TFX/Beam/MLMD/TFMA).

The masks store a void value (9) in a border band, mapped to "ignore" as a street-scene set's void id
would be: those pixels must stay out of the loss, the IoU and the pixel counts.
"""

import glob
import os
import re

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from common import names
from common.examples_io import record_dataset
from ingest import embedded as default_data
from ingest.config import DataConfig
from pipeline.configs import BlessingConfig, PipelineConfig, RunConfig, TrainingLength
from runners import local as local_run
from trainer.config import TrainerConfig

pytestmark = pytest.mark.e2e
VOID = 9


@pytest.fixture(scope="module")
def seg_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("seg_e2e")
    shapes = default_data.write_shapes_dataset(root / "shapes", count=80, size=40)
    (shapes / "labels.txt").write_text("\n".join(default_data.SHAPE_CLASSES) + "\n")
    for mask_path in (shapes / "masks").glob("*.png"):
        mask = np.asarray(Image.open(mask_path)).copy()
        mask[:4, :] = VOID
        Image.fromarray(mask).save(mask_path)
    config = PipelineConfig(
        trainer=TrainerConfig(task="segmentation", image_size=32, batch_size=16, steps_per_epoch=30),
        data=DataConfig(path=str(shapes), mask_values=f"0:0,1:1,2:2,3:3,{VOID}:ignore"), steps=TrainingLength(train_steps=60),
        blessing=BlessingConfig(min_mean_iou=0.0, max_mean_iou_drop=1.0), run=RunConfig(output_dir=str(root / "outputs")),
    )
    return config, local_run.run(config)


def _eval_examples(summary):
    examples_dir = next(c for c in summary.components if c.node_id == "ImageValidator").outputs["validated_examples"][0]
    files = glob.glob(os.path.join(examples_dir, "Split-eval", "*"))
    return [r.numpy() for r in record_dataset(files)]


def test_all_components_complete_and_model_pushed(seg_run):
    _, summary = seg_run
    assert {c.state for c in summary.components} == {"COMPLETE"}
    assert summary.blessed is True and os.path.isfile(os.path.join(summary.pushed_model, "saved_model.pb"))
    assert summary.metrics["example_count"] == 16
    for name in default_data.SHAPE_CLASSES:
        assert f"iou/{name}" in summary.metrics and f"pixel_count/{name}" in summary.metrics


def test_evaluator_mean_iou_equals_an_independent_numpy_computation(seg_run):
    config, summary = seg_run
    model = tf.saved_model.load(summary.pushed_model)
    out = model.signatures["evaluation"](examples=tf.constant(_eval_examples(summary)))
    truth, predicted = out["label_mask"].numpy().ravel(), out["predicted_mask"].numpy().ravel()
    keep = truth != names.IGNORE_LABEL
    assert 0.05 < 1 - keep.mean() < 0.2  # the void band arrived as ignore
    truth, predicted = truth[keep], predicted[keep]
    ious = []
    for cls in range(len(config.trainer.class_names)):
        intersection = np.sum((truth == cls) & (predicted == cls))
        union = np.sum((truth == cls) | (predicted == cls))
        if union:
            ious.append(intersection / union)
    assert summary.metrics["mean_iou"] == pytest.approx(np.mean(ious), abs=1e-6)
    assert summary.metrics["pixel_accuracy"] == pytest.approx(np.mean(truth == predicted), abs=1e-6)
    assert summary.metrics["pixel_count/background"] == np.sum(truth == 0)
    assert sum(summary.metrics[f"pixel_count/{c}"] for c in config.trainer.class_names) == keep.sum()
    assert not [k for k in summary.metrics if "255" in k or "ignore" in k or str(VOID) in k.split("/")[-1]]


def test_report_shows_class_pixel_shares_and_the_ignored_share_and_no_label_statistics(seg_run):
    config, summary = seg_run
    html = open(summary.reports["Data report (HTML, offline)"], encoding="utf-8").read()
    table = html.split('class="pixels"')[1].split("</table>")[0]
    rows = {r.split("</td>")[0].split("<td>")[-1]: [float(v.split("%")[0]) for v in
                                                  re.findall(r"<td>([\d.]+%)</td>", r)]
            for r in table.split("<tr>")[2:]}
    for split_column in range(2):  # eval, train: the labelled-pixel shares of the classes add up to 100%
        assert sum(rows[c][split_column] for c in config.trainer.class_names if c in rows) == pytest.approx(100, abs=0.1)
    ignored = next(v for k, v in rows.items() if k.startswith("(ignored"))
    assert all(5 < share < 20 for share in ignored)
    assert "label distribution" not in html  # segmentation has no label feature: no such statistic, no 0.000
    assert "n/a: the LabelInspector did not run" in html


def test_pushed_model_returns_masks_at_the_original_size(seg_run):
    config, summary = seg_run
    images = sorted(glob.glob(os.path.join(config.data.path, "images", "*.png")))[:3]
    out = tf.saved_model.load(summary.pushed_model).signatures["serving_default"](
        image_bytes=tf.constant([open(p, "rb").read() for p in images]))
    assert out["mask"].shape == (3, 40, 40)
    assert out["probabilities"].shape == (3, 32, 32, 4)
    assert set(np.unique(out["mask"].numpy())) <= {0, 1, 2, 3}


def test_predict_writes_a_mask_png_per_image_equal_to_the_served_mask(seg_run, tmp_path):
    """--predict for segmentation: each image's mask PNG (its own size) equals serving_default's mask."""
    from tests.predict_folder import predict_folder

    config, summary = seg_run
    folder = tmp_path / "new"
    sources = sorted(glob.glob(os.path.join(config.data.path, "images", "*.png")))[:3]
    wide = np.asarray(Image.open(sources[0]).convert("RGB").resize((60, 40)))
    files = {"a.png": open(sources[1], "rb").read(), "sub/b.png": open(sources[2], "rb").read()}
    buffer = __import__("io").BytesIO()
    Image.fromarray(wide).save(buffer, format="PNG")
    files["wide.png"] = buffer.getvalue()
    result, rows = predict_folder(config, folder, files)
    served = tf.saved_model.load(summary.pushed_model).signatures["serving_default"]
    report_dir = os.path.dirname(result["predictions"])
    for name, data in files.items():
        mask = np.asarray(Image.open(os.path.join(report_dir, rows[name]["mask_png"])))
        out = served(image_bytes=tf.constant([data]))
        expected = out["mask"].numpy()[0][:int(out["height"][0]), :int(out["width"][0])]
        assert mask.shape == Image.open(folder / name).size[::-1]
        np.testing.assert_array_equal(mask, expected)
        shares = dict(s.split(":") for s in rows[name]["class_shares"].split(";"))
        assert set(shares) <= set(config.trainer.class_names)
        assert sum(float(v) for v in shares.values()) == pytest.approx(1.0, abs=1e-3)
        assert 0.0 < float(rows[name]["mean_confidence"]) <= 1.0
