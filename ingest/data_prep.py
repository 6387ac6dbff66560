"""Data preparation: image folders or CSV manifests -> sharded TFRecords.

Why a separate step before ImportExampleGen: TFX ingests TFRecords best, but
users hold images in folders or list them in spreadsheets.  This module turns
both into the one documented example format (:mod:`ingest.example_format`),
with a deterministic, stratified train/eval split and a label vocabulary, so
that the same input always yields byte-identical shards and the TFX cache can
recognise an unchanged dataset.

CLI::

    python -m ingest.data_prep SOURCE OUTPUT_DIR [--eval-fraction 0.2] [--seed 0]

SOURCE is a class-per-folder directory (``root/<class>/<image>``) or a CSV
manifest with ``path`` and ``label`` columns (paths relative to the CSV).
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import hashlib
import sys
from pathlib import Path
from typing import Iterable, List, Optional, Sequence, Tuple

from ingest import example_format as ef
from ingest.shards import (FORMAT_VERSION, IMAGE_EXTENSIONS, DataPrepError, PreparedDataset, load_prepared,
                           stratified_split, write_tfrecords)

@dataclasses.dataclass(frozen=True)
class ImageRecord:
    """One source image: where it is, how it is named in the dataset, its class."""

    path: Path
    name: str
    label_name: str


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


def _write(splits, class_names: Sequence[str], out_dir: Path) -> PreparedDataset:
    """Shards of classification examples (the image's bytes unchanged, its class id and name)."""
    class_ids = {name: i for i, name in enumerate(class_names)}
    return write_tfrecords(splits, class_names, out_dir, to_example=lambda record: ef.make_image_example(
        image_bytes=record.path.read_bytes(), label=class_ids[record.label_name], label_name=record.label_name,
        filename=record.name))


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
    return _write(splits, class_names, Path(out_dir))


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
    return _write(splits, class_names, out_dir), False


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m ingest.data_prep",
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
