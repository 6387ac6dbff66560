"""Data preparation: image folders or CSV manifests -> sharded TFRecords.

Why a separate step before ImportExampleGen: TFX ingests TFRecords best, but
users hold images in folders or list them in spreadsheets.  This module turns
both into the one documented example format (:mod:`pipeline.example_format`),
with a deterministic, stratified train/eval split and a label vocabulary, so
that the same input always yields byte-identical shards and the TFX cache can
recognise an unchanged dataset.

CLI::

    python -m pipeline.data_prep SOURCE OUTPUT_DIR [--eval-fraction 0.2] [--seed 0]

SOURCE is a class-per-folder directory (``root/<class>/<image>``) or a CSV
manifest with ``path`` and ``label`` columns (paths relative to the CSV).
"""

from __future__ import annotations

import argparse
import collections
import csv
import dataclasses
import hashlib
import json
import math
import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Callable, Dict, Iterable, List, Optional, Sequence, Tuple

from pipeline import example_format as ef

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".gif", ".bmp")
SUCCESS_MARKER = "_SUCCESS"
MANIFEST_FILENAME = "manifest.json"
#: Bumped whenever the written format changes, so old prepared data is not reused.
FORMAT_VERSION = 1


class DataPrepError(ValueError):
    """Raised for input the data prep cannot use; the message says what to fix."""


@dataclasses.dataclass(frozen=True)
class ImageRecord:
    """One source image: where it is, how it is named in the dataset, its class."""

    path: Path
    name: str
    label_name: str


@dataclasses.dataclass(frozen=True)
class PreparedDataset:
    """What data prep produced: ImportExampleGen's input and its vocabulary."""

    root: Path
    class_names: List[str]
    split_counts: Dict[str, int]


def scan_class_folders(root: Path) -> Tuple[List[ImageRecord], List[str]]:
    """Lists ``root/<class>/**/<image>``; class names are the sorted folder names."""
    if not root.is_dir():
        raise DataPrepError(f"{root}: not a directory. Give a folder with one sub-folder per class.")
    class_dirs = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    if not class_dirs:
        raise DataPrepError(
            f"{root}: no class sub-folders found. Expected {root}/<class_name>/<image files>."
        )
    records: List[ImageRecord] = []
    empty = []
    for class_dir in class_dirs:
        files = sorted(
            p for p in class_dir.rglob("*") if p.is_file() and p.suffix.lower() in IMAGE_EXTENSIONS
        )
        if not files:
            empty.append(class_dir.name)
        records.extend(
            ImageRecord(path=f, name=f.relative_to(root).as_posix(), label_name=class_dir.name)
            for f in files
        )
    if empty:
        raise DataPrepError(
            f"{root}: class folder(s) {', '.join(empty)} hold no images "
            f"({', '.join(IMAGE_EXTENSIONS)}). Remove them or add images."
        )
    return records, [d.name for d in class_dirs]


def read_csv_manifest(csv_path: Path) -> Tuple[List[ImageRecord], List[str]]:
    """Reads a ``path,label`` CSV; relative paths are resolved against the CSV's folder.

    Labels may be class names or integers; the vocabulary is their sorted set
    (integers sorted numerically, so label ``10`` does not come before ``2``).
    """
    if not csv_path.is_file():
        raise DataPrepError(f"{csv_path}: CSV manifest not found.")
    with csv_path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        fields = [f.strip() for f in (reader.fieldnames or [])]
        missing = {"path", "label"} - set(fields)
        if missing:
            raise DataPrepError(
                f"{csv_path}: missing column(s) {sorted(missing)}; found {fields}. "
                "The manifest needs a header row with 'path' and 'label'."
            )
        records, problems = [], []
        for line_no, row in enumerate(reader, start=2):
            row = {k.strip(): (v or "").strip() for k, v in row.items() if k}
            if not row["path"] or not row["label"]:
                problems.append(f"line {line_no}: empty path or label")
                continue
            image_path = Path(row["path"])
            if not image_path.is_absolute():
                image_path = csv_path.parent / image_path
            if not image_path.is_file():
                problems.append(f"line {line_no}: {row['path']} does not exist")
                continue
            records.append(ImageRecord(path=image_path, name=row["path"], label_name=row["label"]))
    if problems:
        shown = "; ".join(problems[:10]) + (f"; ... {len(problems) - 10} more" if len(problems) > 10 else "")
        raise DataPrepError(f"{csv_path}: {len(problems)} bad row(s): {shown}. Fix or remove these rows.")
    if not records:
        raise DataPrepError(f"{csv_path}: no rows. Add one 'path,label' row per image.")
    names = {r.label_name for r in records}
    if all(n.lstrip("-").isdigit() for n in names):
        class_names = [str(n) for n in sorted(int(n) for n in names)]
        records = [dataclasses.replace(r, label_name=str(int(r.label_name))) for r in records]
    else:
        class_names = sorted(names)
    return records, class_names


