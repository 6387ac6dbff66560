"""Detection data prep: VOC folders and box CSVs become examples; every bad box is reported by file."""

import json

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from common import names
from ingest import detection_prep, embedded
from ingest.shards import DataPrepError


def _image(path, size=(40, 30)):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.full((size[1], size[0], 3), 90, np.uint8)).save(path)


def _xml(path, objects, size=(40, 30)):
    path.parent.mkdir(parents=True, exist_ok=True)
    body = "".join(f"<object><name>{n}</name><bndbox><xmin>{a}</xmin><ymin>{b}</ymin><xmax>{c}</xmax>"
                   f"<ymax>{d}</ymax></bndbox></object>" for n, (a, b, c, d) in objects)
    path.write_text(f"<annotation><size><width>{size[0]}</width><height>{size[1]}</height></size>{body}"
                    "</annotation>")


def _examples(dataset):
    found = {}
    for split in ("train", "eval"):
        for record in tf.data.TFRecordDataset(sorted((dataset.root / split).glob("*.gz")), compression_type="GZIP"):
            feature = tf.train.Example.FromString(record.numpy()).features.feature
            name = feature[names.FILENAME_KEY].bytes_list.value[0].decode()
            found[name] = (split, [list(feature[k].float_list.value) for k in names.BOX_COORDINATE_KEYS],
                           list(feature[names.BOX_CLASS_KEY].int64_list.value))
    return found


def _voc(root):
    for i in range(6):
        _image(root / "images" / f"im{i}.png")
        _xml(root / "annotations" / f"im{i}.xml", [("cat", (4, 3, 24, 15)), ("dog", (20, 10, 40, 30))])
    _xml(root / "annotations" / "im1.xml", [("cat", (4, 3, 24, 15)), ("dog", (20, 10, 45, 30))])  # outside
    _xml(root / "annotations" / "im2.xml", [("cow", (4, 3, 24, 15))])  # unknown class
    _xml(root / "annotations" / "im3.xml", [("cat", (24, 3, 4, 15))])  # no area
    _xml(root / "annotations" / "im4.xml", [("cat", (4, 3, 24, 15))], size=(80, 60))  # size mismatch
    _image(root / "images" / "lonely.png")
    return root


def test_voc_boxes_are_normalised_and_every_bad_image_is_named_with_its_reason(tmp_path):
    root = _voc(tmp_path / "voc")
    _image(root / "images" / "im6.png")
    _xml(root / "annotations" / "im6.xml", [("cat", (0, 0, 41, 31))])  # 1 px overshoot: clipped
    dataset, rejected, _ = detection_prep.prepare(root, tmp_path / "out", ["cat", "dog"], eval_fraction=0.5)
    reasons = {r.files[0]: r.reason for r in rejected}
    assert "outside the 40x30 image" in reasons["im1.png"]
    assert "unknown class (known: cat, dog)" in reasons["im2.png"]
    assert "no area" in reasons["im3.png"]
    assert "the annotation says 80x60 but the image is 40x30" in reasons["im4.png"]
    assert reasons["images/lonely.png"] == "no annotation with this name stem"
    found = _examples(dataset)
    assert sorted(found) == ["im0.png", "im5.png", "im6.png"]
    _, coordinates, classes = found["im0.png"]
    np.testing.assert_allclose(coordinates, [[0.1, 0.5], [0.1, 1 / 3], [0.6, 1.0], [0.5, 1.0]], atol=1e-6)
    assert classes == [0, 1]
    np.testing.assert_allclose(found["im6.png"][1], [[0.0], [0.0], [1.0], [1.0]])
    manifest = json.loads((dataset.root / "manifest.json").read_text())
    assert manifest["task"] == "detection" and len(manifest["rejected"]) == 5


def test_voc_split_lists_decide_the_split_and_the_unused_list_is_reported(tmp_path):
    root = tmp_path / "voc"
    for i in range(6):
        _image(root / "images" / f"im{i}.png")
        _xml(root / "annotations" / f"im{i}.xml", [("cat", (4, 3, 24, 15))])
    (root / "splits").mkdir()
    (root / "splits" / "train.txt").write_text("im0\nim1\nim2\n")
    (root / "splits" / "val.txt").write_text("im3\nim4\n")
    (root / "splits" / "test.txt").write_text("im5\n")
    dataset, _, notes = detection_prep.prepare(root, tmp_path / "out")
    found = _examples(dataset)
    assert {n: s for n, (s, _, _) in found.items()} == {"im0.png": "train", "im1.png": "train", "im2.png": "train",
                                                        "im3.png": "eval", "im4.png": "eval"}
    assert any("test.txt left out" in note for note in notes)
    assert dataset.class_names == ["cat"]
    test_eval, _, _ = detection_prep.prepare(root, tmp_path / "out2", eval_split="test")
    assert {n for n, (s, _, _) in _examples(test_eval).items() if s == "eval"} == {"im5.png"}


def test_csv_rows_group_by_image_and_an_image_without_objects_is_kept(tmp_path):
    for name in ("a.png", "b.png", "c.png", "d.png"):
        _image(tmp_path / "photos" / name)
    csv_path = tmp_path / "boxes.csv"
    csv_path.write_text("path,xmin,ymin,xmax,ymax,class\n"
                        "photos/a.png,4,3,24,15,cat\nphotos/a.png,20,10,40,30,dog\n"
                        "photos/b.png,,,,,\n"
                        "photos/c.png,1,2,x,4,cat\n"
                        "photos/d.png,0,0,10,10,dog\n")
    dataset, rejected, _ = detection_prep.prepare(csv_path, tmp_path / "out", eval_fraction=0.5)
    assert [(r.files[0], "not numbers" in r.reason) for r in rejected] == [("photos/c.png", True)]
    found = _examples(dataset)
    assert found["photos/a.png"][2] == [0, 1] and found["photos/b.png"][2] == []
    assert dataset.class_names == ["cat", "dog"]


def test_a_folder_that_is_neither_layout_is_refused_with_both_layouts_named(tmp_path):
    (tmp_path / "x").mkdir()
    with pytest.raises(DataPrepError, match="Pascal VOC folder .* or a CSV with columns path,xmin"):
        detection_prep.prepare(tmp_path / "x", tmp_path / "out")
    bad_csv = tmp_path / "b.csv"
    bad_csv.write_text("file,class\n")
    with pytest.raises(DataPrepError, match="missing column"):
        detection_prep.prepare(bad_csv, tmp_path / "out")


def test_the_embedded_scenes_are_deterministic_and_prepared_through_the_voc_path(tmp_path):
    first = embedded.write_detection_scenes(tmp_path / "a", count=12)
    second = embedded.write_detection_scenes(tmp_path / "b", count=12)
    for sub in ("images/scene_0003.png", "annotations/scene_0007.xml"):
        assert (first / sub).read_bytes() == (second / sub).read_bytes()
    dataset, rejected, _ = detection_prep.prepare(first, tmp_path / "out", embedded.SCENE_CLASSES)
    assert not rejected and sum(dataset.split_counts.values()) == 12
    boxes = [len(c) for _, _, c in _examples(dataset).values()]
    assert min(boxes) >= 1 and max(boxes) <= 6
