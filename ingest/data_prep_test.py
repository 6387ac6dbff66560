"""Data prep: folder and CSV sources, stratified deterministic split, TFRecord round trip."""

import collections
import csv
import json

import pytest
import tensorflow as tf

from common import names as ef
from ingest import data_prep
from tests.image_fixtures import write_class_folders


def _read_split(root, split):
    files = sorted(tf.io.gfile.glob(str(root / split / f"*{ef.TFRECORD_SUFFIX}")))
    examples = []
    for record in tf.data.TFRecordDataset(files, compression_type="GZIP"):
        example = tf.train.Example.FromString(record.numpy())
        f = example.features.feature
        examples.append({
            "image": f[ef.DEFAULT_IMAGE_KEY].bytes_list.value[0],
            "label": f[ef.DEFAULT_LABEL_KEY].int64_list.value[0],
            "label_name": f[ef.LABEL_NAME_KEY].bytes_list.value[0].decode(),
            "filename": f[ef.FILENAME_KEY].bytes_list.value[0].decode(),
        })
    return examples


def test_class_folders_round_trip(tmp_path):
    src = write_class_folders(tmp_path / "src", per_class=10)
    dataset = data_prep.prepare(src, tmp_path / "out", eval_fraction=0.2).dataset
    assert dataset.class_names == ["cat", "dog", "eel"]
    assert dataset.split_counts == {"train": 24, "eval": 6}
    assert (tmp_path / "out" / "labels.txt").read_text().split() == ["cat", "dog", "eel"]
    train, evals = _read_split(dataset.root, "train"), _read_split(dataset.root, "eval")
    # Stratified: every class keeps 8 train / 2 eval.
    assert collections.Counter(e["label_name"] for e in evals) == {"cat": 2, "dog": 2, "eel": 2}
    # Bytes are kept as given, label ids match the vocabulary, names are relative.
    for example in train + evals:
        assert example["image"] == (src / example["filename"]).read_bytes()
        assert dataset.class_names[example["label"]] == example["label_name"]
    assert not {e["filename"] for e in train} & {e["filename"] for e in evals}


def _shard_order(root, split):
    """File names in each shard's record order, shard by shard."""
    order = []
    for path in sorted(tf.io.gfile.glob(str(root / split / f"*{ef.TFRECORD_SUFFIX}"))):
        for record in tf.data.TFRecordDataset(path, compression_type="GZIP"):
            order.append(tf.train.Example.FromString(record.numpy()).features.feature[
                ef.FILENAME_KEY].bytes_list.value[0].decode())
    return order


def test_records_are_written_in_a_seeded_shuffled_order(tmp_path):
    """Class folders list one class after another; the shards must not (ImportExampleGen copies them as is)."""
    src = write_class_folders(tmp_path / "src", per_class=20)
    first = data_prep.prepare(src, tmp_path / "a", eval_fraction=0.2, seed=0).dataset
    order = _shard_order(first.root, "train")
    assert sorted(order) == sorted(e["filename"] for e in _read_split(first.root, "train"))
    classes = [name.split("/")[0] for name in order]
    assert classes != sorted(classes)
    # Mixed, not class runs: far more class changes between neighbours than the 2 of a sorted order.
    assert sum(a != b for a, b in zip(classes, classes[1:])) > len(classes) // 3
    manifest = json.loads((first.root / ef.MANIFEST_FILENAME).read_text())
    assert manifest[ef.RECORD_ORDER_KEY] == ef.SHUFFLED_RECORD_ORDER
    # Deterministic for a seed, and the seed changes it.
    assert _shard_order(data_prep.prepare(src, tmp_path / "b", eval_fraction=0.2, seed=0).dataset.root,
                        "train") == order
    assert _shard_order(data_prep.prepare(src, tmp_path / "c", eval_fraction=0.2, seed=1).dataset.root,
                        "train") != order


def test_split_is_deterministic_and_seeded(tmp_path):
    records, _, _ = data_prep.scan_image_folders(write_class_folders(tmp_path, per_class=20))
    a = data_prep.stratified_split(records, 0.25, seed=0)
    b = data_prep.stratified_split(list(reversed(records)), 0.25, seed=0)
    c = data_prep.stratified_split(records, 0.25, seed=1)
    assert [r.name for r in a["eval"]] == [r.name for r in b["eval"]]
    assert [r.name for r in a["eval"]] != [r.name for r in c["eval"]]