def stratified_split(
    records: Sequence, eval_fraction: float, seed: int = 0,
    stratify_by: Callable[[object], str] = lambda r: r.label_name,
) -> Dict[str, list]:
    """Splits each class separately so that train and eval keep the class mix.

    Order inside a class is a hash of (seed, name): deterministic, independent
    of file-system order, and not correlated with file names.  Records need a
    ``name``; ``stratify_by`` gives their group (a constant = plain hash split).
    """
    if not 0.0 < eval_fraction < 1.0:
        raise DataPrepError(f"eval_fraction must be between 0 and 1 (exclusive), got {eval_fraction}.")
    by_class: Dict[str, list] = collections.defaultdict(list)
    for record in records:
        by_class[stratify_by(record)].append(record)
    splits: Dict[str, list] = {ef.TRAIN_SPLIT: [], ef.EVAL_SPLIT: []}
    for label_name in sorted(by_class):
        members = sorted(
            by_class[label_name],
            key=lambda r: hashlib.sha1(f"{seed}:{r.name}".encode()).hexdigest(),
        )
        n_eval = int(round(len(members) * eval_fraction))
        if len(members) >= 2:
            n_eval = min(max(n_eval, 1), len(members) - 1)
        else:
            n_eval = 0
        splits[ef.EVAL_SPLIT].extend(members[:n_eval])
        splits[ef.TRAIN_SPLIT].extend(members[n_eval:])
    for split in splits.values():
        split.sort(key=lambda r: r.name)
    return splits


def _num_shards(count: int) -> int:
    return max(1, min(16, math.ceil(count / 2000)))


def write_tfrecords(
    splits: Dict[str, list],
    class_names: Sequence[str],
    out_dir: Path,
    to_example: Optional[Callable[[object], "tf.train.Example"]] = None,
    extra_manifest: Optional[dict] = None,
) -> PreparedDataset:
    """Writes ``out_dir/<split>/data-*.tfrecord.gz``, ``labels.txt`` and a manifest.

    ``to_example`` turns one record into a tf.Example (default: a
    classification :class:`ImageRecord`), so every task shares the sharding,
    the manifest and the atomic write.  Writes into a temporary sibling and
    renames at the end, so a failure never leaves a half-written dataset where
    a good one was.
    """
    import tensorflow as tf  # heavy import kept out of module import time

    class_ids = {name: i for i, name in enumerate(class_names)}
    if to_example is None:
        to_example = lambda record: ef.make_image_example(  # noqa: E731
            image_bytes=record.path.read_bytes(),
            label=class_ids[record.label_name],
            label_name=record.label_name,
            filename=record.name,
        )
    out_dir = Path(out_dir)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp_dir = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}-", dir=out_dir.parent))
    try:
        counts = {}
        for split, records in splits.items():
            split_dir = tmp_dir / split
            split_dir.mkdir()
            shards = _num_shards(len(records))
            writers = [
                tf.io.TFRecordWriter(
                    str(split_dir / f"data-{i:05d}-of-{shards:05d}{ef.TFRECORD_SUFFIX}"),
                    options=tf.io.TFRecordOptions(compression_type="GZIP"),
                )
                for i in range(shards)
            ]
            for index, record in enumerate(records):
                writers[index % shards].write(to_example(record).SerializeToString())
            for writer in writers:
                writer.close()
            counts[split] = len(records)
        (tmp_dir / ef.LABELS_FILENAME).write_text("".join(f"{n}\n" for n in class_names))
        manifest = {"format_version": FORMAT_VERSION, "class_names": list(class_names), "split_counts": counts}
        if all(hasattr(r, "label_name") for records in splits.values() for r in records):
            manifest["class_counts"] = {
                split: dict(collections.Counter(r.label_name for r in records)) for split, records in splits.items()
            }
        manifest.update(extra_manifest or {})
        (tmp_dir / MANIFEST_FILENAME).write_text(json.dumps(manifest, indent=2, sort_keys=True))
        (tmp_dir / SUCCESS_MARKER).write_text("")
        if out_dir.exists():
            shutil.rmtree(out_dir)
        os.replace(tmp_dir, out_dir)
    except BaseException:
        shutil.rmtree(tmp_dir, ignore_errors=True)
        raise
    return PreparedDataset(root=out_dir, class_names=list(class_names), split_counts=counts)


