"""FacetsPages executor: Do() on artifacts made by the real ImageValidator and StatisticsGen executors,
then both pages opened in headless Chromium with the network blocked."""

import io
import os
import re
import shutil

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image
from tfx.components.statistics_gen.executor import Executor as StatisticsGenExecutor
from tfx.types import artifact_utils, standard_artifacts

from components.facets_pages.executor import Executor, dive_row, with_prediction
from components.facets_pages.spec import HTMLPage
from components.image_validator.executor import Executor as ValidatorExecutor, ValidationConfig
from components.image_validator.spec import ImageValidationReport
from components.label_inspector.spec import LabelIssues
from ingest.example_format import make_image_example
from tests.browser import find_chromium, open_facets

CLASSES = ["circle", "square"]
#: 12 train + 6 eval good images, plus one corrupt file per split (quarantined; still shown in Dive).
COUNTS = {"train": 12, "eval": 6}


def _png(kind, seed):
    rng = np.random.default_rng(seed)
    pixels = np.full((24, 24, 3), rng.integers(150, 255), np.uint8)
    if kind == 0:
        yy, xx = np.mgrid[:24, :24]
        pixels[(yy - 12) ** 2 + (xx - 12) ** 2 < 64] = rng.integers(0, 90, 3)
    else:
        pixels[6:18, 6:18] = rng.integers(0, 90, 3)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG")
    return buffer.getvalue()


def _artifact(kind, uri, splits=None):
    artifact = kind()
    artifact.uri = uri
    if splits:
        artifact.split_names = artifact_utils.encode_split_names(splits)
    return artifact


@pytest.fixture(scope="module")
def pages(tmp_path_factory):
    root = tmp_path_factory.mktemp("facets")
    splits = list(COUNTS)
    examples = _artifact(standard_artifacts.Examples, str(root / "examples"), splits)
    for split, count in COUNTS.items():
        os.makedirs(os.path.join(examples.uri, f"Split-{split}"))
        with tf.io.TFRecordWriter(os.path.join(examples.uri, f"Split-{split}", "data.gz"), "GZIP") as writer:
            for i in range(count):
                writer.write(make_image_example(_png(i % 2, hash((split, i)) % 1000), i % 2, CLASSES[i % 2],
                                                f"{split}/img_{i:02d}.png").SerializeToString())
            writer.write(make_image_example(b"not an image", 0, CLASSES[0], f"{split}/broken.png").SerializeToString())
    validated = _artifact(standard_artifacts.Examples, str(root / "validated"))
    quarantine = _artifact(standard_artifacts.Examples, str(root / "quarantine"))
    report = _artifact(ImageValidationReport, str(root / "report"))
    ValidatorExecutor().Do({"examples": [examples]}, {"validated_examples": [validated], "quarantine": [quarantine],
                                                      "report": [report]},
                           {"config": ValidationConfig(min_size=8, max_bad_fraction=0.5).to_json()})
    statistics = _artifact(standard_artifacts.ExampleStatistics, str(root / "statistics"))
    StatisticsGenExecutor().Do({"examples": [validated]}, {"statistics": [statistics]}, {})
    issues = _artifact(LabelIssues, str(root / "issues"))
    os.makedirs(issues.uri)
    with open(os.path.join(issues.uri, "predictions.csv"), "w") as handle:
        handle.write("file,split,given_label,predicted_label,confidence,suggested_label,score,suspect\n")
        for split, count in COUNTS.items():
            for i in range(count):
                wrong = split == "train" and i == 3
                predicted = CLASSES[(i + wrong) % 2]
                handle.write(f"{split}/img_{i:02d}.png,{split},{CLASSES[i % 2]},{predicted},0.9,{predicted},"
                             f"{0.97 if wrong else 0.05},{wrong}\n")
    overview = _artifact(HTMLPage, str(root / "out" / "overview"))
    dive = _artifact(HTMLPage, str(root / "out" / "dive"))
    os.makedirs(overview.uri)  # as the orchestrator does: an empty folder at the URI
    Executor().Do({"statistics": [statistics], "examples": [validated], "quarantine": [quarantine],
                   "validation_report": [report], "label_issues": [issues]}, {"overview": [overview], "dive": [dive]},
                  {"config": '{"image_key": "image", "class_names": ["circle", "square"]}'})
    return overview.uri, dive.uri


