"""Data preparation for object detection: Pascal VOC folders or a CSV of boxes -> TFRecords.

Two layouts are accepted:

* **Pascal VOC** — ``images/`` and ``annotations/*.xml`` matched by name stem,
  optionally ``splits/train.txt`` + ``val.txt``/``test.txt`` (image ids, one per
  line), which then decide the split: ``train`` trains, one held-out list
  (``--eval-split``, else the first of val, …, test) is the eval split, the
  others are reported and left out, as with split folders of photos;
* **CSV** — ``path,xmin,ymin,xmax,ymax,class`` (a header row, pixel
  coordinates, one row per box, paths relative to the CSV; a row with empty
  coordinates lists an image without objects).

Every box is checked — a known class, a positive area, inside the image (an
overshoot of at most 1 pixel, a common annotation convention, is clipped) — and
the annotation's image size must match the image.  An image with a bad box is
left out *whole*, reported by file with the reason: dropping only the box
would teach the detector that the object is background.

Boxes are stored normalised to [0, 1] of the image (``common.names.BOX_*``).

CLI::

    python -m ingest.detection_prep ROOT_OR_CSV OUTPUT_DIR [--class-names a,b,c] [--eval-fraction 0.2]
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import hashlib
import sys
import xml.etree.ElementTree as ElementTree
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

from common import names
from ingest import example_format as ef
from ingest import shards
from ingest.data_prep import HELD_OUT_DIR_NAMES, pick_eval
from ingest.shards import DataPrepError, PreparedDataset, Rejected

IMAGES_DIR = "images"
ANNOTATIONS_DIR = "annotations"
SPLITS_DIR = "splits"
CSV_COLUMNS = ("path", "xmin", "ymin", "xmax", "ymax", "class")
#: An annotation may overshoot the image by this many pixels (VOC's 1-based xmax = width); it is clipped.
OVERSHOOT_PIXELS = 1.0


@dataclasses.dataclass(frozen=True)
class Box:
    """One annotated object in pixels (edges: 0 <= xmin < xmax <= width)."""

    xmin: float
    ymin: float
    xmax: float
    ymax: float
    class_name: str


@dataclasses.dataclass(frozen=True)
class Annotated:
    """An image with its boxes, as the annotation states them (nothing checked yet)."""

    name: str
    image: Path
    boxes: Tuple[Box, ...]
    #: The image size the annotation states (VOC ``<size>``), or None.
    stated_size: Optional[Tuple[int, int]] = None
    #: The split the data itself assigns (VOC ``splits/``), or None.
    split: Optional[str] = None


def is_voc(root: Path) -> bool:
    return (root / IMAGES_DIR).is_dir() and (root / ANNOTATIONS_DIR).is_dir()


def _text(node, tag: str, where: str) -> str:
    found = node.find(tag)
    if found is None or found.text is None:
        raise ValueError(f"{where}: no <{tag}>")
    return found.text.strip()


def read_voc_xml(path: Path) -> Tuple[List[Box], Optional[Tuple[int, int]]]:
    """Boxes and the stated (width, height) of one Pascal VOC annotation; ValueError names what is wrong."""
    try:
        root = ElementTree.parse(path).getroot()
    except ElementTree.ParseError as err:
        raise ValueError(f"not valid XML ({err})") from None
    size = root.find("size")
    stated = None
    if size is not None and size.find("width") is not None:
        stated = (int(float(_text(size, "width", "size"))), int(float(_text(size, "height", "size"))))
    boxes = []
    for index, obj in enumerate(root.iter("object")):
        where = f"object {index + 1}"
        box = obj.find("bndbox")
        if box is None:
            raise ValueError(f"{where}: no <bndbox>")
        try:
            coords = [float(_text(box, tag, where)) for tag in ("xmin", "ymin", "xmax", "ymax")]
        except ValueError as err:
            raise ValueError(f"{where}: {err}") from None
        boxes.append(Box(*coords, class_name=_text(obj, "name", where)))
    return boxes, stated


def _voc_splits(root: Path, eval_split: Optional[str]) -> Tuple[Dict[str, str], List[str]]:
    """{image id: split} from ``splits/*.txt`` (empty without the folder), and notes on what is left out."""
    folder = root / SPLITS_DIR
    if not folder.is_dir():
        return {}, []
    lists = {p.stem.lower(): p for p in sorted(folder.glob("*.txt"))}
    if names.TRAIN_SPLIT not in lists:
        return {}, [f"{folder}: no train.txt; splitting by --eval-fraction instead"]
    held_out = [name for name in lists if name in HELD_OUT_DIR_NAMES]
    if not held_out:
        return {}, [f"{folder}: no val.txt/test.txt beside train.txt; splitting by --eval-fraction instead"]
    chosen = pick_eval(held_out, eval_split, str(folder))
    assignment: Dict[str, str] = {}
    for split, source in ((names.TRAIN_SPLIT, names.TRAIN_SPLIT), (names.EVAL_SPLIT, chosen)):
        for line in lists[source].read_text(encoding="utf-8").split():
            assignment.setdefault(line.strip(), split)
    others = [n for n in held_out if n != chosen]
    notes = [f"splits: train.txt trains, {chosen}.txt is the eval split"
             + (f"; {', '.join(o + '.txt' for o in others)} left out (never used for blessing)" if others else "")]
    return assignment, notes


def scan_voc(root: Path, eval_split: Optional[str] = None
             ) -> Tuple[List[Annotated], List[Rejected], List[str]]:
    """Images matched with their XML by stem; lone files and unreadable XML are rejected."""
    rejected: List[Rejected] = []
    files_in_images = [p for p in sorted((root / IMAGES_DIR).iterdir()) if not p.name.startswith(".")]
    # Formats TensorFlow cannot decode are kept: the ImageValidator quarantines them with the reason.
    images = {p.stem: p for p in files_in_images if p.suffix.lower() in shards.ANY_IMAGE_EXTENSIONS}
    rejected += [Rejected((f"{IMAGES_DIR}/{p.name}",), shards.NOT_AN_IMAGE) for p in files_in_images
                 if p.suffix.lower() not in shards.ANY_IMAGE_EXTENSIONS]
    xmls = {p.stem: p for p in sorted((root / ANNOTATIONS_DIR).glob("*.xml"))}
    assignment, notes = _voc_splits(root, eval_split)
    records = []
    for stem in sorted(images.keys() & xmls.keys()):
        files = (f"{IMAGES_DIR}/{images[stem].name}", f"{ANNOTATIONS_DIR}/{xmls[stem].name}")
        try:
            boxes, stated = read_voc_xml(xmls[stem])
        except ValueError as err:
            rejected.append(Rejected(files, str(err)))
            continue
        split = assignment.get(stem) if assignment else None
        if assignment and split is None:
            continue  # in a held-out list that is not the eval split, or in none: reported in the notes
        records.append(Annotated(images[stem].name, images[stem], tuple(boxes), stated, split))
    rejected += [Rejected((f"{IMAGES_DIR}/{images[s].name}",), "no annotation with this name stem")
                 for s in sorted(images.keys() - xmls.keys())]
    rejected += [Rejected((f"{ANNOTATIONS_DIR}/{xmls[s].name}",), "no image with this name stem")
                 for s in sorted(xmls.keys() - images.keys())]
    if assignment:
        listed = {line.strip() for p in (root / SPLITS_DIR).glob("*.txt")
                  for line in p.read_text(encoding="utf-8").split()}
        unlisted = len([s for s in images.keys() & xmls.keys() if s not in listed])
        if unlisted:
            notes.append(f"splits: {unlisted} annotated image(s) are in neither train.txt nor the eval list; "
                         "left out")
    return records, rejected, notes


def scan_csv(path: Path) -> Tuple[List[Annotated], List[Rejected]]:
    """Rows grouped by image path; a row that cannot be read rejects its image."""
    grouped: Dict[str, List[Box]] = {}
    bad: Dict[str, str] = {}
    with open(path, encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        missing = [c for c in CSV_COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            raise DataPrepError(f"{path}: missing column(s) {', '.join(missing)}; expected a header "
                                f"{','.join(CSV_COLUMNS)} (pixel coordinates, one row per box).")
        for line, row in enumerate(reader, start=2):
            image = (row["path"] or "").strip()
            if not image:
                raise DataPrepError(f"{path}, line {line}: empty path.")
            boxes = grouped.setdefault(image, [])
            values = [row[c].strip() if row[c] else "" for c in ("xmin", "ymin", "xmax", "ymax", "class")]
            if not any(values):
                continue  # an image without objects
            try:
                boxes.append(Box(*(float(v) for v in values[:4]), class_name=values[4]))
            except ValueError:
                bad.setdefault(image, f"line {line}: coordinates {values[:4]} are not numbers")
    rejected = [Rejected((image,), reason) for image, reason in sorted(bad.items())]
    records = [Annotated(image, (path.parent / image), tuple(boxes))
               for image, boxes in sorted(grouped.items()) if image not in bad]
    return records, rejected


def check_boxes(record: Annotated, class_names: Sequence[str]) -> Tuple[List[List[float]], List[int]]:
    """Normalised boxes and class ids of one image; ValueError names every bad box."""
    from PIL import Image

    try:
        with Image.open(record.image) as image:
            width, height = image.size
    except FileNotFoundError:
        raise ValueError("image file not found") from None
    except Exception as err:  # PIL raises many types for bad files
        raise ValueError(f"image cannot be read ({err})") from None
    if record.stated_size and tuple(record.stated_size) != (width, height):
        raise ValueError(f"the annotation says {record.stated_size[0]}x{record.stated_size[1]} but the image is "
                         f"{width}x{height}; its boxes cannot be trusted")
    problems, boxes, class_ids = [], [], []
    for index, box in enumerate(record.boxes, start=1):
        where = f"box {index} ({box.class_name} {box.xmin:g},{box.ymin:g},{box.xmax:g},{box.ymax:g})"
        if box.class_name not in class_names:
            problems.append(f"{where}: unknown class (known: {', '.join(class_names)})")
            continue
        if box.xmin >= box.xmax or box.ymin >= box.ymax:
            problems.append(f"{where}: no area (xmin < xmax and ymin < ymax needed)")
            continue
        if (box.xmin < -OVERSHOOT_PIXELS or box.ymin < -OVERSHOOT_PIXELS
                or box.xmax > width + OVERSHOOT_PIXELS or box.ymax > height + OVERSHOOT_PIXELS):
            problems.append(f"{where}: outside the {width}x{height} image")
            continue
        boxes.append([max(box.xmin, 0.0) / width, max(box.ymin, 0.0) / height,
                      min(box.xmax, width) / width, min(box.ymax, height) / height])
        class_ids.append(class_names.index(box.class_name))
    if problems:
        raise ValueError("; ".join(problems))
    return boxes, class_ids


def class_names_from(records: Sequence[Annotated]) -> List[str]:
    """The sorted class names the annotations use (when the user gives none)."""
    return sorted({box.class_name for record in records for box in record.boxes})


def fingerprint(source: Path, records: Sequence[Annotated], class_names, eval_fraction: float, seed: int,
                eval_split: Optional[str]) -> str:
    digest = hashlib.sha256(f"det{shards.FORMAT_VERSION}:{list(class_names)}:{eval_fraction}:{seed}:"
                            f"{eval_split}".encode())
    files = [source] if source.is_file() else []
    for record in records:
        files.append(record.image)
    if source.is_dir():
        files += sorted((source / ANNOTATIONS_DIR).glob("*.xml")) + sorted((source / SPLITS_DIR).glob("*.txt"))
    for path in files:
        stat = path.stat() if path.exists() else None
        digest.update(f"{path}\0{stat.st_size if stat else -1}\0{stat.st_mtime_ns if stat else -1}\n".encode())
    return digest.hexdigest()[:12]


def scan(source: Path, eval_split: Optional[str] = None) -> Tuple[List[Annotated], List[Rejected], List[str]]:
    if source.is_file() and source.suffix.lower() == ".csv":
        records, rejected = scan_csv(source)
        return records, rejected, []
    if source.is_dir() and is_voc(source):
        return scan_voc(source, eval_split)
    raise DataPrepError(
        f"{source}: not a detection dataset. Give a Pascal VOC folder ({IMAGES_DIR}/ + {ANNOTATIONS_DIR}/*.xml, "
        f"optionally {SPLITS_DIR}/train.txt + val.txt) or a CSV with columns {','.join(CSV_COLUMNS)}.")


def prepare(source: Path, out_dir: Path, class_names: Sequence[str] = (), eval_fraction: float = 0.2,
            seed: int = 0, eval_split: Optional[str] = None
            ) -> Tuple[PreparedDataset, List[Rejected], List[str]]:
    """Checks every image's boxes, writes the good images; returns the dataset, the rejected files, notes."""
    source = Path(source)
    shards.guard_output(Path(out_dir), [source])
    records, rejected, notes = scan(source, eval_split)
    chosen = list(class_names) or class_names_from(records)
    if not chosen:
        raise DataPrepError(f"{source}: no annotated objects, so no class names. Pass --labels FILE.")
    good = []
    crowded = 0
    for record in records:
        try:
            boxes, class_ids = check_boxes(record, chosen)
        except ValueError as err:
            rejected.append(Rejected((record.name,), str(err)))
            continue
        crowded += len(boxes) > names.MAX_BOXES
        good.append((record, boxes, class_ids))
    if len(good) < 2:
        details = "; ".join(str(r) for r in rejected[:5])
        raise DataPrepError(f"{source}: fewer than 2 usable annotated images. {details}")
    if crowded:
        notes.append(f"{crowded} image(s) hold more than {names.MAX_BOXES} boxes; training uses the first "
                     f"{names.MAX_BOXES} of each (evaluation uses all)")
    by_name = {record.name: (boxes, class_ids) for record, boxes, class_ids in good}
    if any(record.split for record, _, _ in good):
        splits = {split: [r for r, _, _ in good if r.split == split] for split in (names.TRAIN_SPLIT, names.EVAL_SPLIT)}
        for split, members in splits.items():
            if not members:
                raise DataPrepError(f"{source}: the {split} split has no usable images after the checks.")
    else:
        splits = shards.stratified_split([r for r, _, _ in good], eval_fraction, seed, stratify_by=lambda r: "")
    dataset = shards.write_tfrecords(
        splits, chosen, Path(out_dir),
        to_example=lambda record: ef.make_detection_example(
            record.image.read_bytes(), *by_name[record.name], chosen, record.name),
        extra_manifest={"task": "detection", "rejected": [dataclasses.asdict(r) for r in rejected],
                        "notes": notes,
                        "box_counts": {split: sum(len(by_name[r.name][0]) for r in members)
                                       for split, members in splits.items()}},
        seed=seed,
    )
    return dataset, rejected, notes


def prepare_cached(source: Path, cache_root: Path, class_names: Sequence[str] = (), eval_fraction: float = 0.2,
                   seed: int = 0, eval_split: Optional[str] = None
                   ) -> shards.Preparation:
    """:func:`prepare` into ``cache_root/<name>-<fingerprint>``, reusing a finished one; its notes and the
    images left out are the preparation's lines."""
    import json

    source = Path(source)
    records, _, _ = scan(source, eval_split)
    key = fingerprint(source, records, class_names, eval_fraction, seed, eval_split)
    out_dir = Path(cache_root) / f"{source.stem}-{key}"
    source_split = any(record.split for record in records)
    existing = shards.load_prepared(out_dir)
    if existing is not None:
        manifest = json.loads((out_dir / shards.MANIFEST_FILENAME).read_text())
        rejected = [Rejected(tuple(r["files"]), r["reason"]) for r in manifest.get("rejected", [])]
        return shards.Preparation(existing, True, _lines(manifest.get("notes", []), rejected), source_split)
    dataset, rejected, notes = prepare(source, out_dir, class_names, eval_fraction, seed, eval_split)
    return shards.Preparation(dataset, False, _lines(notes, rejected), source_split)


def _lines(notes: Sequence[str], rejected: Sequence[Rejected]) -> List[str]:
    return [*notes, *(f"left out {item}" for item in rejected)]


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ingest.detection_prep", description=__doc__.split("\n\n")[0])
    parser.add_argument("source", type=Path, help=f"VOC folder ({IMAGES_DIR}/ + {ANNOTATIONS_DIR}/) or CSV file")
    parser.add_argument("output_dir", type=Path)
    parser.add_argument("--class-names", default="", help="comma-separated, in class-id order "
                                                          "(default: the sorted names in the annotations)")
    parser.add_argument("--eval-fraction", type=float, default=0.2)
    parser.add_argument("--eval-split", default=None)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    try:
        dataset, rejected, notes = prepare(args.source, args.output_dir,
                                           [n for n in args.class_names.split(",") if n],
                                           args.eval_fraction, args.seed, args.eval_split)
    except DataPrepError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    for note in notes:
        print(note)
    for item in rejected:
        print(f"left out: {item}", file=sys.stderr)
    print(f"wrote {dataset.root}: " + ", ".join(f"{k}={v}" for k, v in sorted(dataset.split_counts.items()))
          + f", classes {', '.join(dataset.class_names)}, {len(rejected)} left out")
    return 0


if __name__ == "__main__":
    sys.exit(main())
