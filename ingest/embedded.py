"""The embedded default datasets: scikit-learn's handwritten digits and generated shapes.

Why digits (classification): they are real images (1,797 scans of handwritten 0-9 shipped
inside scikit-learn, so no download), small enough that a whole TFX run takes
minutes on a laptop, and hard enough that a broken pipeline shows up as a bad
accuracy.  They are written out as PNG files in a class-per-folder tree and
then go through exactly the same data prep as a user's own images.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import os
import shutil
import tempfile
from pathlib import Path
from typing import Callable, Dict, Optional, Tuple

import numpy as np

DIGITS_DIRNAME = "digits-png"
#: Hidden (a dot file), so data preparation does not list it among the user's files it left out.
_DONE_MARKER = ".complete"
#: The marker's earlier name: a folder holding it was written by this generator too, and may be replaced.
_LEGACY_DONE_MARKER = "_COMPLETE"


def generator_version() -> str:
    """Hash of this module's source: the marker records it, so a changed generator regenerates its data."""
    return hashlib.sha256(Path(__file__).read_bytes()).hexdigest()[:16]


def _is_current(out_dir: Path, parameters: str) -> bool:
    marker = out_dir / _DONE_MARKER
    return marker.is_file() and marker.read_text() == f"{generator_version()} {parameters}"


def _fresh(out_dir: Path) -> Path:
    """An empty folder beside ``out_dir`` to generate into (moved into place by :func:`_publish`)."""
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix=f".{out_dir.name}-", dir=out_dir.parent))


def _start(out_dir: Path, parameters: str, subdirs) -> Optional[Path]:
    """None when ``out_dir`` already holds this generation; else a fresh folder (with ``subdirs``) to fill."""
    if _is_current(out_dir, parameters):
        return None
    fresh = _fresh(out_dir)
    for name in subdirs:
        (fresh / name).mkdir(parents=True, exist_ok=True)
    return fresh


def _publish(tmp_dir: Path, out_dir: Path, parameters: str) -> Path:
    """Marks ``tmp_dir`` complete and swaps it in; an older generation (ours: it has the marker) is removed."""
    (tmp_dir / _DONE_MARKER).write_text(f"{generator_version()} {parameters}")
    if out_dir.exists():
        ours = any((out_dir / marker).exists() for marker in (_DONE_MARKER, _LEGACY_DONE_MARKER))
        if not ours and any(out_dir.iterdir()):
            shutil.rmtree(tmp_dir, ignore_errors=True)
            raise FileExistsError(f"{out_dir} exists and was not written by this generator; not replacing it.")
        shutil.rmtree(out_dir)
    os.replace(tmp_dir, out_dir)
    return out_dir


def write_digits_pngs(out_dir: Path, limit_per_class: Optional[int] = None) -> Path:
    """Writes ``out_dir/<digit>/<index>.png`` (8x8 grayscale, 0-16 scaled to 0-255).

    Idempotent: a complete tree written by this version of the generator with
    the same parameters is left untouched (same bytes, same timestamps), so the
    TFX cache recognises an unchanged default dataset; a changed generator
    regenerates it.
    ``limit_per_class`` makes a smaller copy for fast tests.
    """
    from PIL import Image
    from sklearn.datasets import load_digits

    out_dir, parameters = Path(out_dir), f"limit_per_class={limit_per_class}"
    if _is_current(out_dir, parameters):
        return out_dir
    final_dir, out_dir = out_dir, _fresh(out_dir)
    digits = load_digits()
    seen = {d: 0 for d in range(10)}
    for index, (pixels, target) in enumerate(zip(digits.images, digits.target)):
        target = int(target)
        if limit_per_class is not None and seen[target] >= limit_per_class:
            continue
        seen[target] += 1
        image = Image.fromarray(np.round(pixels * (255.0 / 16.0)).astype(np.uint8), mode="L")
        buffer = io.BytesIO()
        image.save(buffer, format="PNG")
        path = out_dir / str(target) / f"digit_{index:04d}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(buffer.getvalue())
    return _publish(out_dir, final_dir, parameters)


SHAPES_DIRNAME = "shapes-seg"
SHAPE_CLASSES = ("background", "circle", "square", "triangle")


