"""The embedded default datasets: scikit-learn's handwritten digits and generated shapes.

Why digits (classification): they are real images (1,797 scans of handwritten 0-9 shipped
inside scikit-learn, so no download), small enough that a whole TFX run takes
minutes on a laptop, and hard enough that a broken pipeline shows up as a bad
accuracy.  They are written out as PNG files in a class-per-folder tree and
then go through exactly the same data prep as a user's own images.
"""

from __future__ import annotations

import hashlib
import io
import os
import shutil
import tempfile
from pathlib import Path
from typing import Optional

import numpy as np

DIGITS_DIRNAME = "digits-png"
_DONE_MARKER = "_COMPLETE"


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


def _publish(tmp_dir: Path, out_dir: Path, parameters: str) -> Path:
    """Marks ``tmp_dir`` complete and swaps it in; an older generation (ours: it has the marker) is removed."""
    (tmp_dir / _DONE_MARKER).write_text(f"{generator_version()} {parameters}")
    if out_dir.exists():
        if not (out_dir / _DONE_MARKER).exists() and any(out_dir.iterdir()):
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


def write_shapes_dataset(out_dir: Path, count: int = 600, size: int = 64, seed: int = 0) -> Path:
    """Writes ``out_dir/images/*.png`` and ``out_dir/masks/*.png`` (class ids, see SHAPE_CLASSES).

    Each image holds 1-4 circles, squares and triangles of 8-26 px (shapes may
    leave the frame and overlap: later ones occlude earlier ones) on a
    textured, noisy background.  Deterministic for a given seed; idempotent
    like :func:`write_digits_pngs`.
    """
    from PIL import Image, ImageDraw

    out_dir, parameters = Path(out_dir), f"count={count} size={size} seed={seed}"
    if _is_current(out_dir, parameters):
        return out_dir
    final_dir, out_dir = out_dir, _fresh(out_dir)
    (out_dir / "images").mkdir(parents=True, exist_ok=True)
    (out_dir / "masks").mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    for index in range(count):
        background = _random_colour(rng)
        image = background + _texture(rng, size)
        mask = np.zeros((size, size), np.uint8)
        for _ in range(rng.integers(1, 5)):
            class_id = int(rng.integers(1, len(SHAPE_CLASSES)))
            radius = rng.uniform(4, 13)
            cx, cy = rng.uniform(0, size, 2)
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
            region = np.asarray(canvas, bool)
            under = image[region].mean(axis=0) if region.any() else background
            image[region] = _random_colour(rng, avoid=under) + _texture(rng, size)[region] * 0.6
            mask[region] = class_id
        name = f"shape_{index:04d}.png"
        Image.fromarray(np.clip(image, 0, 255).astype(np.uint8)).save(out_dir / "images" / name)
        Image.fromarray(mask, mode="L").save(out_dir / "masks" / name)
    return _publish(out_dir, final_dir, parameters)
