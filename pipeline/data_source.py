"""Turns the user's ``--data`` into what ImportExampleGen needs.

Three kinds of input are accepted, and told apart by looking at them:

* nothing — the embedded digits are written as PNGs and prepared;
* a class-per-folder image directory or a CSV manifest — prepared by
  :mod:`pipeline.data_prep` into ``<output_dir>/data/<name>-<fingerprint>``
  (reused while the source is unchanged, so the TFX cache holds);
* a directory of TFRecords — taken as it is: ``train/`` plus one of
  ``eval/``, ``test/``, ``val/``, ``validation/`` become the two splits;
  a flat directory is split 80/20 by ImportExampleGen's hash buckets.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import List, Optional, Tuple

from tfx.proto import example_gen_pb2

from pipeline import data_prep, default_data, segmentation_prep
from pipeline import example_format as ef
from pipeline.configs import PipelineConfig, read_labels_file

EVAL_DIR_NAMES = ("eval", "test", "val", "validation")
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
    return any(p.suffix.lower() in data_prep.IMAGE_EXTENSIONS for p in root.rglob("*") if p.is_file())


def _tfrecord_splits(root: Path) -> Tuple[example_gen_pb2.Input, Optional[example_gen_pb2.Output], str]:
    train_dir = root / ef.TRAIN_SPLIT
    eval_dir = next((root / n for n in EVAL_DIR_NAMES if (root / n).is_dir()), None)
    if train_dir.is_dir() and eval_dir is not None:
        for split_dir in (train_dir, eval_dir):
            if not any(_is_data_file(p) for p in split_dir.iterdir()):
                raise data_prep.DataPrepError(f"{split_dir}: no TFRecord files in this split folder.")
        splits = [
            example_gen_pb2.Input.Split(name=ef.TRAIN_SPLIT, pattern=f"{ef.TRAIN_SPLIT}/*"),
            example_gen_pb2.Input.Split(name=ef.EVAL_SPLIT, pattern=f"{eval_dir.name}/*"),
        ]
        return example_gen_pb2.Input(splits=splits), None, f"TFRecords, splits train/ + {eval_dir.name}/"
    files = [p for p in root.iterdir() if _is_data_file(p)]
    if not files:
        raise data_prep.DataPrepError(
            f"{root}: found neither images, nor TFRecord files, nor train/ + eval|test|val/ folders."
        )
    suffixes = sorted({"".join(p.suffixes) for p in files})
    if len(suffixes) != 1:
        raise data_prep.DataPrepError(
            f"{root}: TFRecord directory holds files of several kinds ({', '.join(suffixes)}); "
            "keep only the TFRecord shards there."
        )
    input_config = example_gen_pb2.Input(splits=[example_gen_pb2.Input.Split(name="single", pattern=f"*{suffixes[0]}")])
    output_config = example_gen_pb2.Output(
        split_config=example_gen_pb2.SplitConfig(
            splits=[
                example_gen_pb2.SplitConfig.Split(name=ef.TRAIN_SPLIT, hash_buckets=4),
                example_gen_pb2.SplitConfig.Split(name=ef.EVAL_SPLIT, hash_buckets=1),
            ]
        )
    )
    return input_config, output_config, "TFRecords, split 80/20 by hash"


def _prepared_source(dataset: data_prep.PreparedDataset, description: str) -> DataSource:
    input_config = example_gen_pb2.Input(
        splits=[
            example_gen_pb2.Input.Split(name=split, pattern=f"{split}/*{ef.TFRECORD_SUFFIX}")
            for split in (ef.TRAIN_SPLIT, ef.EVAL_SPLIT)
        ]
    )
    return DataSource(str(dataset.root.resolve()), input_config, None, dataset.class_names, description)


def _find_labels(root: Path) -> Optional[Path]:
    for candidate in (root / ef.LABELS_FILENAME, root.parent / ef.LABELS_FILENAME):
        if candidate.is_file():
            return candidate
    return None


def resolve(config: PipelineConfig, log=print) -> DataSource:
    """Prepares (or locates) the data named by ``config.data``; fills in class names."""
    if config.task == "segmentation":
        return _resolve_segmentation(config, log)
    cache_root = Path(config.prepared_data_dir)
    if config.data is None:
        pngs = default_data.write_digits_pngs(cache_root / default_data.DIGITS_DIRNAME)
        dataset, reused = data_prep.prepare_cached(pngs, cache_root, config.eval_fraction, config.split_seed)
        source = _prepared_source(dataset, f"embedded scikit-learn digits ({_counts(dataset)})")
        log(f"data: {source.description}{' [reused]' if reused else ''}")
        return _with_class_names(source, config)
    path = Path(config.data).expanduser()
    if not path.exists():
        raise data_prep.DataPrepError(f"--data {config.data}: no such file or directory.")
    if path.is_file() or _contains_images(path):
        dataset, reused = data_prep.prepare_cached(path, cache_root, config.eval_fraction, config.split_seed)
        kind = "CSV manifest" if path.is_file() else "class-per-folder images"
        source = _prepared_source(dataset, f"{kind} {path} ({_counts(dataset)})")
        log(f"data: {source.description}{' [reused]' if reused else ' [prepared into ' + str(dataset.root) + ']'}")
        return _with_class_names(source, config)
    input_config, output_config, how = _tfrecord_splits(path)
    labels = _find_labels(path)
    names = read_labels_file(str(labels)) if labels else []
    source = DataSource(str(path.resolve()), input_config, output_config, names, f"{path} ({how})")
    log(f"data: {source.description}")
    return _with_class_names(source, config)


def _resolve_segmentation(config: PipelineConfig, log) -> DataSource:
    """Segmentation: generated shapes by default, an images/ + masks/ pair of folders, or TFRecords."""
    cache_root = Path(config.prepared_data_dir)
    mask_values = segmentation_prep.parse_mask_values(config.mask_values)
    if config.data is None:
        root = default_data.write_shapes_dataset(cache_root / default_data.SHAPES_DIRNAME)
        names = list(config.trainer.class_names or default_data.SHAPE_CLASSES)
        kind = "embedded generated shapes"
    else:
        root = Path(config.data).expanduser()
        if not root.exists():
            raise data_prep.DataPrepError(f"--data {config.data}: no such file or directory.")
        if not (root / segmentation_prep.IMAGES_DIR).is_dir():
            input_config, output_config, how = _tfrecord_splits(root)
            labels = _find_labels(root)
            source = DataSource(str(root.resolve()), input_config, output_config,
                                read_labels_file(str(labels)) if labels else [], f"{root} ({how})")
            log(f"data: {source.description}")
            return _with_class_names(source, config)
        labels = _find_labels(root)
        names = list(config.trainer.class_names) or (read_labels_file(str(labels)) if labels else [])
        if not names:
            raise data_prep.DataPrepError(
                f"{root}: no class names. Pass --labels FILE (one name per line, line = class id in the masks) "
                "or put labels.txt next to images/ and masks/.")
        kind = "image/mask folders"
    dataset, rejected, reused = segmentation_prep.prepare_cached(
        root, cache_root, names, mask_values, config.eval_fraction, config.split_seed)
    for item in rejected:
        log(f"data: left out {item}")
    source = _prepared_source(dataset, f"{kind} {root} ({_counts(dataset)}, {len(rejected)} pairs left out)")
    log(f"data: {source.description}{' [reused]' if reused else ''}")
    return _with_class_names(source, config)


def _counts(dataset: data_prep.PreparedDataset) -> str:
    return ", ".join(f"{k} {v}" for k, v in sorted(dataset.split_counts.items())) + f", {len(dataset.class_names)} classes"


def _with_class_names(source: DataSource, config: PipelineConfig) -> DataSource:
    """Explicit --labels win; otherwise the data's own labels.txt; none at all is an error."""
    if config.trainer.class_names:
        names = list(config.trainer.class_names)
    elif source.class_names:
        names = list(source.class_names)
    else:
        raise data_prep.DataPrepError(
            f"{source.input_base}: no labels.txt found next to the TFRecords. Pass --labels FILE "
            "with one class name per line (line number = class id)."
        )
    config.trainer.class_names = names
    return dataclasses.replace(source, class_names=names)