def _texture(rng: np.random.Generator, size: int) -> np.ndarray:
    """A smooth random colour field plus pixel noise, values around 0."""
    y, x = np.mgrid[0:size, 0:size] / size
    field = np.zeros((size, size, 3))
    for _ in range(3):
        fx, fy, phase = rng.uniform(1, 6), rng.uniform(1, 6), rng.uniform(0, 2 * np.pi)
        field += rng.uniform(-25, 25, 3) * np.sin(2 * np.pi * (fx * x + fy * y) + phase)[..., None]
    return field + rng.normal(0, 10, (size, size, 3))


def _random_colour(rng: np.random.Generator, avoid: Optional[np.ndarray] = None) -> np.ndarray:
    """Colours come from one distribution for shapes and background, so no threshold separates them;
    a shape only differs from what is under it by a visible margin."""
    while True:
        colour = rng.uniform(30, 225, 3)
        if avoid is None or np.linalg.norm(colour - avoid) > 70:
            return colour


def _shape_region(rng: np.random.Generator, size: int, class_id: int, radius: float, cx: float,
                  cy: float) -> np.ndarray:
    """Pixels of one shape (1 circle, 2 square, 3 triangle; random rotation) on a ``size`` square canvas."""
    from PIL import Image, ImageDraw

    canvas = Image.new("L", (size, size), 0)
    draw = ImageDraw.Draw(canvas)
    if class_id == 1:
        draw.ellipse([cx - radius, cy - radius, cx + radius, cy + radius], fill=1)
    elif class_id == 2:
        angle = rng.uniform(0, np.pi / 2)
        corners = [(cx + radius * np.cos(angle + k * np.pi / 2) * 1.2,
                    cy + radius * np.sin(angle + k * np.pi / 2) * 1.2) for k in range(4)]
        draw.polygon(corners, fill=1)
    else:
        angle = rng.uniform(0, 2 * np.pi)
        corners = [(cx + radius * 1.3 * np.cos(angle + k * 2 * np.pi / 3),
                    cy + radius * 1.3 * np.sin(angle + k * 2 * np.pi / 3)) for k in range(3)]
        draw.polygon(corners, fill=1)
    return np.asarray(canvas, bool)


def write_shapes_dataset(out_dir: Path, count: int = 600, size: int = 64, seed: int = 0) -> Path:
    """Writes ``out_dir/images/*.png`` and ``out_dir/masks/*.png`` (class ids, see SHAPE_CLASSES).

    Each image holds 1-4 circles, squares and triangles of 8-26 px (shapes may
    leave the frame and overlap: later ones occlude earlier ones) on a
    textured, noisy background.  Deterministic for a given seed; idempotent
    like :func:`write_digits_pngs`.
    """
    from PIL import Image

    final_dir, parameters = Path(out_dir), f"count={count} size={size} seed={seed}"
    out_dir = _start(final_dir, parameters, ("images", "masks"))
    if out_dir is None:
        return final_dir
    rng = np.random.default_rng(seed)
    for index in range(count):
        background = _random_colour(rng)
        image = background + _texture(rng, size)
        mask = np.zeros((size, size), np.uint8)
        for _ in range(rng.integers(1, 5)):
            class_id = int(rng.integers(1, len(SHAPE_CLASSES)))
            radius = rng.uniform(4, 13)
            cx, cy = rng.uniform(0, size, 2)
            region = _shape_region(rng, size, class_id, radius, cx, cy)
            under = image[region].mean(axis=0) if region.any() else background
            image[region] = _random_colour(rng, avoid=under) + _texture(rng, size)[region] * 0.6
            mask[region] = class_id
        name = f"shape_{index:04d}.png"
        Image.fromarray(np.clip(image, 0, 255).astype(np.uint8)).save(out_dir / "images" / name)
        Image.fromarray(mask, mode="L").save(out_dir / "masks" / name)
    return _publish(out_dir, final_dir, parameters)


SCENES_DIRNAME = "shapes-det"
#: Detection classes of the generated scenes (no background class: a detector's background is "no box").
SCENE_CLASSES = ("circle", "square", "triangle")


def _box_iou(a, b) -> float:
    width = min(a[2], b[2]) - max(a[0], b[0])
    height = min(a[3], b[3]) - max(a[1], b[1])
    if width <= 0 or height <= 0:
        return 0.0
    inter = width * height
    return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter)


