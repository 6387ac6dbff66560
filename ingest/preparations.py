"""The data preparations, by the name a task contract gives (``TaskContract.preparation``).

Why one interface: every task's folders become the same thing — prepared TFRecord shards under
``train/`` and ``eval/`` — and the run needs the same facts back from each (the dataset, whether it was
reused, what was understood and left out).  A preparation says which sources it reads (anything else is
taken as TFRecords) and prepares one; ``ingest.source`` asks the contract which preparation to use instead
of comparing task names.  A new task registers its own with :func:`register`.
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence

from common import names
from common.labels import read_labels_file
from ingest import data_prep, detection_prep, segmentation_prep
from ingest.config import DataConfig
from ingest.shards import ANY_IMAGE_EXTENSIONS, DataPrepError, Preparation


@dataclasses.dataclass(frozen=True)
class DataPreparation:
    """One way of turning a user's folders into prepared shards."""

    name: str
    #: Whether this preparation reads ``path`` (otherwise it is taken as a folder of TFRecords).
    reads: Callable[[Path], bool]
    #: ``(source, cache_root, class names or [], data config) -> Preparation``.
    prepare: Callable[[Path, Path, List[str], DataConfig], Preparation]


_PREPARATIONS: Dict[str, DataPreparation] = {}


def register(preparation: DataPreparation) -> DataPreparation:
    _PREPARATIONS[preparation.name] = preparation
    return preparation


def get(name: str) -> DataPreparation:
    if name not in _PREPARATIONS:
        raise ValueError(f"no data preparation {name!r}; known: {', '.join(_PREPARATIONS)}")
    return _PREPARATIONS[name]


def find_labels(root: Path) -> Optional[Path]:
    """``labels.txt`` in the data folder or beside it."""
    for candidate in (root / names.LABELS_FILENAME, root.parent / names.LABELS_FILENAME):
        if candidate.is_file():
            return candidate
    return None


def class_names_or_labels_file(root: Path, class_names: Sequence[str]) -> List[str]:
    """The user's ``--labels``, else the data's own ``labels.txt``, else none."""
    if class_names:
        return list(class_names)
    labels = find_labels(root if root.is_dir() else root.parent)
    return read_labels_file(str(labels)) if labels else []


def contains_images(root: Path) -> bool:
    return any(f.lower().endswith(ANY_IMAGE_EXTENSIONS) for _, _, files in os.walk(root, followlinks=True)
               for f in files)


def _class_folders(source: Path, cache_root: Path, class_names: List[str], data: DataConfig) -> Preparation:
    """Class names come from the folders (or the CSV); ``--labels`` may rename them afterwards."""
    return data_prep.prepare_cached(source, cache_root, data.held_out_fraction, data.split_seed, data.eval_split)


def _image_mask_folders(source: Path, cache_root: Path, class_names: List[str], data: DataConfig) -> Preparation:
    if data.eval_split:
        raise DataPrepError(
            f"--eval-split {data.eval_split}: {source} holds {segmentation_prep.IMAGES_DIR}/ and "
            f"{segmentation_prep.MASKS_DIR}/ without held-out folders, so the eval split is made here "
            "(--eval-fraction); leave out --eval-split, or give TFRecords with train/ and a held-out folder.")
    chosen = class_names_or_labels_file(source, class_names)
    if not chosen:
        raise DataPrepError(
            f"{source}: no class names. Pass --labels FILE (one name per line, line = class id in the masks) "
            "or put labels.txt next to images/ and masks/.")
    mask_values = segmentation_prep.parse_mask_values(data.mask_values)
    return segmentation_prep.prepare_cached(source, cache_root, chosen, mask_values, data.held_out_fraction,
                                            data.split_seed)


def _boxes(source: Path, cache_root: Path, class_names: List[str], data: DataConfig) -> Preparation:
    chosen = class_names_or_labels_file(source, class_names)
    prepared = detection_prep.prepare_cached(source, cache_root, chosen, data.held_out_fraction, data.split_seed,
                                             data.eval_split)
    if not chosen:
        prepared.lines.append("classes (the sorted names in the annotations; pass --labels to set them): "
                              + ", ".join(prepared.dataset.class_names))
    return prepared


register(DataPreparation(
    "class_folders", reads=lambda path: path.is_file() or contains_images(path), prepare=_class_folders))
register(DataPreparation(
    "image_mask_folders", reads=lambda path: (path / segmentation_prep.IMAGES_DIR).is_dir(), prepare=_image_mask_folders))
register(DataPreparation(
    "boxes", reads=lambda path: path.is_file() or detection_prep.is_voc(path), prepare=_boxes))
