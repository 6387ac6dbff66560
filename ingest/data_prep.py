"""Data preparation: image folders or CSV manifests -> sharded TFRecords.

Why a separate step before ImportExampleGen: TFX ingests TFRecords best, but
users hold images in folders or list them in spreadsheets.  This module turns
both into the one documented example format (:mod:`ingest.example_format`),
with a deterministic, stratified train/eval split and a label vocabulary, so
that the same input always yields byte-identical shards and the TFX cache can
recognise an unchanged dataset.

CLI::

    python -m ingest.data_prep SOURCE OUTPUT_DIR [--eval-fraction 0.2] [--eval-split val] [--seed 0]

SOURCE is a class-per-folder directory (``root/<class>/<image>``), a
split-folder directory (``root/train/<class>/<image>`` plus ``val/``,
``test/``, ...), or a CSV manifest with ``path``, ``label`` and optionally
``split`` columns (paths relative to the CSV).
"""

from __future__ import annotations

import argparse
import collections
import csv
import dataclasses
import hashlib
import os
import sys
from pathlib import Path
from typing import Dict, Iterable, List, Optional, Sequence, Tuple

from common import names
from ingest import example_format as ef
from ingest.shards import (ANY_IMAGE_EXTENSIONS, FORMAT_VERSION, IMAGE_EXTENSIONS, NOT_AN_IMAGE, DataPrepError,
                           Preparation, PreparedDataset, guard_output, load_prepared, stratified_split, write_tfrecords)

#: Folder names (any case) that name a split, never a class.  Held-out names are listed in the
#: order the eval split is chosen when several are present: validation sets first, ``test`` last,
#: because a test set is meant to be looked at once, not to bless model after model.
TRAIN_DIR_NAMES = ("train", "training")
HELD_OUT_DIR_NAMES = ("val", "valid", "validation", "eval", "evaluation", "dev", "test", "testing")
SPLIT_DIR_NAMES = TRAIN_DIR_NAMES + HELD_OUT_DIR_NAMES


@dataclasses.dataclass(frozen=True)
class ImageRecord:
    """One source image: where it is, how it is named in the dataset, its class, its split if given."""

    path: Path
    name: str
    label_name: str
    #: ``train`` / ``eval`` when the source says so (split folders, a CSV ``split`` column); else None.
    split: Optional[str] = None


@dataclasses.dataclass
class Layout:
    """What data prep understood of a source: printed before anything runs, so a misread shows at once."""

    kind: str
    #: Source folder (or CSV value) -> split it feeds, e.g. {"train/": "train", "val/": "eval"}.
    split_sources: Dict[str, str] = dataclasses.field(default_factory=dict)
    #: Held-out folders (or CSV values) present but not used, with their image counts.
    unused: Dict[str, int] = dataclasses.field(default_factory=dict)
    #: Files left out, with the reason (never silently).
    skipped: List[Tuple[str, str]] = dataclasses.field(default_factory=list)
    warnings: List[str] = dataclasses.field(default_factory=list)

    @property
    def has_splits(self) -> bool:
        """Whether the source itself says which images are held out (split folders, a CSV split column)."""
        return names.EVAL_SPLIT in self.split_sources.values()


def _listdir(folder: Path) -> List[Path]:
    return sorted(p for p in folder.iterdir() if not p.name.startswith("."))


def _walk_files(folder: Path) -> List[Path]:
    """Every file below ``folder``, following symlinked folders, in a stable order."""
    found = []
    for dirpath, dirnames, filenames in os.walk(folder, followlinks=True):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        found.extend(Path(dirpath) / f for f in sorted(filenames) if not f.startswith("."))
    return found


def _class_images(root: Path, class_dir: Path, split: Optional[str], layout: Layout) -> List[ImageRecord]:
    records = []
    for path in _walk_files(class_dir):
        name = path.relative_to(root).as_posix()
        if path.suffix.lower() in ANY_IMAGE_EXTENSIONS:  # unreadable formats too: the validator quarantines them
            records.append(ImageRecord(path=path, name=name, label_name=class_dir.name, split=split))
        else:
            layout.skipped.append((name, NOT_AN_IMAGE))
    return records


