"""ImageValidator executor: Do() on real Examples artifacts in a temp dir, with real Beam."""

import io
import json
import os

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image
from tfx.types import artifact_utils, standard_artifacts

from common.examples_io import record_dataset
from components.image_validator import checks
from components.image_validator.executor import (IDENTICAL_SHARDS_PREFIX, REPORT_FILENAME, Executor,
                                                 TooManyBadExamples, ValidationConfig, summarize)
from components.image_validator.report import load_report
from components.image_validator.spec import ROWS_FILENAME, ImageValidationReport
from ingest.example_format import make_image_example


def _png(array, mode=None):
    buffer = io.BytesIO()
    Image.fromarray(array, mode=mode).save(buffer, format="PNG")
    return buffer.getvalue()


def _image(seed, size=(12, 12)):
    return _png(np.random.default_rng(seed).integers(0, 255, size + (3,), dtype=np.uint8))


def _scene(size, fmt="PNG"):
    """A smooth picture (shapes on a gradient), encoded at ``size``: resizing keeps its perceptual hash."""
    from PIL import Image, ImageDraw

    image = Image.fromarray(np.tile(np.linspace(20, 220, 96, dtype=np.uint8), (96, 1))).convert("RGB")
    draw = ImageDraw.Draw(image)
    draw.ellipse((10, 12, 50, 60), fill=(200, 40, 40))
    draw.rectangle((55, 30, 90, 85), fill=(30, 30, 160))
    buffer = io.BytesIO()
    image.resize((size, size)).save(buffer, format=fmt, quality=80)
    return buffer.getvalue()


GOOD = _image(1)
SPLITS = {
    "train": {
        "good_a.png": GOOD,
        "good_b.png": _image(2),
        "gray16.png": _png(np.full((12, 12), 40000, np.uint16), mode="I;16"),
        "rgba.png": _png(np.full((12, 12, 4), 99, np.uint8), mode="RGBA"),
        "zero.png": b"",
        "garbage.png": b"this is not an image at all",
        "truncated.png": _image(3, (40, 40))[:200],
        "tiny.png": _image(4, (3, 3)),
        "long.png": _image(5, (8, 60)),
        "good_a_copy.png": GOOD,
        "scene.png": _scene(96),
    },
    "eval": {
        "eval_good.png": _image(6),
        "scene_resized.jpg": _scene(64, "JPEG"),
        "leak_of_a.png": GOOD,
    },
}
EXPECTED_BAD = {
    "zero.png": checks.EMPTY, "garbage.png": checks.UNDECODABLE, "truncated.png": checks.TRUNCATED,
    "tiny.png": checks.TOO_SMALL, "long.png": checks.ASPECT, "good_a_copy.png": checks.DUPLICATE,
    "leak_of_a.png": checks.LEAKAGE,
}


def _examples_artifact(root, splits=SPLITS):
    examples = standard_artifacts.Examples()
    examples.uri = str(root / "examples")
    examples.split_names = artifact_utils.encode_split_names(list(splits))
    for split, files in splits.items():
        split_dir = os.path.join(examples.uri, f"Split-{split}")
        os.makedirs(split_dir)
        options = tf.io.TFRecordOptions(compression_type="GZIP")
        with tf.io.TFRecordWriter(os.path.join(split_dir, "data_tfrecord-00000-of-00001.gz"), options) as writer:
            # A list of (name, bytes) may repeat a record (one label for all, so repeats are byte-identical).
            items = files.items() if isinstance(files, dict) else files
            for i, (name, data) in enumerate(items):
                label = i % 2 if isinstance(files, dict) else 0
                # deterministic: protobuf's map order otherwise differs between two equal examples.
                writer.write(make_image_example(data, label, str(label), name).SerializeToString(deterministic=True))
    return examples


