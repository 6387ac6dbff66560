"""Turns the user's ``--data`` into what ImportExampleGen needs.

Three kinds of input are accepted, and told apart by looking at them:

* nothing — the embedded digits are written as PNGs and prepared;
* a class-per-folder image directory or a CSV manifest — prepared by
  :mod:`ingest.data_prep` into ``<output_dir>/data/<name>-<fingerprint>``
  (reused while the source is unchanged, so the TFX cache holds);
* a directory of TFRecords — taken as it is: ``train/`` plus one of
  ``eval/``, ``test/``, ``val/``, ``validation/`` become the two splits;
  a flat directory is split 80/20 by ImportExampleGen's hash buckets.
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import Callable, List, Optional, Sequence, Tuple

from tfx.proto import example_gen_pb2

from common import names
from common.labels import read_labels_file
from ingest import data_prep, detection_prep, embedded, segmentation_prep
from ingest.config import DataConfig
from ingest.shards import ANY_IMAGE_EXTENSIONS, DataPrepError, PreparedDataset

_NOT_TFRECORD_SUFFIXES = {".txt", ".md", ".json", ".csv", ".pbtxt"}


@dataclasses.dataclass(frozen=True)
class DataSource:
    """ImportExampleGen's input, the class names, and how the data got here."""

    input_base: str
    input_config: example_gen_pb2.Input
    output_config: Optional[example_gen_pb2.Output]
    class_names: List[str]
    description: str


def _is_data_file(path: Path) -> bool:
    return path.is_file() and not path.name.startswith((".", "_")) and path.suffix.lower() not in _NOT_TFRECORD_SUFFIXES


def _contains_images(root: Path) -> bool:
    return any(f.lower().endswith(ANY_IMAGE_EXTENSIONS) for _, _, files in os.walk(root, followlinks=True) for f in files)


def _tfrecord_splits(root: Path, eval_split: Optional[str] = None
                     ) -> Tuple[example_gen_pb2.Input, Optional[example_gen_pb2.Output], str]:
    """train/ plus a held-out folder (chosen as for image split folders), or a flat folder split by hash."""
    train_dir = root / names.TRAIN_SPLIT
    held_out = [p.name for p in sorted(root.iterdir()) if p.is_dir() and p.name.lower() in data_prep.HELD_OUT_DIR_NAMES]
    eval_dir = root / data_prep.pick_eval(held_out, eval_split, str(root)) if held_out else None
    if train_dir.is_dir() and eval_dir is not None:
        for split_dir in (train_dir, eval_dir):
            if not any(_is_data_file(p) for p in split_dir.iterdir()):
                raise DataPrepError(f"{split_dir}: no TFRecord files in this split folder.")
        splits = [
            example_gen_pb2.Input.Split(name=names.TRAIN_SPLIT, pattern=f"{names.TRAIN_SPLIT}/*"),
            example_gen_pb2.Input.Split(name=names.EVAL_SPLIT, pattern=f"{eval_dir.name}/*"),
        ]
        return example_gen_pb2.Input(splits=splits), None, f"TFRecords, splits train/ + {eval_dir.name}/"
    files = [p for p in root.iterdir() if _is_data_file(p)]
    if not files:
        raise DataPrepError(
            f"{root}: found neither images, nor TFRecord files, nor train/ + eval|test|val/ folders."
        )
    suffixes = sorted({"".join(p.suffixes) for p in files})
    if len(suffixes) != 1:
        raise DataPrepError(
            f"{root}: TFRecord directory holds files of several kinds ({', '.join(suffixes)}); "
            "keep only the TFRecord shards there."
        )
    input_config = example_gen_pb2.Input(splits=[example_gen_pb2.Input.Split(name="single", pattern=f"*{suffixes[0]}")])
    output_config = example_gen_pb2.Output(
        split_config=example_gen_pb2.SplitConfig(
            splits=[
                example_gen_pb2.SplitConfig.Split(name=names.TRAIN_SPLIT, hash_buckets=4),
                example_gen_pb2.SplitConfig.Split(name=names.EVAL_SPLIT, hash_buckets=1),
            ]
        )
    )
    return input_config, output_config, "TFRecords, split 80/20 by hash"


def _prepared_source(dataset: PreparedDataset, description: str) -> DataSource:
    input_config = example_gen_pb2.Input(
        splits=[
            example_gen_pb2.Input.Split(name=split, pattern=f"{split}/*{names.TFRECORD_SUFFIX}")
            for split in (names.TRAIN_SPLIT, names.EVAL_SPLIT)
        ]
    )
    return DataSource(str(dataset.root.resolve()), input_config, None, dataset.class_names, description)


def _find_labels(root: Path) -> Optional[Path]:
    for candidate in (root / names.LABELS_FILENAME, root.parent / names.LABELS_FILENAME):
        if candidate.is_file():
            return candidate
    return None


