"""Layouts and names as users have them: split folders, CSV split columns, odd paths, and data safety."""

import collections
import csv
import json
import os
from pathlib import Path

import pytest
import tensorflow as tf
from PIL import Image

from common import names
from ingest import data_prep
from tests.image_fixtures import encode, solid, write_class_folders

SHARED_CLOTHING = Path(__file__).resolve().parents[2] / "shared" / "datasets" / "clothing3"


def _split_tree(root, splits=("train", "val", "test"), classes=("hat", "pants"), per_class=(6, 2, 3)):
    for split, count in zip(splits, per_class):
        write_class_folders(root / split, per_class=count, classes=classes)
    return root


def _read(root, split):
    files = sorted(tf.io.gfile.glob(str(root / split / f"*{names.TFRECORD_SUFFIX}")))
    rows = []
    for record in tf.data.TFRecordDataset(files, compression_type="GZIP"):
        feature = tf.train.Example.FromString(record.numpy()).features.feature
        rows.append((feature[names.FILENAME_KEY].bytes_list.value[0].decode(),
                     feature[names.LABEL_NAME_KEY].bytes_list.value[0].decode()))
    return rows


def test_split_folders_are_read_as_splits_never_as_classes(tmp_path):
    src = _split_tree(tmp_path / "photos")
    result = data_prep.prepare(src, tmp_path / "out")
    dataset = result.dataset
    assert dataset.class_names == ["hat", "pants"]
    assert dataset.split_counts == {"train": 12, "eval": 4}
    train, evals = _read(dataset.root, "train"), _read(dataset.root, "eval")
    assert all(name.startswith("train/") for name, _ in train)
    assert all(name.startswith("val/") for name, _ in evals)  # val/ is the eval split, test/ is left alone
    assert not any(name.startswith("test/") for name, _ in train + evals)
    text = "\n".join(result.describe())
    assert "train/ -> train" in text and "val/ -> eval" in text
    assert "not used: test/ (6 images)" in text


def test_eval_split_can_be_chosen(tmp_path):
    src = _split_tree(tmp_path / "photos")
    dataset = data_prep.prepare(src, tmp_path / "out", eval_split="test").dataset
    assert dataset.split_counts == {"train": 12, "eval": 6}
    with pytest.raises(data_prep.DataPrepError, match="--eval-split holdout: .* has no such held-out split; "
                                                      "it has test, val"):
        data_prep.prepare(src, tmp_path / "out2", eval_split="holdout")


@pytest.mark.parametrize("held_out", ["valid", "validation", "eval", "Val", "TEST"])
def test_every_common_held_out_name_is_a_split(tmp_path, held_out):
    src = _split_tree(tmp_path / "photos", splits=("train", held_out))
    assert data_prep.prepare(src, tmp_path / "out").dataset.class_names == ["hat", "pants"]


def test_split_folders_mixed_with_class_folders_are_refused(tmp_path):
    src = _split_tree(tmp_path / "photos", splits=("train",))
    write_class_folders(src, per_class=2, classes=("shoes",))
    with pytest.raises(data_prep.DataPrepError, match=r"mixes split folders \(train/\) with other folders "
                                                      r"\(shoes/\)"):
        data_prep.scan_image_folders(src)


def test_a_class_named_like_a_split_is_refused(tmp_path):
    src = tmp_path / "photos"
    write_class_folders(src / "train", per_class=2, classes=("hat", "test"))
    with pytest.raises(data_prep.DataPrepError, match="folder.*test inside a split folder are named like splits"):
        data_prep.scan_image_folders(src)


def test_class_only_in_eval_is_an_error_and_class_missing_from_eval_a_warning(tmp_path):
    src = tmp_path / "photos"
    write_class_folders(src / "train", per_class=3, classes=("hat", "pants"))
    write_class_folders(src / "val", per_class=1, classes=("hat", "shoes"))
    with pytest.raises(data_prep.DataPrepError, match="class.*shoes have eval images but no training images"):
        data_prep.prepare(src, tmp_path / "out")
    (src / "val" / "shoes" / "img_0.png").unlink()
    (src / "val" / "shoes").rmdir()
    result = data_prep.prepare(src, tmp_path / "out")
    assert any("pants have no eval images" in w for w in result.layout.warnings)


def test_a_class_with_one_image_trains_and_is_reported(tmp_path):
    src = write_class_folders(tmp_path / "photos", per_class=5, classes=("hat", "pants"))
    write_class_folders(src, per_class=1, classes=("shoes",))
    result = data_prep.prepare(src, tmp_path / "out")
    assert result.dataset.class_counts["train"]["shoes"] == 1 and "shoes" not in result.dataset.class_counts["eval"]
    assert any("shoes have no eval images" in w for w in result.layout.warnings)


def test_train_only_split_folder_is_split_here(tmp_path):
    src = _split_tree(tmp_path / "photos", splits=("train",), per_class=(10,))
    result = data_prep.prepare(src, tmp_path / "out")
    assert result.dataset.split_counts == {"train": 16, "eval": 4}
    assert "eval split made here" in result.layout.kind