def _voc_xml(filename: str, size: int, objects) -> str:
    parts = [f"<annotation><filename>{filename}</filename><size><width>{size}</width><height>{size}</height>"
             "<depth>3</depth></size>"]
    for name, (xmin, ymin, xmax, ymax) in objects:
        parts.append(f"<object><name>{name}</name><bndbox><xmin>{xmin}</xmin><ymin>{ymin}</ymin>"
                     f"<xmax>{xmax}</xmax><ymax>{ymax}</ymax></bndbox></object>")
    return "".join(parts) + "</annotation>\n"


def write_detection_scenes(out_dir: Path, count: int = 500, size: int = 128, seed: int = 0) -> Path:
    """Writes a Pascal VOC folder: ``images/*.png`` and ``annotations/*.xml`` (see SCENE_CLASSES).

    Each scene holds 1-6 circles, squares and triangles of 10-50 px on a
    textured, noisy background; objects overlap (box IoU up to 0.3, later ones
    occlude earlier ones) and may leave the frame (at least half of each stays
    in; its box is clipped).  The boxes are the drawn pixels' extent, so they
    are exact.  Deterministic for a given seed; idempotent like :func:`write_digits_pngs`.
    """
    from PIL import Image

    final_dir, parameters = Path(out_dir), f"count={count} size={size} seed={seed}"
    out_dir = _start(final_dir, parameters, ("images", "annotations"))
    if out_dir is None:
        return final_dir
    rng = np.random.default_rng(seed)
    for index in range(count):
        background = _random_colour(rng)
        image = background + _texture(rng, size)
        objects = []
        for _ in range(int(rng.integers(1, 7))):
            for _attempt in range(10):
                class_id = int(rng.integers(1, len(SCENE_CLASSES) + 1))
                radius = rng.uniform(5, 25)
                cx, cy = rng.uniform(-0.3 * radius, size + 0.3 * radius, 2)
                region = _shape_region(rng, size, class_id, radius, cx, cy)
                if not region.any():
                    continue
                rows, cols = np.nonzero(region)
                box = (int(cols.min()), int(rows.min()), int(cols.max()) + 1, int(rows.max()) + 1)
                full = np.pi * radius ** 2 * (0.9 if class_id != 1 else 1.0)
                if region.sum() < 0.5 * full or min(box[2] - box[0], box[3] - box[1]) < 6:
                    continue  # mostly outside the frame, or a sliver
                if any(_box_iou(box, other) > 0.3 for _, other in objects):
                    continue
                under = image[region].mean(axis=0)
                image[region] = _random_colour(rng, avoid=under) + _texture(rng, size)[region] * 0.6
                objects.append((SCENE_CLASSES[class_id - 1], box))
                break
        name = f"scene_{index:04d}"
        Image.fromarray(np.clip(image, 0, 255).astype(np.uint8)).save(out_dir / "images" / f"{name}.png")
        (out_dir / "annotations" / f"{name}.xml").write_text(_voc_xml(f"{name}.png", size, objects))
    return _publish(out_dir, final_dir, parameters)


@dataclasses.dataclass(frozen=True)
class EmbeddedDataset:
    """A dataset a run without ``--data`` trains on; a task contract names one by ``embedded_dataset``."""

    dirname: str
    write: Callable[[Path], Path]
    class_names: Tuple[str, ...]
    description: str


#: Every embedded dataset by name (the names task contracts use).
DATASETS: Dict[str, EmbeddedDataset] = {
    "digits": EmbeddedDataset(DIGITS_DIRNAME, write_digits_pngs, tuple(str(digit) for digit in range(10)),
                              "embedded scikit-learn digits"),
    "shapes": EmbeddedDataset(SHAPES_DIRNAME, write_shapes_dataset, SHAPE_CLASSES, "embedded generated shapes"),
    "scenes": EmbeddedDataset(SCENES_DIRNAME, write_detection_scenes, SCENE_CLASSES, "embedded generated scenes"),
}


def dataset(name: str) -> EmbeddedDataset:
    if name not in DATASETS:
        raise ValueError(f"no embedded dataset {name!r}; known: {', '.join(DATASETS)}")
    return DATASETS[name]


def class_names(name: str) -> list:
    """Class names of the embedded dataset ``name``."""
    return list(dataset(name).class_names)