def _run(tmp_path, max_bad_fraction=0.9, splits=SPLITS):
    outputs = {}
    for key, artifact_type in (("validated_examples", standard_artifacts.Examples),
                               ("quarantine", standard_artifacts.Examples), ("report", ImageValidationReport)):
        artifact = artifact_type()
        artifact.uri = str(tmp_path / key)
        outputs[key] = [artifact]
    config = ValidationConfig(min_size=8, max_aspect_ratio=4.0, max_bad_fraction=max_bad_fraction)
    error = None
    try:
        Executor().Do({"examples": [_examples_artifact(tmp_path, splits)]}, outputs, {"config": config.to_json()})
    except TooManyBadExamples as err:
        error = err
    return outputs, error


def _read(artifact, split):
    files = tf.io.gfile.glob(os.path.join(artifact.uri, f"Split-{split}", "*"))
    rows = []
    for record in record_dataset(files):
        feature = tf.train.Example.FromString(record.numpy()).features.feature
        reason = feature["quarantine_reason"].bytes_list.value if "quarantine_reason" in feature else []
        rows.append((feature["filename"].bytes_list.value[0].decode(), reason[0].decode() if reason else None))
    return rows


@pytest.fixture(scope="module")
def validated(tmp_path_factory):
    return _run(tmp_path_factory.mktemp("validator"))


@pytest.mark.pipeline
def test_bad_examples_are_quarantined_with_their_reason(validated):
    outputs, error = validated
    assert error is None
    quarantined = {}
    for split in SPLITS:
        quarantined.update(dict(_read(outputs["quarantine"][0], split)))
    assert quarantined == EXPECTED_BAD


@pytest.mark.pipeline
def test_more_verdicts_than_beams_side_input_bulk_read(tmp_path):
    """Past 100 keys Beam stops bulk-reading a multimap side input; the verdicts must still all apply
    (here 70 duplicates and 40 empty files)."""
    originals = {f"img{i}.png": _image(100 + i) for i in range(70)}
    train = {**originals, **{f"img{i}_copy.png": data for i, (_, data) in enumerate(originals.items())},
             **{f"empty{i}.png": b"" for i in range(40)}}
    outputs, error = _run(tmp_path, splits={"train": train, "eval": {"eval_good.png": _image(6)}})
    assert error is None
    bad = dict(_read(outputs["quarantine"][0], "train"))
    assert bad == {**{f"img{i}_copy.png": checks.DUPLICATE for i in range(70)},
                   **{f"empty{i}.png": checks.EMPTY for i in range(40)}}
    assert sorted(name for name, _ in _read(outputs["validated_examples"][0], "train")) == sorted(originals)


@pytest.mark.pipeline
def test_byte_identical_records_share_their_verdicts_one_each(tmp_path):
    """The same record three times (a CSV listing one file thrice) keeps one good copy; an empty one twice, none."""
    train = [("same.png", GOOD)] * 3 + [("empty.png", b"")] * 2 + [("other.png", _image(2))]
    outputs, error = _run(tmp_path, splits={"train": train, "eval": {"eval_good.png": _image(6)}})
    assert error is None
    assert sorted(_read(outputs["validated_examples"][0], "train")) == [("other.png", None), ("same.png", None)]
    assert sorted(_read(outputs["quarantine"][0], "train")) == [
        ("empty.png", checks.EMPTY), ("empty.png", checks.EMPTY),
        ("same.png", checks.DUPLICATE), ("same.png", checks.DUPLICATE)]
    # They went through the grouped path, written beside the streamed shards.
    for key in ("validated_examples", "quarantine"):
        names = os.listdir(os.path.join(outputs[key][0].uri, "Split-train"))
        assert any(n.startswith(IDENTICAL_SHARDS_PREFIX) for n in names), names
    assert not any(n.startswith(IDENTICAL_SHARDS_PREFIX)
                   for n in os.listdir(os.path.join(outputs["validated_examples"][0].uri, "Split-eval")))


@pytest.mark.pipeline
def test_good_examples_pass_unchanged_and_counts_add_up(validated):
    outputs, _ = validated
    for split, files in SPLITS.items():
        good = {name for name, _ in _read(outputs["validated_examples"][0], split)}
        bad = {name for name, _ in _read(outputs["quarantine"][0], split)}
        assert good == set(files) - set(EXPECTED_BAD)
        assert len(good) + len(bad) == len(files)
    assert outputs["validated_examples"][0].split_names == '["train", "eval"]'