def _as_html(path):
    """A browser needs the .html name to render a file:// page (the Kubeflow UI reads the artifact itself)."""
    copy = path + ".html"
    shutil.copyfile(path, copy)
    return copy


@pytest.mark.pipeline
def test_pages_are_single_self_contained_files(pages):
    for path in pages:
        assert os.path.isfile(path)
        text = open(path, encoding="utf-8").read()
        # No script, stylesheet, import or image fetched from anywhere (the browser tests block and count them).
        assert not re.search(r"<(script|link|img)[^>]+(src|href)\s*=\s*[\"']?(https?:)?//", text, re.I)
        assert text.count("<facets-") >= 1 and text.count("<!DOCTYPE html>") == 1


def test_dive_rows_carry_every_example_with_its_fields():
    examples = [
        {"filename": "a.png", "split": "train", "label": 1, "reason": None, "width": 5, "height": 6, "format": "PNG"},
        {"filename": "b.png", "split": "eval", "label": 0, "reason": "too small", "width": 2, "height": 2,
         "format": "PNG"}]
    predictions = {("train", "a.png"): {"predicted_label": "x", "confidence": "0.8", "score": "0.9",
                                        "suspect": "True"}}
    rows = [with_prediction(dive_row(e, ["x", "y"]), predictions.get((e["split"], e["filename"]))) for e in examples]
    assert rows[0] == {"file": "a.png", "split": "train", "label": "y", "quarantine": "ok", "width": 5, "height": 6,
                       "format": "PNG", "predicted": "x", "confidence": 0.8, "correct": "no",
                       "label_issue_score": 0.9, "suspect": "yes"}
    assert rows[1]["quarantine"] == "too small" and rows[1]["predicted"] == ""


@pytest.mark.pipeline
@pytest.mark.skipif(not find_chromium(), reason="no Chromium on this machine (apt install chromium)")
def test_overview_renders_offline_in_chromium(pages):
    facts, errors, blocked = open_facets(_as_html(pages[0]))
    assert facts["overviewDefined"] and facts["overviewTables"] and facts["overviewTables"][0] >= 1
    text = facts["overviewShadowText"][0]
    assert "label" in text and "train" in text and "eval" in text
    assert errors == [] and blocked == []


@pytest.mark.pipeline
@pytest.mark.skipif(not find_chromium(), reason="no Chromium on this machine (apt install chromium)")
def test_dive_shows_one_item_per_example_offline_in_chromium(pages):
    facts, errors, blocked = open_facets(_as_html(pages[1]))
    total = sum(COUNTS.values()) + len(COUNTS)  # the quarantined files are items too
    assert facts["diveDefined"] and facts["diveData"] == total and facts["diveItems"] == total
    assert {"file", "split", "label", "quarantine", "predicted", "confidence", "label_issue_score",
            "suspect"} <= set(facts["diveKeys"])
    assert errors == [] and blocked == []


def test_a_large_dataset_shows_every_quarantined_and_suspected_example_and_an_even_sample():
    from components.facets_pages.executor import select_for_dive

    rows = [{"split": "train", "file": f"{i:05d}.png", "quarantine": "ok", "suspect": "no"} for i in range(1000)]
    rows[7]["quarantine"], rows[500]["suspect"] = "truncated or corrupt image data", "yes"
    chosen, total = select_for_dive(iter(rows), limit=100)  # streamed: a generator is enough
    assert total == 1000 and len(chosen) == 100 and rows[7] in chosen and rows[500] in chosen
    assert chosen == sorted(chosen, key=lambda r: r["file"])  # report order kept
    assert chosen == select_for_dive(rows, limit=100)[0]  # the same examples on every run
    assert sum(r["file"] < "00500" for r in chosen) in range(35, 66)  # spread over the whole report
    assert select_for_dive(rows[:50], limit=100) == (rows[:50], 50)
    shuffled = [dict(r, _order=(r["file"],)) for r in reversed(rows)]  # given out of order, with their place
    assert [r["file"] for r in select_for_dive(shuffled, limit=100)[0]] == [r["file"] for r in chosen]


def test_the_streamed_atlas_equals_the_atlas_of_a_list():
    from components.facets_pages import pages

    images = [_png(i % 2, i) for i in range(5)] + [b"not an image"]
    assert pages.streamed_sprite_atlas(6, reversed(list(enumerate(images)))) == pages.sprite_atlas(images)