def _class_folders(root: Path, where: Path, split: Optional[str], layout: Layout) -> List[ImageRecord]:
    """Images of ``where/<class>/**``; refuses empty class folders and classes named like splits."""
    class_dirs = [p for p in _listdir(where) if p.is_dir()]
    misnamed = [d.name for d in class_dirs if d.name.lower() in SPLIT_DIR_NAMES]
    if misnamed:
        raise DataPrepError(
            f"{where}: folder(s) {', '.join(misnamed)} inside a split folder are named like splits, not classes. "
            "Use the layout <root>/<split>/<class>/<image> (e.g. train/cat/1.jpg, val/cat/2.jpg).")
    for loose in (p for p in _listdir(where) if p.is_file()):
        layout.skipped.append((loose.relative_to(root).as_posix(), "not inside a class folder"))
    records, empty = [], []
    for class_dir in class_dirs:
        found = _class_images(root, class_dir, split, layout)
        if not found:
            empty.append(class_dir.relative_to(root).as_posix())
        records.extend(found)
    if empty:
        raise DataPrepError(
            f"{root}: class folder(s) {', '.join(empty)} hold no images ({', '.join(IMAGE_EXTENSIONS)}). "
            "Remove them or add images.")
    return records


def pick_eval(held_out: Sequence[str], eval_split: Optional[str], where: str) -> str:
    """The held-out folder (or CSV value) that becomes the eval split."""
    if eval_split is not None:
        match = [h for h in held_out if h.lower() == eval_split.lower()]
        if not match:
            raise DataPrepError(f"--eval-split {eval_split}: {where} has no such held-out split; "
                                f"it has {', '.join(held_out) or 'none'}.")
        return match[0]
    return min(held_out, key=lambda h: HELD_OUT_DIR_NAMES.index(h.lower()))


def scan_image_folders(root: Path, eval_split: Optional[str] = None) -> Tuple[List[ImageRecord], List[str], Layout]:
    """Lists the images of a folder in one of two layouts, told apart by the folder names.

    * class folders — ``root/<class>/**/<image>``: the split is made later (stratified, seeded);
    * split folders — ``root/train/<class>/…`` plus held-out folders (``val``, ``valid``,
      ``validation``, ``eval``, ``dev``, ``test``…): ``train`` trains, one held-out folder is the
      eval split (``eval_split``, else the first of HELD_OUT_DIR_NAMES present), the others are
      reported and left out, so a test set never leaks into blessing.

    A folder named like a split is never taken as a class.  Class names are the sorted folder names.
    """
    if not root.is_dir():
        raise DataPrepError(f"{root}: not a directory. Give a folder with one sub-folder per class.")
    subdirs = [p for p in _listdir(root) if p.is_dir()]
    split_dirs = [d for d in subdirs if d.name.lower() in SPLIT_DIR_NAMES]
    if not split_dirs:
        if not subdirs:
            raise DataPrepError(f"{root}: no class sub-folders found. Expected {root}/<class_name>/<image files>.")
        layout = Layout(kind="class folders (split here: stratified, seeded)")
        records = _class_folders(root, root, None, layout)
        return records, sorted({r.label_name for r in records}), layout
    others = [d.name for d in subdirs if d not in split_dirs]
    if others:
        raise DataPrepError(
            f"{root}: mixes split folders ({', '.join(d.name + '/' for d in split_dirs)}) with other folders "
            f"({', '.join(o + '/' for o in others)}). Put every class folder inside a split folder "
            "(train/<class>/, val/<class>/) or use no split folders at all.")
    train = [d for d in split_dirs if d.name.lower() in TRAIN_DIR_NAMES]
    held_out = [d for d in split_dirs if d.name.lower() in HELD_OUT_DIR_NAMES]
    if len(train) != 1:
        raise DataPrepError(f"{root}: split folders {', '.join(d.name + '/' for d in split_dirs)} but "
                            f"{'no' if not train else 'more than one'} training folder (train/). "
                            "Add exactly one train/ folder with one sub-folder per class.")
    layout = Layout(kind="split folders")
    records = _class_folders(root, train[0], names.TRAIN_SPLIT, layout)
    layout.split_sources[f"{train[0].name}/"] = names.TRAIN_SPLIT
    if held_out:
        chosen = pick_eval([d.name for d in held_out], eval_split, str(root))
        for folder in held_out:
            if folder.name == chosen:
                records += _class_folders(root, folder, names.EVAL_SPLIT, layout)
                layout.split_sources[f"{folder.name}/"] = names.EVAL_SPLIT
            else:
                layout.unused[f"{folder.name}/"] = sum(1 for p in _walk_files(folder)
                                                       if p.suffix.lower() in ANY_IMAGE_EXTENSIONS)
    else:
        layout.kind = "split folders (train/ only: eval split made here, stratified, seeded)"
        records = [dataclasses.replace(r, split=None) for r in records]
    return records, sorted({r.label_name for r in records}), layout


