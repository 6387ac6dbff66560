"""Data preparation for segmentation: ``images/`` + ``masks/`` folder pairs -> TFRecords.

Masks in the wild rarely hold class ids directly (ISBI 2012 stores membranes as
0 and cells as 255), so the mapping from stored value to class id is explicit
(``--mask-values 0:0,255:1``) and any value it does not name is an error.
Each pair is checked — the mask must be as large as its image and hold only
known values — and a bad pair is reported by file name and left out; it is
never resized or remapped silently.

CLI::

    python -m ingest.segmentation_prep ROOT OUTPUT_DIR --class-names background,membrane \\
        [--mask-values 0:1,255:0] [--eval-fraction 0.2] [--seed 0]
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import io
import sys
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from common import names
from ingest import example_format as ef
from ingest import shards
from ingest.shards import DataPrepError, PreparedDataset, Rejected

IMAGES_DIR = "images"
MASKS_DIR = "masks"
MASK_EXTENSIONS = (".png", ".bmp", ".gif", ".tif", ".tiff")


@dataclasses.dataclass(frozen=True)
class SegmentationPair:
    image: Path
    mask: Path
    name: str


#: Class id written for pixels to ignore (excluded from the loss, the IoU and pixel counts).
IGNORE = names.IGNORE_LABEL


def parse_mask_values(text: Optional[str]) -> Optional[Dict[int, int]]:
    """``"0:0,255:1,11:ignore"`` -> ``{0: 0, 255: 1, 11: 255}``; None stays None (values are class ids).

    ``ignore`` (or the ignore id itself, 255) marks a stored value as "no class here": a street scene's
    void id, an annotator's "unsure" value.
    """
    if not text:
        return None
    mapping = {}
    for item in text.split(","):
        value_text, _, class_text = item.strip().partition(":")
        try:
            value = int(value_text)
            class_id = IGNORE if class_text.strip().lower() == "ignore" else int(class_text)
        except ValueError:
            raise DataPrepError(
                f"--mask-values item {item!r} is not VALUE:CLASS_ID or VALUE:ignore (e.g. 0:0,255:1,11:ignore)."
            ) from None
        if not 0 <= value <= 65535:
            raise DataPrepError(f"--mask-values item {item!r}: stored mask values are 0-65535.")
        mapping[value] = class_id
    return mapping


def scan_pairs(root: Path) -> Tuple[List[SegmentationPair], List[Rejected]]:
    """Matches ``root/images/<stem>.*`` with ``root/masks/<stem>.*``; lone files are rejected."""
    images_dir, masks_dir = root / IMAGES_DIR, root / MASKS_DIR
    if not images_dir.is_dir() or not masks_dir.is_dir():
        raise DataPrepError(
            f"{root}: expected two folders, {IMAGES_DIR}/ and {MASKS_DIR}/, with files matched by name stem."
        )
    rejected: List[Rejected] = []
    images = _by_stem(images_dir, shards.ANY_IMAGE_EXTENSIONS, IMAGES_DIR, rejected, shards.NOT_AN_IMAGE)
    masks = _by_stem(masks_dir, MASK_EXTENSIONS, MASKS_DIR, rejected,
                     f"not a lossless mask file ({', '.join(MASK_EXTENSIONS)})")
    pairs = [SegmentationPair(images[s], masks[s], images[s].name) for s in sorted(images.keys() & masks.keys())]
    rejected += [Rejected((f"{IMAGES_DIR}/{images[s].name}",), "no mask with this name stem") for s in sorted(images.keys() - masks.keys())]
    rejected += [Rejected((f"{MASKS_DIR}/{masks[s].name}",), "no image with this name stem") for s in sorted(masks.keys() - images.keys())]
    return pairs, rejected


def _by_stem(folder: Path, extensions, label: str, rejected: List[Rejected], other_reason: str) -> Dict[str, Path]:
    """Files by name stem; two files with one stem (a.png and a.jpg) are both left out, with the reason,
    because which one a mask belongs to cannot be told.  Files of other extensions are left out with
    ``other_reason``."""
    by_stem: Dict[str, List[Path]] = {}
    for path in sorted(folder.iterdir()):
        if path.name.startswith("."):
            continue
        if path.suffix.lower() not in extensions:
            rejected.append(Rejected((f"{label}/{path.name}",), other_reason))
            continue
        by_stem.setdefault(path.stem, []).append(path)
    unique = {}
    for stem, paths in by_stem.items():
        if len(paths) > 1:
            rejected.append(Rejected(tuple(f"{label}/{p.name}" for p in paths),
                                     f"{len(paths)} files share the name stem {stem!r}; rename so each stem is unique"))
        else:
            unique[stem] = paths[0]
    return unique


def encode_class_mask(pair: SegmentationPair, mapping: Optional[Dict[int, int]], num_classes: int) -> bytes:
    """Checks one pair and returns its mask as a PNG of class ids; raises ValueError with the reason."""
    from PIL import Image

    try:
        with Image.open(pair.image) as image:
            image_size = image.size
    except Exception as err:  # PIL raises many types for bad files
        raise ValueError(f"image cannot be read ({err})") from None
    try:
        with Image.open(pair.mask) as mask_image:
            mask_size = mask_image.size
            mask = np.asarray(mask_image.convert("L") if mask_image.mode in ("1", "LA") else mask_image)
    except Exception as err:
        raise ValueError(f"mask cannot be read ({err})") from None
    if mask.ndim == 3:
        if not (mask == mask[..., :1]).all():
            raise ValueError("mask has colour channels that differ; store one class value per pixel (grayscale)")
        mask = mask[..., 0]
    if mask_size != image_size:
        raise ValueError(
            f"mask is {mask_size[0]}x{mask_size[1]} but image is {image_size[0]}x{image_size[1]}; masks must "
            "match their image pixel for pixel (not resized here)"
        )
    values = np.unique(mask)
    known = set(mapping) if mapping is not None else set(range(num_classes)) | {IGNORE}
    unknown = sorted(int(v) for v in values if int(v) not in known)
    if unknown:
        raise ValueError(
            f"mask holds value(s) {unknown[:10]} not in the value->class mapping {sorted(known)}; "
            "extend --mask-values or fix the mask"
        )
    if mapping is not None:
        lookup = np.zeros(int(max(values.max(), max(mapping))) + 1, np.uint8)
        for value, class_id in mapping.items():
            lookup[value] = class_id
        mask = lookup[mask]
    buffer = io.BytesIO()
    Image.fromarray(mask.astype(np.uint8), mode="L").save(buffer, format="PNG")
    return buffer.getvalue()


def _check_mapping(mapping: Optional[Dict[int, int]], class_names: Sequence[str]) -> None:
    if len(class_names) < 2:
        raise DataPrepError(f"segmentation needs at least 2 class names, got {list(class_names)}.")
    if mapping is not None:
        bad = sorted(c for c in mapping.values() if not 0 <= c < len(class_names) and c != IGNORE)
        if bad:
            raise DataPrepError(
                f"--mask-values maps to class id(s) {bad}, but there are only {len(class_names)} classes "
                f"({', '.join(class_names)}); map a value to 'ignore' to leave its pixels out."
            )


def fingerprint(pairs: Sequence[SegmentationPair], mapping, class_names, eval_fraction: float, seed: int) -> str:
    digest = hashlib.sha256(f"seg{shards.FORMAT_VERSION}:{sorted((mapping or {}).items())}:{list(class_names)}:"
                            f"{eval_fraction}:{seed}".encode())
    for pair in pairs:
        for path in (pair.image, pair.mask):
            stat = path.stat()
            digest.update(f"{path.name}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()[:12]


def prepare(
    root: Path, out_dir: Path, class_names: Sequence[str], mask_values: Optional[Dict[int, int]] = None,
    eval_fraction: float = 0.2, seed: int = 0,
) -> Tuple[PreparedDataset, List[Rejected]]:
    """Checks every pair, writes the good ones; returns the dataset and the rejected pairs."""
    shards.guard_output(Path(out_dir), [Path(root)])
    _check_mapping(mask_values, class_names)
    pairs, rejected = scan_pairs(Path(root))
    good: List[Tuple[SegmentationPair, bytes]] = []
    for pair in pairs:
        try:
            good.append((pair, encode_class_mask(pair, mask_values, len(class_names))))
        except ValueError as err:
            rejected.append(Rejected((f"{IMAGES_DIR}/{pair.image.name}", f"{MASKS_DIR}/{pair.mask.name}"), str(err)))
    if len(good) < 2:
        details = "; ".join(str(r) for r in rejected[:5])
        raise DataPrepError(f"{root}: fewer than 2 usable image/mask pairs. {details}")
    masks = {pair.name: mask for pair, mask in good}
    splits = shards.stratified_split([p for p, _ in good], eval_fraction, seed, stratify_by=lambda r: "")
    dataset = shards.write_tfrecords(
        splits, class_names, Path(out_dir),
        to_example=lambda pair: ef.make_segmentation_example(
            pair.image.read_bytes(), masks[pair.name], class_names, pair.name),
        extra_manifest={"task": "segmentation", "rejected": [dataclasses.asdict(r) for r in rejected],
                        "mask_values": {str(k): v for k, v in (mask_values or {}).items()}},
        seed=seed,
    )
    return dataset, rejected


def prepare_cached(
    root: Path, cache_root: Path, class_names: Sequence[str], mask_values: Optional[Dict[int, int]] = None,
    eval_fraction: float = 0.2, seed: int = 0,
) -> shards.Preparation:
    """:func:`prepare` into ``cache_root/<name>-<fingerprint>``, reusing a finished one; the pairs left out
    are listed in the preparation's lines."""
    import json

    root = Path(root)
    pairs, _ = scan_pairs(root)
    out_dir = Path(cache_root) / f"{root.name}-{fingerprint(pairs, mask_values, class_names, eval_fraction, seed)}"
    existing = shards.load_prepared(out_dir)
    if existing is not None:
        manifest = json.loads((out_dir / shards.MANIFEST_FILENAME).read_text())
        rejected = [Rejected(tuple(r["files"]), r["reason"]) for r in manifest.get("rejected", [])]
        return shards.Preparation(existing, True, [f"left out {item}" for item in rejected])
    dataset, rejected = prepare(root, out_dir, class_names, mask_values, eval_fraction, seed)
    return shards.Preparation(dataset, False, [f"left out {item}" for item in rejected])


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ingest.segmentation_prep", description=__doc__.split("\n\n")[0])
    parser.add_argument("root", type=Path, help=f"folder with {IMAGES_DIR}/ and {MASKS_DIR}/")
    parser.add_argument("output_dir", type=Path)
    parser.add_argument("--class-names", required=True, help="comma-separated, in class-id order")
    parser.add_argument("--mask-values", default=None, help="VALUE:CLASS_ID pairs, e.g. 0:0,255:1 (default: values are ids)")
    parser.add_argument("--eval-fraction", type=float, default=0.2)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    try:
        dataset, rejected = prepare(args.root, args.output_dir, args.class_names.split(","),
                                    parse_mask_values(args.mask_values), args.eval_fraction, args.seed)
    except DataPrepError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    for item in rejected:
        print(f"left out: {item}", file=sys.stderr)
    print(f"wrote {dataset.root}: " + ", ".join(f"{k}={v}" for k, v in sorted(dataset.split_counts.items()))
          + f", {len(rejected)} left out")
    return 0


if __name__ == "__main__":
    sys.exit(main())
