"""Turns the user's ``--data`` into what ImportExampleGen needs.

Three kinds of input are accepted, and told apart by looking at them:

* nothing — the task's embedded dataset (``ingest.embedded``) is written and prepared;
* what the task's data preparation reads (``ingest.preparations``: class folders or a CSV manifest,
  images/ + masks/, a Pascal VOC folder or a box CSV) — prepared into
  ``<output_dir>/data/<name>-<fingerprint>`` (reused while the source is unchanged, so the TFX cache holds);
* a directory of TFRecords — taken as it is: ``train/`` plus one held-out folder (``val/``, ``test/``, ...)
  become the two splits; a flat directory is split by ImportExampleGen's hash buckets (``--eval-fraction``).
"""

from __future__ import annotations

import dataclasses
import fractions
from pathlib import Path
from typing import Callable, List, Optional, Sequence, Tuple

from tfx.proto import example_gen_pb2

from common import names, tasks
from common.labels import read_labels_file
from ingest import data_prep, embedded, preparations
from ingest.config import DataConfig
from ingest.shards import DataPrepError, PreparedDataset

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


def _tfrecord_splits(root: Path, data: DataConfig
                     ) -> Tuple[example_gen_pb2.Input, Optional[example_gen_pb2.Output], str]:
    """train/ plus a held-out folder (chosen as for image split folders), or a flat folder split by hash."""
    train_dir = root / names.TRAIN_SPLIT
    held_out = [p.name for p in sorted(root.iterdir()) if p.is_dir() and p.name.lower() in data_prep.HELD_OUT_DIR_NAMES]
    eval_dir = root / data_prep.pick_eval(held_out, data.eval_split, str(root)) if held_out else None
    if train_dir.is_dir() and eval_dir is not None:
        _check_eval_fraction(data, True, root)
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
    if data.eval_split:
        raise DataPrepError(f"--eval-split {data.eval_split}: {root} holds TFRecords without split folders; "
                            "leave out --eval-split (the eval split is made here, --eval-fraction), or put the "
                            "files into train/ and a held-out folder.")
    input_config = example_gen_pb2.Input(splits=[example_gen_pb2.Input.Split(name="single", pattern=f"*{suffixes[0]}")])
    train_buckets, eval_buckets = _hash_buckets(data.held_out_fraction)
    output_config = example_gen_pb2.Output(
        split_config=example_gen_pb2.SplitConfig(
            splits=[
                example_gen_pb2.SplitConfig.Split(name=names.TRAIN_SPLIT, hash_buckets=train_buckets),
                example_gen_pb2.SplitConfig.Split(name=names.EVAL_SPLIT, hash_buckets=eval_buckets),
            ]
        )
    )
    share = eval_buckets / (train_buckets + eval_buckets)
    return input_config, output_config, f"TFRecords, split {1 - share:.0%}/{share:.0%} by hash"


def _hash_buckets(eval_fraction: float) -> Tuple[int, int]:
    """ImportExampleGen's (train, eval) hash buckets for ``eval_fraction``, in lowest terms (0.2 -> 4, 1)."""
    if not 0.0 < eval_fraction < 1.0:
        raise DataPrepError(f"--eval-fraction {eval_fraction:g}: must be between 0 and 1 (exclusive).")
    share = fractions.Fraction(eval_fraction).limit_denominator(100)
    return share.denominator - share.numerator, share.numerator


def _prepared_source(dataset: PreparedDataset, description: str) -> DataSource:
    input_config = example_gen_pb2.Input(
        splits=[
            example_gen_pb2.Input.Split(name=split, pattern=f"{split}/*{names.TFRECORD_SUFFIX}")
            for split in (names.TRAIN_SPLIT, names.EVAL_SPLIT)
        ]
    )
    return DataSource(str(dataset.root.resolve()), input_config, None, dataset.class_names, description)


def resolve(task: str, data: DataConfig, prepared_dir: str, class_names: Sequence[str] = (),
            log: Callable[[str], None] = print) -> DataSource:
    """Prepares (or locates) the data named by ``data.path`` for ``task``.

    The task's contract names its preparation and its embedded dataset; a folder the preparation does not
    read is taken as TFRecords.  ``class_names`` are the user's (``--labels``); they win over the data's own
    ``labels.txt``.  Prepared data goes to ``prepared_dir/<name>-<fingerprint>``.
    """
    contract = tasks.get(task)
    preparation = preparations.get(contract.preparation)
    chosen = list(class_names)
    if data.path is None:
        if contract.embedded_dataset is None:
            raise DataPrepError(f"--task {task} has no embedded dataset: pass --data ({contract.data_help}).")
        default = embedded.dataset(contract.embedded_dataset)
        root = default.write(Path(prepared_dir) / default.dirname)
        chosen = chosen or list(default.class_names)
        described = default.description
    else:
        root = Path(data.path).expanduser()
        if not root.exists():
            raise DataPrepError(f"--data {data.path}: no such file or directory.")
        if not preparation.reads(root):
            source = _tfrecord_source(root, data)
            log(f"data: {source.description}")
            return _with_class_names(source, class_names)
        described = str(root)
    prepared = preparation.prepare(root, Path(prepared_dir), chosen, data)
    _check_eval_fraction(data, prepared.source_split, root)
    source = _prepared_source(prepared.dataset, f"{described} ({_counts(prepared.dataset)})")
    log(f"data: {source.description}"
        f"{' [reused]' if prepared.reused else ' [prepared into ' + str(prepared.dataset.root) + ']'}")
    for line in prepared.describe():
        log(line)
    return _with_class_names(source, class_names)


def _check_eval_fraction(data: DataConfig, source_split: bool, root: Path) -> None:
    """``--eval-fraction`` decides nothing where the data names its own held-out split: say so, not ignore it."""
    if data.eval_fraction is not None and source_split:
        raise DataPrepError(
            f"--eval-fraction {data.eval_fraction:g}: {root} names its own held-out split (split folders or a "
            "split column), which is used as it is; leave out --eval-fraction, or remove the split to have "
            "one made here.")


def _tfrecord_source(root: Path, data: DataConfig) -> DataSource:
    input_config, output_config, how = _tfrecord_splits(root, data)
    labels = preparations.find_labels(root)
    return DataSource(str(root.resolve()), input_config, output_config,
                      read_labels_file(str(labels)) if labels else [], f"{root} ({how})")


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