def check_classes(splits: Dict[str, Sequence[ImageRecord]], class_names: Sequence[str], layout: Layout) -> None:
    """A class with no training image is an error; a class with no eval image is a warning."""
    per_split = {split: collections.Counter(r.label_name for r in records) for split, records in splits.items()}
    untrained = [c for c in class_names if not per_split.get(names.TRAIN_SPLIT, {}).get(c)]
    if untrained:
        raise DataPrepError(
            f"class(es) {', '.join(untrained)} have eval images but no training images: the model cannot learn "
            "them. Add training images for them, or remove them from the eval split.")
    unmeasured = [c for c in class_names if not per_split.get(names.EVAL_SPLIT, {}).get(c)]
    if unmeasured:
        layout.warnings.append(f"class(es) {', '.join(unmeasured)} have no eval images (too few images, or none "
                               "in the eval folder): their accuracy cannot be measured")


def read_csv_manifest(csv_path: Path, eval_split: Optional[str] = None
                      ) -> Tuple[List[ImageRecord], List[str], Layout]:
    """Reads a ``path,label[,split]`` CSV; relative paths are resolved against the CSV's folder.

    Labels may be class names or integers; the vocabulary is their sorted set
    (integers sorted numerically, so label ``10`` does not come before ``2``).
    An optional ``split`` column takes the split names of :data:`SPLIT_DIR_NAMES`;
    held-out values are chosen as for split folders.  Paths must stay inside
    the CSV's folder, so a manifest and its images move together.
    """
    if not csv_path.is_file():
        raise DataPrepError(f"{csv_path}: CSV manifest not found.")
    root = csv_path.parent.resolve()
    with csv_path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        fields = [f.strip() for f in (reader.fieldnames or [])]
        missing = {"path", "label"} - set(fields)
        if missing:
            raise DataPrepError(
                f"{csv_path}: missing column(s) {sorted(missing)}; found {fields}. "
                "The manifest needs a header row with 'path' and 'label' (and optionally 'split')."
            )
        has_split = "split" in fields
        records, problems = [], []
        for line_no, row in enumerate(reader, start=2):
            row = {k.strip(): (v or "").strip() for k, v in row.items() if k}
            if not row["path"] or not row["label"]:
                problems.append(f"line {line_no}: empty path or label")
                continue
            split = row.get("split", "") if has_split else None
            if has_split and split.lower() not in SPLIT_DIR_NAMES:
                problems.append(f"line {line_no}: split {split!r} is not one of {', '.join(SPLIT_DIR_NAMES)}")
                continue
            image_path = Path(row["path"])
            if not image_path.is_absolute():
                image_path = csv_path.parent / image_path
            if not image_path.resolve().is_relative_to(root):
                problems.append(f"line {line_no}: {row['path']} is outside the manifest's folder {root}")
                continue
            if not image_path.is_file():
                problems.append(f"line {line_no}: {row['path']} does not exist")
                continue
            records.append(ImageRecord(path=image_path, name=row["path"], label_name=row["label"], split=split))
    if problems:
        shown = "; ".join(problems[:10]) + (f"; ... {len(problems) - 10} more" if len(problems) > 10 else "")
        raise DataPrepError(f"{csv_path}: {len(problems)} bad row(s): {shown}. Fix or remove these rows.")
    if not records:
        raise DataPrepError(f"{csv_path}: no rows. Add one 'path,label' row per image.")
    label_values = {r.label_name for r in records}
    if all(n.lstrip("-").isdigit() for n in label_values):
        class_names = [str(n) for n in sorted(int(n) for n in label_values)]
        records = [dataclasses.replace(r, label_name=str(int(r.label_name))) for r in records]
    else:
        class_names = sorted(label_values)
    layout = Layout(kind="CSV manifest" + ("" if has_split else " (split here: stratified, seeded)"))
    if has_split:
        records = _csv_splits(records, eval_split, csv_path, layout)
    return records, class_names, layout