def test_csv_manifest_with_integer_labels_sorted_numerically(tmp_path):
    write_class_folders(tmp_path / "imgs", per_class=3, classes=("a", "b", "c"))
    manifest = tmp_path / "manifest.csv"
    with manifest.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["path", "label"])
        for label, name in (("2", "a"), ("10", "b"), ("3", "c")):
            for i in range(3):
                writer.writerow([f"imgs/{name}/img_{i}.png", label])
    records, class_names, _ = data_prep.read_csv_manifest(manifest)
    assert class_names == ["2", "3", "10"]
    assert len(records) == 9


def test_csv_errors_name_the_file_and_rows(tmp_path):
    manifest = tmp_path / "bad.csv"
    manifest.write_text("path,label\nmissing.png,cat\n,dog\n")
    with pytest.raises(data_prep.DataPrepError, match=r"bad.csv: 2 bad row\(s\): line 2: missing.png does not exist; line 3"):
        data_prep.read_csv_manifest(manifest)
    manifest.write_text("file,class\nx.png,cat\n")
    with pytest.raises(data_prep.DataPrepError, match=r"missing column\(s\) \['label', 'path'\]"):
        data_prep.read_csv_manifest(manifest)


def test_empty_class_folder_is_an_error(tmp_path):
    write_class_folders(tmp_path, per_class=2)
    (tmp_path / "empty").mkdir()
    with pytest.raises(data_prep.DataPrepError, match="class folder.*empty.*hold no images"):
        data_prep.scan_image_folders(tmp_path)


def test_failed_prep_keeps_the_previous_good_output(tmp_path, monkeypatch):
    src = write_class_folders(tmp_path / "src", per_class=4)
    out = tmp_path / "out"
    data_prep.prepare(src, out)
    before = sorted(p.name for p in (out / "train").iterdir())

    def boom(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(data_prep.ef, "make_image_example", boom)
    with pytest.raises(OSError):
        data_prep.prepare(src, out)
    assert sorted(p.name for p in (out / "train").iterdir()) == before
    assert data_prep.load_prepared(out) is not None
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".out-")]


def test_prepare_cached_reuses_unchanged_source(tmp_path):
    src = write_class_folders(tmp_path / "src", per_class=4)
    first = data_prep.prepare_cached(src, tmp_path / "cache")
    mtime = (first.dataset.root / "manifest.json").stat().st_mtime_ns
    second = data_prep.prepare_cached(src, tmp_path / "cache")
    assert (first.reused, second.reused) == (False, True)
    assert second.dataset.root == first.dataset.root
    assert (first.dataset.root / "manifest.json").stat().st_mtime_ns == mtime
    (src / "cat" / "img_new.png").write_bytes((src / "cat" / "img_0.png").read_bytes())
    third = data_prep.prepare_cached(src, tmp_path / "cache")
    assert not third.reused and third.dataset.root != first.dataset.root


def test_cli_reports_errors_with_exit_code_2(tmp_path, capsys):
    assert data_prep.main([str(tmp_path / "nope"), str(tmp_path / "out")]) == 2
    assert "not a CSV manifest or a directory" in capsys.readouterr().err
    src = write_class_folders(tmp_path / "src", per_class=5)
    assert data_prep.main([str(src), str(tmp_path / "out"), "--eval-fraction", "0.4"]) == 0
    assert "3 classes, eval=6, train=9" in capsys.readouterr().out


def _prepare_in_fresh_process(src, out, hash_seed: str) -> None:
    """Protobuf's map order can differ between processes, so reproducibility is checked across two."""
    import os
    import subprocess
    import sys

    env = dict(os.environ, PYTHONHASHSEED=hash_seed)
    done = subprocess.run([sys.executable, "-m", "ingest.data_prep", str(src), str(out)], env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr


def test_shards_are_byte_identical_across_processes(tmp_path):
    src = write_class_folders(tmp_path / "src", per_class=6)
    _prepare_in_fresh_process(src, tmp_path / "a", "1")
    _prepare_in_fresh_process(src, tmp_path / "b", "2")
    files_a = sorted(p.relative_to(tmp_path / "a") for p in (tmp_path / "a").rglob("*") if p.is_file())
    files_b = sorted(p.relative_to(tmp_path / "b") for p in (tmp_path / "b").rglob("*") if p.is_file())
    assert files_a == files_b and any(p.suffix == ".gz" for p in files_a)
    for relative in files_a:
        assert (tmp_path / "a" / relative).read_bytes() == (tmp_path / "b" / relative).read_bytes(), relative
    # Every feature of a written example comes out in key order (what makes the bytes reproducible).
    record = next(iter(tf.data.TFRecordDataset(
        [str(p) for p in sorted((tmp_path / "a" / "train").glob("*.gz"))], compression_type="GZIP")))
    example = tf.train.Example.FromString(record.numpy())
    assert record.numpy() == example.SerializeToString(deterministic=True)