def test_csv_split_column(tmp_path):
    src = write_class_folders(tmp_path / "imgs", per_class=4, classes=("a", "b"))
    manifest = tmp_path / "m.csv"
    with manifest.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["path", "label", "split"])
        for name in ("a", "b"):
            for i, split in enumerate(("train", "train", "validation", "test")):
                writer.writerow([f"imgs/{name}/img_{i}.png", name, split])
    result = data_prep.prepare(manifest, tmp_path / "out")
    assert result.dataset.split_counts == {"train": 4, "eval": 2}
    assert {name for name, _ in _read(result.dataset.root, "eval")} == {"imgs/a/img_2.png", "imgs/b/img_2.png"}
    assert result.layout.unused == {"split=test": 2}
    manifest.write_text("path,label,split\nimgs/a/img_0.png,a,later\n")
    with pytest.raises(data_prep.DataPrepError, match="line 2: split 'later' is not one of"):
        data_prep.read_csv_manifest(manifest)
    assert src.is_dir()


def test_csv_row_outside_its_root_is_refused(tmp_path):
    write_class_folders(tmp_path / "elsewhere", per_class=1, classes=("a",))
    (tmp_path / "project").mkdir()
    manifest = tmp_path / "project" / "m.csv"
    manifest.write_text(f"path,label\n../elsewhere/a/img_0.png,a\n{tmp_path}/elsewhere/a/img_0.png,a\n")
    with pytest.raises(data_prep.DataPrepError, match=r"line 2: \.\./elsewhere/a/img_0.png is outside the "
                                                      r"manifest's folder.*line 3: .* is outside"):
        data_prep.read_csv_manifest(manifest)


def test_spaces_non_ascii_upper_case_extensions_and_symlinked_folders(tmp_path):
    src = tmp_path / "my photos"
    for class_name, file_name in (("帽子", "front view 1.JPG"), ("帽子", "été.JPEG"), ("Hosen", "paar eins.PNG"),
                                  ("Hosen", "zwei.Png")):
        path = src / class_name / file_name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(encode(solid((len(file_name) * 7 % 255, 10, 20)), "PNG"))
    linked = tmp_path / "other disk" / "chaussures"
    write_class_folders(linked.parent, per_class=2, classes=("chaussures",))
    os.symlink(linked, src / "chaussures", target_is_directory=True)
    result = data_prep.prepare(src, tmp_path / "out")
    assert result.dataset.class_names == ["Hosen", "chaussures", "帽子"]
    rows = _read(result.dataset.root, "train") + _read(result.dataset.root, "eval")
    assert collections.Counter(label for _, label in rows) == {"Hosen": 2, "chaussures": 2, "帽子": 2}
    assert "帽子/front view 1.JPG" in {name for name, _ in rows}
    assert (result.dataset.root / "labels.txt").read_text(encoding="utf-8").split("\n")[:3] == \
        ["Hosen", "chaussures", "帽子"]


def test_files_that_are_not_images_are_listed_not_dropped_silently(tmp_path):
    src = write_class_folders(tmp_path / "photos", per_class=3, classes=("a", "b"))
    (src / "a" / "scan.webp").write_bytes(b"RIFF....WEBP")
    (src / "b" / "notes.txt").write_text("hello")
    Image.new("RGB", (16, 16), "red").save(src / "b" / "scan.tiff")
    result = data_prep.prepare(src, tmp_path / "out")
    # A format TensorFlow cannot decode becomes an example, which the ImageValidator quarantines with the
    # reason (counted, in the report); the note is listed as left out, in the layout and in the manifest.
    assert sum(result.dataset.split_counts.values()) == 8
    assert result.layout.skipped == [("b/notes.txt", "not an image file")]
    assert "  left out: b/notes.txt (not an image file)" in result.describe()
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert manifest["rejected"] == [{"files": ["b/notes.txt"], "reason": "not an image file"}]
    assert "notes.txt" not in json.dumps(manifest["layout"]), "listed once, under rejected"


@pytest.mark.parametrize("where", ["same", "inside", "containing"])
def test_output_overlapping_the_input_is_refused_and_nothing_is_deleted(tmp_path, where):
    src = write_class_folders(tmp_path / "photos", per_class=2)
    before = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*"))
    out = {"same": src, "inside": src / "prepared", "containing": tmp_path}[where]
    with pytest.raises(data_prep.DataPrepError, match="overwrite your data"):
        data_prep.prepare(src, out)
    assert sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*")) == before
    assert data_prep.main([str(src), str(out)]) == 2


def test_a_non_empty_folder_not_written_by_data_prep_is_refused(tmp_path):
    src = write_class_folders(tmp_path / "photos", per_class=2)
    out = tmp_path / "my documents"
    out.mkdir()
    (out / "thesis.txt").write_text("precious")
    with pytest.raises(data_prep.DataPrepError, match="not empty and was not written by data preparation"):
        data_prep.prepare(src, out)
    assert (out / "thesis.txt").read_text() == "precious"
    data_prep.prepare(src, tmp_path / "prepared")
    data_prep.prepare(src, tmp_path / "prepared")  # its own earlier output is replaced


@pytest.mark.skipif(not SHARED_CLOTHING.is_dir(), reason="../shared/datasets/clothing3 not present")
def test_real_clothing_photos_in_train_val_test_folders(tmp_path):
    result = data_prep.prepare(SHARED_CLOTHING, tmp_path / "out")
    assert result.dataset.class_names == ["hat", "pants", "shoes"]
    assert result.layout.split_sources == {"train/": "train", "val/": "eval"} and "test/" in result.layout.unused
    rows = _read(result.dataset.root, "eval")
    assert rows and all(name.startswith("val/") for name, _ in rows)