def load_prepared(out_dir: Path) -> Optional[PreparedDataset]:
    """Returns the dataset at ``out_dir`` if a previous prep finished writing it."""
    out_dir = Path(out_dir)
    manifest = out_dir / MANIFEST_FILENAME
    if not (out_dir / SUCCESS_MARKER).exists() or not manifest.exists():
        return None
    info = json.loads(manifest.read_text())
    if info.get("format_version") != FORMAT_VERSION:
        return None
    return PreparedDataset(root=out_dir, class_names=info["class_names"], split_counts=info["split_counts"])


def list_source(source: Path) -> Tuple[List[ImageRecord], List[str]]:
    """Dispatches on the kind of source: a CSV file or a class-per-folder directory."""
    source = Path(source)
    if source.is_file() and source.suffix.lower() == ".csv":
        return read_csv_manifest(source)
    if source.is_dir():
        return scan_class_folders(source)
    raise DataPrepError(
        f"{source}: not a CSV manifest or a directory. Give a class-per-folder image "
        "directory, a CSV with 'path,label' columns, or a directory of TFRecords."
    )


def source_fingerprint(records: Iterable[ImageRecord], eval_fraction: float, seed: int) -> str:
    """Hash of everything that determines the prepared output (names, sizes, mtimes, split)."""
    digest = hashlib.sha256(f"v{FORMAT_VERSION}:{eval_fraction}:{seed}".encode())
    for record in sorted(records, key=lambda r: r.name):
        stat = record.path.stat()
        digest.update(f"{record.name}\0{record.label_name}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()[:12]


def prepare(
    source: Path, out_dir: Path, eval_fraction: float = 0.2, seed: int = 0
) -> PreparedDataset:
    """Converts ``source`` into TFRecords under ``out_dir`` (always rewrites)."""
    records, class_names = list_source(Path(source))
    splits = stratified_split(records, eval_fraction, seed)
    return write_tfrecords(splits, class_names, Path(out_dir))


def prepare_cached(
    source: Path, cache_root: Path, eval_fraction: float = 0.2, seed: int = 0
) -> Tuple[PreparedDataset, bool]:
    """Like :func:`prepare`, into ``cache_root/<name>-<fingerprint>``, reusing a finished one.

    Returns the dataset and whether it was reused.  Reuse keeps the shards'
    bytes and timestamps unchanged, which is what lets ImportExampleGen (and so
    the whole pipeline) come from the TFX cache on an unchanged rerun.
    """
    source = Path(source)
    records, class_names = list_source(source)
    name = source.stem if source.is_file() else source.name
    out_dir = Path(cache_root) / f"{name}-{source_fingerprint(records, eval_fraction, seed)}"
    existing = load_prepared(out_dir)
    if existing is not None:
        return existing, True
    splits = stratified_split(records, eval_fraction, seed)
    return write_tfrecords(splits, class_names, out_dir), False


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m pipeline.data_prep",
        description="Convert a class-per-folder image directory or a CSV manifest (path,label) "
        "into sharded TFRecords with a stratified train/eval split and labels.txt.",
    )
    parser.add_argument("source", type=Path, help="class-per-folder directory or CSV manifest")
    parser.add_argument("output_dir", type=Path, help="where train/, eval/ and labels.txt go")
    parser.add_argument("--eval-fraction", type=float, default=0.2, help="share of each class held out (default 0.2)")
    parser.add_argument("--seed", type=int, default=0, help="split seed (default 0)")
    args = parser.parse_args(argv)
    try:
        dataset = prepare(args.source, args.output_dir, args.eval_fraction, args.seed)
    except DataPrepError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(
        f"wrote {dataset.root}: {len(dataset.class_names)} classes, "
        + ", ".join(f"{k}={v}" for k, v in sorted(dataset.split_counts.items()))
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
