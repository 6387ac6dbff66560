"""Resolving --data: embedded default, image folders, pre-split and flat TFRecord directories."""

import os
from pathlib import Path

import pytest
import tensorflow as tf

from ingest import data_prep, source as data_source
from ingest.config import DataConfig
from tests.image_fixtures import write_class_folders

SHARED_CIFAR = Path(__file__).resolve().parents[2] / "shared" / "datasets" / "cifar10-tfx-subset"


def _resolve(tmp_path, data=None, class_names=(), log=lambda *_: None, task="classification"):
    return data_source.resolve(task, DataConfig(path=data), str(tmp_path / "out" / "data"), class_names, log=log)


def _write_tfrecord(path: Path, n=3):
    path.parent.mkdir(parents=True, exist_ok=True)
    with tf.io.TFRecordWriter(str(path)) as writer:
        for _ in range(n):
            writer.write(tf.train.Example().SerializeToString())


def _splits(source):
    return {s.name: s.pattern for s in source.input_config.splits}


def test_default_is_the_embedded_digits(tmp_path):
    source = _resolve(tmp_path)
    assert _splits(source) == {"train": "train/*.tfrecord.gz", "eval": "eval/*.tfrecord.gz"}
    assert source.class_names == [str(d) for d in range(10)]
    info = data_prep.load_prepared(Path(source.input_base))
    assert sum(info.split_counts.values()) == 1797


def test_image_folder_is_prepared_and_reused(tmp_path):
    images = write_class_folders(tmp_path / "imgs", per_class=5)
    first_log, second_log = [], []
    first = _resolve(tmp_path, str(images), log=first_log.append)
    second = _resolve(tmp_path, str(images), log=second_log.append)
    assert first.input_base == second.input_base
    assert first.class_names == ["cat", "dog", "eel"]
    assert "[reused]" in second_log[0] and "[reused]" not in first_log[0]
    # The layout it understood is printed every time: kind, then classes with counts per split.
    assert first_log[1:] == second_log[1:]
    assert first_log[1].startswith("layout: class folders") and any(line.split()[:3] == ["cat", "4", "1"]
                                                                     for line in first_log)


def test_presplit_tfrecords_with_test_folder_and_labels_file(tmp_path):
    root = tmp_path / "records"
    _write_tfrecord(root / "train" / "a.tfrecord")
    _write_tfrecord(root / "test" / "b.tfrecord")
    (root / "labels.txt").write_text("x\ny\n")
    source = _resolve(tmp_path, str(root))
    assert _splits(source) == {"train": "train/*", "eval": "test/*"}
    assert source.output_config is None and source.class_names == ["x", "y"]


def test_flat_tfrecords_are_hash_split_and_labels_can_be_given(tmp_path):
    root = tmp_path / "flat"
    _write_tfrecord(root / "part-0.tfrecord.gz")
    _write_tfrecord(root / "part-1.tfrecord.gz")
    source = _resolve(tmp_path, str(root), class_names=["a", "b"])
    assert _splits(source) == {"single": "*.tfrecord.gz"}
    buckets = {s.name: s.hash_buckets for s in source.output_config.split_config.splits}
    assert buckets == {"train": 4, "eval": 1}


def test_tfrecords_without_labels_is_a_clear_error(tmp_path):
    root = tmp_path / "nolabels"
    _write_tfrecord(root / "train" / "a.tfrecord")
    _write_tfrecord(root / "eval" / "b.tfrecord")
    with pytest.raises(data_prep.DataPrepError, match="no labels.txt.*--labels FILE"):
        _resolve(tmp_path, str(root))


def test_missing_data_path_is_a_clear_error(tmp_path):
    with pytest.raises(data_prep.DataPrepError, match="--data .*nowhere: no such file or directory"):
        _resolve(tmp_path, str(tmp_path / "nowhere"))


@pytest.mark.skipif(not SHARED_CIFAR.is_dir(), reason="../shared/datasets/cifar10-tfx-subset not present")
def test_shared_cifar_subset_is_taken_as_is(tmp_path):
    source = _resolve(tmp_path, str(SHARED_CIFAR))
    assert _splits(source) == {"train": "train/*", "eval": "test/*"}
    assert source.class_names[:2] == ["airplane", "automobile"] and len(source.class_names) == 10
    assert os.path.samefile(source.input_base, SHARED_CIFAR)


def _resolve_with(tmp_path, task="classification", **data):
    return data_source.resolve(task, DataConfig(**data), str(tmp_path / "out" / "data"), log=lambda *_: None)


def _hash_buckets(source):
    return {s.name: s.hash_buckets for s in source.output_config.split_config.splits}


def test_a_flat_tfrecord_folder_is_split_by_eval_fraction(tmp_path):
    root = tmp_path / "flat"
    _write_tfrecord(root / "a.tfrecord")
    (root / "labels.txt").write_text("x\ny\n")
    assert _hash_buckets(_resolve_with(tmp_path, path=str(root))) == {"train": 4, "eval": 1}  # the default 0.2
    assert _hash_buckets(_resolve_with(tmp_path, path=str(root), eval_fraction=0.3)) == {"train": 7, "eval": 3}
    with pytest.raises(data_prep.DataPrepError, match="--eval-split val: .* holds TFRecords without split folders"):
        _resolve_with(tmp_path, path=str(root), eval_split="val")


def test_eval_fraction_is_refused_by_name_where_the_data_names_its_split(tmp_path):
    records = tmp_path / "records"
    _write_tfrecord(records / "train" / "a.tfrecord")
    _write_tfrecord(records / "val" / "b.tfrecord")
    (records / "labels.txt").write_text("x\ny\n")
    photos = tmp_path / "photos"
    write_class_folders(photos / "train", per_class=3, classes=("hat", "pants"))
    write_class_folders(photos / "val", per_class=1, classes=("hat", "pants"))
    for root in (records, photos):
        with pytest.raises(data_prep.DataPrepError, match=r"--eval-fraction 0.3: .* names its own held-out split"):
            _resolve_with(tmp_path, path=str(root), eval_fraction=0.3)
        _resolve_with(tmp_path, path=str(root))  # without the flag: the data's own split, as before


def test_image_mask_folders_refuse_eval_split_by_name(tmp_path):
    from ingest import embedded

    shapes = embedded.write_shapes_dataset(tmp_path / "shapes", count=6, size=16)
    with pytest.raises(data_prep.DataPrepError, match="--eval-split val: .* without held-out folders"):
        _resolve_with(tmp_path, task="segmentation", path=str(shapes), eval_split="val")