def _csv_splits(records: List[ImageRecord], eval_split: Optional[str], csv_path: Path,
                layout: Layout) -> List[ImageRecord]:
    values = sorted({r.split for r in records})
    train = [v for v in values if v.lower() in TRAIN_DIR_NAMES]
    held_out = [v for v in values if v.lower() in HELD_OUT_DIR_NAMES]
    if not train:
        raise DataPrepError(f"{csv_path}: the split column has {', '.join(values)} but no 'train' rows.")
    chosen = pick_eval(held_out, eval_split, str(csv_path)) if held_out else None
    kept = []
    for record in records:
        if record.split.lower() in TRAIN_DIR_NAMES:
            kept.append(dataclasses.replace(record, split=names.TRAIN_SPLIT))
        elif record.split == chosen:
            kept.append(dataclasses.replace(record, split=names.EVAL_SPLIT))
        else:
            layout.unused[f"split={record.split}"] = layout.unused.get(f"split={record.split}", 0) + 1
    layout.split_sources.update({f"split={v}": names.TRAIN_SPLIT for v in train})
    if chosen is None:
        layout.kind = "CSV manifest (train rows only: eval split made here, stratified, seeded)"
        return [dataclasses.replace(r, split=None) for r in kept]
    layout.split_sources[f"split={chosen}"] = names.EVAL_SPLIT
    return kept


def list_source(source: Path, eval_split: Optional[str] = None) -> Tuple[List[ImageRecord], List[str], Layout]:
    """Dispatches on the kind of source: a CSV file or an image directory."""
    source = Path(source)
    if source.is_file() and source.suffix.lower() == ".csv":
        return read_csv_manifest(source, eval_split)
    if source.is_dir():
        return scan_image_folders(source, eval_split)
    raise DataPrepError(
        f"{source}: not a CSV manifest or a directory. Give a class-per-folder image "
        "directory, a CSV with 'path,label' columns, or a directory of TFRecords."
    )


def assign_splits(records: Sequence[ImageRecord], eval_fraction: float, seed: int) -> Dict[str, List[ImageRecord]]:
    """The source's own splits when it has them, else a stratified, seeded train/eval split."""
    if records and all(r.split is not None for r in records):
        splits: Dict[str, List[ImageRecord]] = {names.TRAIN_SPLIT: [], names.EVAL_SPLIT: []}
        for record in sorted(records, key=lambda r: r.name):
            splits[record.split].append(record)
        return splits
    return stratified_split(records, eval_fraction, seed)


def describe(layout: Layout, counts: Dict[str, Dict[str, int]], class_names: Sequence[str]) -> List[str]:
    """The layout as printed before a run: splits, classes and counts per split, what was left out and why."""
    lines = [f"layout: {layout.kind}"]
    if layout.split_sources:
        lines.append("  splits: " + ", ".join(f"{src} -> {dst}" for src, dst in layout.split_sources.items()))
    for source_name, count in layout.unused.items():
        lines.append(f"  not used: {source_name} ({count} images); choose it with --eval-split")
    order = sorted(counts, key=lambda split: (split != names.TRAIN_SPLIT, split != names.EVAL_SPLIT, split))
    counts = {split: collections.Counter(counts[split]) for split in order}
    width = max([len("class")] + [len(c) for c in class_names])
    lines.append(f"  {'class':<{width}}  " + "  ".join(f"{s:>6}" for s in counts))
    for name in class_names:
        lines.append(f"  {name:<{width}}  " + "  ".join(f"{counts[s][name]:>6}" for s in counts))
    lines.append(f"  {'total':<{width}}  " + "  ".join(f"{sum(counts[s].values()):>6}" for s in counts))
    for name, reason in layout.skipped[:20]:
        lines.append(f"  left out: {name} ({reason})")
    if len(layout.skipped) > 20:
        lines.append(f"  left out: {len(layout.skipped) - 20} more files (see manifest.json)")
    lines.extend(f"  warning: {w}" for w in layout.warnings)
    return lines


def _write(splits, class_names: Sequence[str], out_dir: Path, layout: Layout, seed: int) -> PreparedDataset:
    """Shards of classification examples (the image's bytes unchanged, its class id and name)."""
    class_ids = {name: i for i, name in enumerate(class_names)}
    return write_tfrecords(
        splits, class_names, out_dir,
        to_example=lambda record: ef.make_image_example(
            image_bytes=record.path.read_bytes(), label=class_ids[record.label_name], label_name=record.label_name,
            filename=record.name),
        # The left-out files are listed once, under "rejected" (the key every task's manifest uses).
        extra_manifest={"layout": {k: v for k, v in dataclasses.asdict(layout).items() if k != "skipped"},
                        "rejected": [{"files": [name], "reason": reason} for name, reason in layout.skipped]},
        seed=seed)