@pytest.mark.pipeline
def test_report_records_properties_and_counts(validated):
    outputs, _ = validated
    summary = json.load(open(os.path.join(outputs["report"][0].uri, REPORT_FILENAME)))
    # The rows stream to their own file; the JSON holds counts only (no list of every example).
    assert "examples" not in summary and summary["examples_file"] == ROWS_FILENAME
    report = load_report(outputs["report"][0].uri)
    assert report["total"] == 14 and report["quarantined"] == 7 and report["good"] == 7
    assert [r["filename"] for r in report["examples"]] == sorted(
        (r["filename"] for r in report["examples"]), key=lambda n: (n not in SPLITS["eval"], n))
    assert report["splits"]["eval"] == {"input": 3, "good": 2, "quarantined": 1,
                                        "reasons": {checks.LEAKAGE: 1}, "class_counts": {"0": 1, "1": 1}}
    rows = {r["filename"]: r for r in report["examples"]}
    assert (rows["good_a.png"]["width"], rows["good_a.png"]["height"], rows["good_a.png"]["channels"]) == (12, 12, 3)
    assert rows["gray16.png"]["reason"] is None and rows["gray16.png"]["mode"].startswith("I")
    assert rows["rgba.png"]["channels"] == 4 and rows["rgba.png"]["format"] == "PNG"
    assert 0.0 <= rows["good_b.png"]["brightness"] <= 1.0
    assert rows["leak_of_a.png"]["detail"] == "same bytes as good_a.png (train split)"
    assert outputs["report"][0].get_int_custom_property("quarantined") == 7


@pytest.mark.pipeline
def test_too_many_bad_examples_fail_after_writing_everything(tmp_path):
    outputs, error = _run(tmp_path, max_bad_fraction=0.1)
    assert isinstance(error, TooManyBadExamples)
    assert "7 of 14 examples (50.0%) are bad" in str(error) and "raise --max-bad-fraction" in str(error)
    assert "1 too small (a side below 8 px: lower --min-image-size" in str(error)
    named = str(error).split("Details per file: ")[1].split(". Fix")[0]
    assert os.path.isfile(named), f"the message names {named}, which must still exist after the failure"
    assert os.path.isfile(os.path.join(outputs["report"][0].uri, REPORT_FILENAME))
    assert len(_read(outputs["validated_examples"][0], "train")) == 5


@pytest.mark.pipeline
def test_near_duplicates_are_kept_but_reported_across_splits_first(validated):
    outputs, _ = validated
    report = json.load(open(os.path.join(outputs["report"][0].uri, REPORT_FILENAME)))
    pairs = report["near_duplicates"]
    # The same picture resized and re-encoded as JPEG in eval: kept, listed first, and warned about.
    assert pairs[0]["a"] == "train/scene.png" and pairs[0]["b"] == "eval/scene_resized.jpg"
    assert pairs[0]["across_splits"] and pairs[0]["distance"] <= 4
    assert report["near_duplicate_pairs_across_splits"] == 1
    assert any("near-duplicate" in w and "leakage" in w for w in report["warnings"])
    # Unrelated random images are never paired.
    assert not any("good_b.png" in (p["a"], p["b"]) and "eval_good.png" in (p["a"], p["b"]) for p in pairs)


def test_an_imbalance_warning_names_the_rare_classes_by_name():
    rows = [{"split": "train", "reason": None, "label": label, "phash": "", "dhash": "", "filename": f"{i}.png",
             "index": i} for i, label in enumerate([0] * 20 + [1] * 2 + [2] * 20)]
    summary = summarize(rows, ValidationConfig(num_classes=3, class_names=["dog", "cat", "eel"],
                                               near_duplicate_distance=-1))
    assert summary["warnings"] == ["class imbalance in train: class(es) cat have under 20% of the largest "
                                   "class's 20 examples"]