def resolve(task: str, data: DataConfig, prepared_dir: str, class_names: Sequence[str] = (),
            log: Callable[[str], None] = print) -> DataSource:
    """Prepares (or locates) the data named by ``data.path``.

    ``class_names`` are the user's (``--labels``); they win over the data's own
    ``labels.txt``.  Prepared data goes to ``prepared_dir/<name>-<fingerprint>``.
    """
    if task == "segmentation":
        return _resolve_segmentation(data, prepared_dir, class_names, log)
    if task == "detection":
        return _resolve_detection(data, prepared_dir, class_names, log)
    cache_root = Path(prepared_dir)
    if data.path is None:
        pngs = embedded.write_digits_pngs(cache_root / embedded.DIGITS_DIRNAME)
        prepared = data_prep.prepare_cached(pngs, cache_root, data.eval_fraction, data.split_seed)
        source = _prepared_source(prepared.dataset, f"embedded scikit-learn digits ({_counts(prepared.dataset)})")
        log(f"data: {source.description}{' [reused]' if prepared.reused else ''}")
        return _with_class_names(source, class_names)
    path = Path(data.path).expanduser()
    if not path.exists():
        raise DataPrepError(f"--data {data.path}: no such file or directory.")
    if path.is_file() or _contains_images(path):
        prepared = data_prep.prepare_cached(path, cache_root, data.eval_fraction, data.split_seed, data.eval_split)
        dataset = prepared.dataset
        source = _prepared_source(dataset, f"{path} ({_counts(dataset)})")
        log(f"data: {source.description}"
            f"{' [reused]' if prepared.reused else ' [prepared into ' + str(dataset.root) + ']'}")
        for line in prepared.describe():
            log(line)
        return _with_class_names(source, class_names)
    source = _tfrecord_source(path, data.eval_split)
    log(f"data: {source.description}")
    return _with_class_names(source, class_names)


def _tfrecord_source(root: Path, eval_split: Optional[str] = None) -> DataSource:
    input_config, output_config, how = _tfrecord_splits(root, eval_split)
    labels = _find_labels(root)
    return DataSource(str(root.resolve()), input_config, output_config,
                      read_labels_file(str(labels)) if labels else [], f"{root} ({how})")


def _resolve_segmentation(data: DataConfig, prepared_dir: str, class_names: Sequence[str], log) -> DataSource:
    """Segmentation: generated shapes by default, an images/ + masks/ pair of folders, or TFRecords."""
    cache_root = Path(prepared_dir)
    mask_values = segmentation_prep.parse_mask_values(data.mask_values)
    if data.path is None:
        root = embedded.write_shapes_dataset(cache_root / embedded.SHAPES_DIRNAME)
        chosen = list(class_names or embedded.SHAPE_CLASSES)
        kind = "embedded generated shapes"
    else:
        root = Path(data.path).expanduser()
        if not root.exists():
            raise DataPrepError(f"--data {data.path}: no such file or directory.")
        if not (root / segmentation_prep.IMAGES_DIR).is_dir():
            source = _tfrecord_source(root)
            log(f"data: {source.description}")
            return _with_class_names(source, class_names)
        labels = _find_labels(root)
        chosen = list(class_names) or (read_labels_file(str(labels)) if labels else [])
        if not chosen:
            raise DataPrepError(
                f"{root}: no class names. Pass --labels FILE (one name per line, line = class id in the masks) "
                "or put labels.txt next to images/ and masks/.")
        kind = "image/mask folders"
    dataset, rejected, reused = segmentation_prep.prepare_cached(
        root, cache_root, chosen, mask_values, data.eval_fraction, data.split_seed)
    for item in rejected:
        log(f"data: left out {item}")
    source = _prepared_source(dataset, f"{kind} {root} ({_counts(dataset)}, {len(rejected)} pairs left out)")
    log(f"data: {source.description}{' [reused]' if reused else ''}")
    return _with_class_names(source, chosen)


def _resolve_detection(data: DataConfig, prepared_dir: str, class_names: Sequence[str], log) -> DataSource:
    """Detection: generated scenes by default, a Pascal VOC folder or a CSV of boxes, or TFRecords."""
    cache_root = Path(prepared_dir)
    if data.path is None:
        root = embedded.write_detection_scenes(cache_root / embedded.SCENES_DIRNAME)
        chosen = list(class_names or embedded.SCENE_CLASSES)
        kind = "embedded generated scenes"
    else:
        root = Path(data.path).expanduser()
        if not root.exists():
            raise DataPrepError(f"--data {data.path}: no such file or directory.")
        if root.is_dir() and not detection_prep.is_voc(root):
            source = _tfrecord_source(root, data.eval_split)
            log(f"data: {source.description}")
            return _with_class_names(source, class_names)
        labels = _find_labels(root if root.is_dir() else root.parent)
        chosen = list(class_names) or (read_labels_file(str(labels)) if labels else [])
        kind = "Pascal VOC folder" if root.is_dir() else "box CSV"
    dataset, rejected, notes, reused = detection_prep.prepare_cached(
        root, cache_root, chosen, data.eval_fraction, data.split_seed, data.eval_split)
    for note in notes:
        log(f"data: {note}")
    for item in rejected:
        log(f"data: left out {item}")
    if not chosen:
        log(f"data: classes (the sorted names in the annotations; pass --labels to set them): "
            f"{', '.join(dataset.class_names)}")
    source = _prepared_source(dataset, f"{kind} {root} ({_counts(dataset)}, {len(rejected)} images left out)")
    log(f"data: {source.description}{' [reused]' if reused else ''}")
    return _with_class_names(source, dataset.class_names)


def _counts(dataset: PreparedDataset) -> str:
    return ", ".join(f"{k} {v}" for k, v in sorted(dataset.split_counts.items())) + f", {len(dataset.class_names)} classes"


def _with_class_names(source: DataSource, class_names: Sequence[str]) -> DataSource:
    """Explicit --labels win; otherwise the data's own labels.txt; none at all is an error."""
    chosen = list(class_names) or list(source.class_names)
    if not chosen:
        raise DataPrepError(
            f"{source.input_base}: no labels.txt found next to the TFRecords. Pass --labels FILE "
            "with one class name per line (line number = class id)."
        )
    return dataclasses.replace(source, class_names=chosen)
