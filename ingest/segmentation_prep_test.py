"""Segmentation data prep: pairing, value->class mapping, per-pair checks, real ISBI masks."""

import io
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from common import names as ef
from ingest import data_prep, segmentation_prep

SHARED_ISBI = Path(__file__).resolve().parents[2] / "shared" / "datasets" / "isbi2012-membrane"


def _png(array):
    buffer = io.BytesIO()
    Image.fromarray(array.astype(np.uint8)).save(buffer, format="PNG")
    return buffer.getvalue()


def _pair(root, stem, image, mask):
    (root / "images").mkdir(parents=True, exist_ok=True)
    (root / "masks").mkdir(parents=True, exist_ok=True)
    (root / "images" / f"{stem}.png").write_bytes(_png(image))
    (root / "masks" / f"{stem}.png").write_bytes(_png(mask))


def _binary_mask(h=6, w=8):
    mask = np.zeros((h, w), np.uint8)
    mask[:, w // 2:] = 255
    return mask


def _read_masks(root, split):
    files = tf.io.gfile.glob(str(root / split / "*"))
    out = {}
    for record in tf.data.TFRecordDataset(files, compression_type="GZIP"):
        f = tf.train.Example.FromString(record.numpy()).features.feature
        mask = np.asarray(Image.open(io.BytesIO(f[ef.DEFAULT_MASK_KEY].bytes_list.value[0])))
        out[f[ef.FILENAME_KEY].bytes_list.value[0].decode()] = (mask, [n.decode() for n in f[ef.CLASS_NAMES_KEY].bytes_list.value])
    return out


def test_values_are_mapped_to_class_ids_and_bad_pairs_left_out(tmp_path):
    src = tmp_path / "src"
    image = np.full((6, 8, 3), 90, np.uint8)
    for i in range(4):
        _pair(src, f"ok{i}", image, _binary_mask())
    _pair(src, "badvalue", image, np.where(_binary_mask() == 255, 128, 0))
    _pair(src, "badsize", image, _binary_mask(6, 7))
    (src / "images" / "lonely.png").write_bytes(_png(image))
    (src / "images" / "notes.txt").write_text("not an image")
    (src / "masks" / "ok0.jpg").write_bytes(b"lossy")
    dataset, rejected = segmentation_prep.prepare(
        src, tmp_path / "out", ["cell", "membrane"], segmentation_prep.parse_mask_values("0:1,255:0"), eval_fraction=0.25)
    reasons = {r.files[0]: r.reason for r in rejected}
    assert reasons["images/notes.txt"] == "not an image file"  # the words the other tasks use
    assert reasons["masks/ok0.jpg"].startswith("not a lossless mask file (.png")
    assert "no mask with this name stem" in reasons["images/lonely.png"]
    assert "value(s) [128] not in the value->class mapping [0, 255]" in reasons["images/badvalue.png"]
    assert "mask is 7x6 but image is 8x6" in reasons["images/badsize.png"]
    assert dataset.split_counts == {"train": 3, "eval": 1}
    masks = {**_read_masks(dataset.root, "train"), **_read_masks(dataset.root, "eval")}
    for mask, names in masks.values():
        assert names == ["cell", "membrane"]
        np.testing.assert_array_equal(mask, np.where(_binary_mask() == 255, 0, 1))


def test_mapping_to_unknown_class_is_an_error(tmp_path):
    with pytest.raises(data_prep.DataPrepError, match=r"maps to class id\(s\) \[5\].*only 2 classes"):
        segmentation_prep.prepare(tmp_path / "src", tmp_path / "o", ["a", "b"], {0: 0, 254: 5})


def test_bad_mapping_syntax_is_an_error():
    with pytest.raises(data_prep.DataPrepError, match="not VALUE:CLASS_ID"):
        segmentation_prep.parse_mask_values("0=1")


def test_missing_folders_are_an_error(tmp_path):
    (tmp_path / "src").mkdir()
    with pytest.raises(data_prep.DataPrepError, match="expected two folders, images/ and masks/"):
        segmentation_prep.prepare(tmp_path / "src", tmp_path / "o", ["a", "b"])


def test_cli_lists_what_was_left_out(tmp_path, capsys):
    src = tmp_path / "src"
    for i in range(3):
        _pair(src, f"p{i}", np.zeros((4, 4, 3)), np.zeros((4, 4)))
    _pair(src, "big", np.zeros((4, 4, 3)), np.full((4, 4), 3))
    assert segmentation_prep.main([str(src), str(tmp_path / "out"), "--class-names", "a,b"]) == 0
    captured = capsys.readouterr()
    assert "left out: images/big.png + masks/big.png: mask holds value(s) [3]" in captured.err
    assert "1 left out" in captured.out


@pytest.mark.skipif(not SHARED_ISBI.is_dir(), reason="../shared/datasets/isbi2012-membrane not present")
def test_real_isbi_masks_with_0_255_mapping(tmp_path):
    dataset, rejected = segmentation_prep.prepare(
        SHARED_ISBI, tmp_path / "isbi", ["cell", "membrane"], {255: 0, 0: 1}, eval_fraction=0.2)
    assert rejected == [] and dataset.split_counts == {"train": 24, "eval": 6}
    masks = [m for m, _ in {**_read_masks(dataset.root, "train"), **_read_masks(dataset.root, "eval")}.values()]
    cell_share = np.mean([np.mean(m == 0) for m in masks])
    assert set(np.unique(np.stack(masks))) == {0, 1} and 0.7 < cell_share < 0.85


def test_two_images_with_one_stem_are_both_reported_not_silently_dropped(tmp_path):
    src = tmp_path / "src"
    for i in range(3):
        _pair(src, f"p{i}", np.zeros((4, 4, 3)), np.zeros((4, 4)))
    (src / "images" / "p0.jpg").write_bytes((src / "images" / "p0.png").read_bytes())
    dataset, rejected = segmentation_prep.prepare(src, tmp_path / "out", ["a", "b"])
    assert sum(dataset.split_counts.values()) == 2
    (twin,) = [r for r in rejected if "share the name stem" in r.reason]
    assert set(twin.files) == {"images/p0.jpg", "images/p0.png"}
    assert any(r.files == ("masks/p0.png",) and "no image" in r.reason for r in rejected)


def test_a_void_value_can_be_mapped_to_ignore(tmp_path):
    src = tmp_path / "src"
    for i in range(3):
        _pair(src, f"p{i}", np.zeros((4, 4, 3)), np.array([[0, 1, 11, 11]] * 4))
    mapping = segmentation_prep.parse_mask_values("0:0,1:1,11:ignore")
    assert mapping == {0: 0, 1: 1, 11: 255}
    dataset, rejected = segmentation_prep.prepare(src, tmp_path / "out", ["a", "b"], mapping)
    assert rejected == []
    masks = {**_read_masks(dataset.root, "train"), **_read_masks(dataset.root, "eval")}
    for mask, _ in masks.values():
        np.testing.assert_array_equal(mask[0], [0, 1, 255, 255])
