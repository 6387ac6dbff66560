"""Writing prepared datasets: a deterministic stratified split, sharded TFRecords, a manifest.

Every preparation (image folders, CSV manifests, image/mask pairs, the
embedded datasets) ends here, so they share the split rule, the shard layout
(``<split>/data-*-of-*.tfrecord.gz``), ``labels.txt``, ``manifest.json`` and
the write-aside-then-rename that keeps a failed preparation from replacing a
good one.
"""

from __future__ import annotations

import collections
import dataclasses
import hashlib
import json
import math
import os
import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Dict, List, Optional, Sequence, Tuple

from common import names

if TYPE_CHECKING:  # annotations only: TensorFlow is imported where the shards are written
    import tensorflow as tf

#: The formats TensorFlow's decoder reads (Transform and serving use it).
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".gif", ".bmp")
#: Image formats it cannot read.  Such files are prepared like the others, so that the ImageValidator
#: quarantines each one with its reason (counted, listed in the report and the quarantine artifact)
#: instead of the preparation dropping it where nobody looks.
UNREADABLE_IMAGE_EXTENSIONS = (".webp", ".tif", ".tiff", ".heic", ".heif", ".avif", ".jp2", ".jxl", ".ico",
                               ".ppm", ".pgm", ".pbm", ".pnm", ".svg", ".psd", ".dng", ".cr2", ".nef", ".arw")
ANY_IMAGE_EXTENSIONS = IMAGE_EXTENSIONS + UNREADABLE_IMAGE_EXTENSIONS
#: Why a file of none of those extensions is left out: the same words for every task, so the summary counts
#: such files together.
NOT_AN_IMAGE = "not an image file"
SUCCESS_MARKER = "_SUCCESS"
MANIFEST_FILENAME = names.MANIFEST_FILENAME
#: Bumped whenever the written format changes, so old prepared data is not reused.
#: 4: records in a seeded shuffled order (``record_order`` in the manifest), which lets ImportExampleGen
#: copy the shards instead of shuffling every record in memory (components/prepared_example_gen).
FORMAT_VERSION = 4


class DataPrepError(ValueError):
    """Raised for input the data prep cannot use; the message says what to fix."""


@dataclasses.dataclass(frozen=True)
class PreparedDataset:
    """What data prep produced: ImportExampleGen's input and its vocabulary."""

    root: Path
    class_names: List[str]
    split_counts: Dict[str, int]
    #: split -> class name -> examples (classification; empty for segmentation).
    class_counts: Dict[str, Dict[str, int]] = dataclasses.field(default_factory=dict)

    def class_counts_by_split(self) -> Dict[str, Dict[str, int]]:
        return {split: dict(self.class_counts.get(split, {})) for split in self.split_counts}


@dataclasses.dataclass(frozen=True)
class Rejected:
    """Files left out of a prepared dataset (an image, an image/mask pair, an image/annotation pair), and why."""

    files: Tuple[str, ...]
    reason: str

    def __str__(self) -> str:
        return f"{' + '.join(self.files)}: {self.reason}"


@dataclasses.dataclass(frozen=True)
class Preparation:
    """What every data preparation returns (class folders, image/mask folders, boxes alike).

    ``lines`` say what was understood of the source and what was left out, for the run's log;
    ``source_split`` is True when the source itself named the held-out split (split folders, a CSV split
    column), so ``--eval-fraction`` had nothing to decide.
    """

    dataset: PreparedDataset
    reused: bool
    lines: List[str] = dataclasses.field(default_factory=list)
    source_split: bool = False

    def describe(self) -> List[str]:
        return list(self.lines)