def source_fingerprint(records: Iterable[ImageRecord], eval_fraction: float, seed: int) -> str:
    """Hash of everything that determines the prepared output (names, sizes, mtimes, split)."""
    digest = hashlib.sha256(f"v{FORMAT_VERSION}:{eval_fraction}:{seed}".encode())
    for record in sorted(records, key=lambda r: r.name):
        stat = record.path.stat()
        digest.update(f"{record.name}\0{record.label_name}\0{record.split}\0{stat.st_size}\0"
                      f"{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()[:12]


@dataclasses.dataclass(frozen=True)
class FolderPreparation(Preparation):
    """The common :class:`Preparation`, plus the layout understood of the folders (or CSV)."""

    layout: Optional[Layout] = None


def _finished(dataset: PreparedDataset, layout: Layout, reused: bool) -> FolderPreparation:
    return FolderPreparation(dataset, reused, describe(layout, dataset.class_counts_by_split(), dataset.class_names),
                             source_split=layout.has_splits, layout=layout)


def prepare(source: Path, out_dir: Path, eval_fraction: float = 0.2, seed: int = 0,
            eval_split: Optional[str] = None) -> FolderPreparation:
    """Converts ``source`` into TFRecords under ``out_dir``; never overwrites what it did not write."""
    source, out_dir = Path(source), Path(out_dir)
    guard_output(out_dir, [source])
    records, class_names, layout = list_source(source, eval_split)
    splits = assign_splits(records, eval_fraction, seed)
    check_classes(splits, class_names, layout)
    return _finished(_write(splits, class_names, out_dir, layout, seed), layout, reused=False)


def prepare_cached(source: Path, cache_root: Path, eval_fraction: float = 0.2, seed: int = 0,
                   eval_split: Optional[str] = None) -> FolderPreparation:
    """Like :func:`prepare`, into ``cache_root/<name>-<fingerprint>``, reusing a finished one.

    Reuse keeps the shards' bytes and timestamps unchanged, which is what lets
    ImportExampleGen (and so the whole pipeline) come from the TFX cache on an
    unchanged rerun.
    """
    source = Path(source)
    records, class_names, layout = list_source(source, eval_split)
    name = source.stem if source.is_file() else source.name
    out_dir = Path(cache_root) / f"{name}-{source_fingerprint(records, eval_fraction, seed)}"
    guard_output(out_dir, [source])
    splits = assign_splits(records, eval_fraction, seed)
    check_classes(splits, class_names, layout)
    existing = load_prepared(out_dir)
    if existing is not None:
        return _finished(existing, layout, reused=True)
    return _finished(_write(splits, class_names, out_dir, layout, seed), layout, reused=False)


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m ingest.data_prep",
        description="Convert an image directory (class folders, or split folders train/ + val/ ... holding "
        "class folders) or a CSV manifest (path,label[,split]) into sharded TFRecords with a train/eval "
        "split and labels.txt.",
    )
    parser.add_argument("source", type=Path, help="image directory or CSV manifest")
    parser.add_argument("output_dir", type=Path,
                        help="where train/, eval/ and labels.txt go: a new or empty folder, or one this "
                             "command wrote before")
    parser.add_argument("--eval-fraction", type=float, default=0.2,
                        help="share of each class held out when the source has no split (default 0.2)")
    parser.add_argument("--eval-split", default=None,
                        help="which held-out folder / CSV split value is the eval split "
                             f"(default: the first present of {', '.join(HELD_OUT_DIR_NAMES)})")
    parser.add_argument("--seed", type=int, default=0, help="split seed (default 0)")
    args = parser.parse_args(argv)
    try:
        result = prepare(args.source, args.output_dir, args.eval_fraction, args.seed, args.eval_split)
    except DataPrepError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print("\n".join(result.describe()))
    print(f"wrote {result.dataset.root}: {len(result.dataset.class_names)} classes, "
          + ", ".join(f"{k}={v}" for k, v in sorted(result.dataset.split_counts.items())))
    return 0


if __name__ == "__main__":
    sys.exit(main())