def _is_within(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


def guard_output(out_dir: Path, inputs: Sequence[Path], must_be_ours: bool = True) -> None:
    """Refuses an output folder that would overwrite or swallow the input, or a folder this code did not write.

    Why: the output is replaced as a whole; given the input folder (or one
    inside it, or one containing it) it would destroy the user's images.
    ``must_be_ours=False`` checks only the overlap (for a folder that holds more than one output).
    """
    out = Path(out_dir).expanduser().resolve()
    for source in inputs:
        src = Path(source).expanduser().resolve()
        if _is_within(out, src) or _is_within(src, out):
            relation = "is" if out == src else ("is inside" if _is_within(out, src) else "contains")
            raise DataPrepError(f"output folder {out_dir} {relation} the input {source}; writing there could "
                                "overwrite your data. Choose an output folder outside the input.")
    if must_be_ours and out.is_dir() and any(out.iterdir()) and not (out / SUCCESS_MARKER).exists():
        raise DataPrepError(f"output folder {out_dir} is not empty and was not written by data preparation "
                            f"(no {SUCCESS_MARKER}); refusing to replace it. Choose a new or empty folder.")


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
    splits: Dict[str, list] = {names.TRAIN_SPLIT: [], names.EVAL_SPLIT: []}
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
        splits[names.EVAL_SPLIT].extend(members[:n_eval])
        splits[names.TRAIN_SPLIT].extend(members[n_eval:])
    for split in splits.values():
        split.sort(key=lambda r: r.name)
    return splits


def _num_shards(count: int) -> int:
    return max(1, min(16, math.ceil(count / 2000)))


def shuffled(records: Sequence, seed: int = 0) -> list:
    """``records`` in a seeded pseudo-random order: a hash of (seed, name), so any input order gives the same.

    Why: folders list one class after another.  Written in that order, a shard
    is class-sorted and the Trainer's bounded shuffle buffer would see one class
    at a time; shuffled here, every shard is a fair mix and nothing downstream
    needs to hold the whole dataset to shuffle it.
    """
    return sorted(records, key=lambda r: hashlib.sha1(f"order:{seed}:{r.name}".encode()).digest())


def write_tfrecords(
    splits: Dict[str, list],
    class_names: Sequence[str],
    out_dir: Path,
    to_example: Callable[[object], "tf.train.Example"],
    extra_manifest: Optional[dict] = None,
    seed: int = 0,
) -> PreparedDataset:
    """Writes ``out_dir/<split>/data-*.tfrecord.gz``, ``labels.txt`` and a manifest.

    ``to_example`` turns one record into a tf.Example, so every task shares
    the sharding, the manifest and the atomic write.  Records are written in
    the seeded order of ``shuffled`` (records need a ``name``).  Writes into a
    temporary sibling and renames at the end, so a failure never leaves a
    half-written dataset where a good one was.
    """
    import tensorflow as tf  # heavy import kept out of module import time

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
                    str(split_dir / f"data-{i:05d}-of-{shards:05d}{names.TFRECORD_SUFFIX}"),
                    options=tf.io.TFRecordOptions(compression_type="GZIP"),
                )
                for i in range(shards)
            ]
            for index, record in enumerate(shuffled(records, seed)):
                # deterministic: map fields (a tf.Example's features) in key order, so the same input
                # always gives byte-identical shards (protobuf's map order otherwise varies between runs).
                writers[index % shards].write(to_example(record).SerializeToString(deterministic=True))
            for writer in writers:
                writer.close()
            counts[split] = len(records)
        (tmp_dir / names.LABELS_FILENAME).write_text("".join(f"{n}\n" for n in class_names))
        manifest = {"format_version": FORMAT_VERSION, "class_names": list(class_names), "split_counts": counts,
                    names.RECORD_ORDER_KEY: names.SHUFFLED_RECORD_ORDER}
        if all(hasattr(r, "label_name") for records in splits.values() for r in records):
            manifest["class_counts"] = {
                split: dict(collections.Counter(r.label_name for r in records)) for split, records in splits.items()
            }
        manifest.update(extra_manifest or {})
        (tmp_dir / MANIFEST_FILENAME).write_text(json.dumps(manifest, indent=2, sort_keys=True))
        (tmp_dir / SUCCESS_MARKER).write_text("")
        _replace(tmp_dir, out_dir)
    except BaseException:
        shutil.rmtree(tmp_dir, ignore_errors=True)
        raise
    return PreparedDataset(root=out_dir, class_names=list(class_names), split_counts=counts,
                           class_counts=manifest.get("class_counts", {}))


def _replace(new_dir: Path, out_dir: Path) -> None:
    """Moves ``new_dir`` to ``out_dir``; an existing ``out_dir`` is removed only if data prep wrote it."""
    if out_dir.exists():
        if any(out_dir.iterdir()) and not (out_dir / SUCCESS_MARKER).exists():
            raise DataPrepError(f"{out_dir} is not empty and was not written by data preparation; not replacing it.")
        old = out_dir.with_name(f".{out_dir.name}.old-{os.getpid()}")
        os.replace(out_dir, old)
        os.replace(new_dir, out_dir)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.replace(new_dir, out_dir)


def load_prepared(out_dir: Path) -> Optional[PreparedDataset]:
    """Returns the dataset at ``out_dir`` if a previous prep finished writing it."""
    out_dir = Path(out_dir)
    manifest = out_dir / MANIFEST_FILENAME
    if not (out_dir / SUCCESS_MARKER).exists() or not manifest.exists():
        return None
    info = json.loads(manifest.read_text())
    if info.get("format_version") != FORMAT_VERSION:
        return None
    return PreparedDataset(root=out_dir, class_names=info["class_names"], split_counts=info["split_counts"],
                           class_counts=info.get("class_counts", {}))
