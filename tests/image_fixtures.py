"""Small real image files in every supported format, made with Pillow for tests."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Tuple

import numpy as np
from PIL import Image


def encode(array: np.ndarray, fmt: str, mode: str = None) -> bytes:
    """Encodes a uint8 array (HxW, HxWx3 or HxWx4) as PNG/JPEG/GIF/BMP bytes."""
    image = Image.fromarray(array, mode=mode)
    if fmt == "JPEG" and image.mode != "RGB":
        image = image.convert("RGB")
    buffer = io.BytesIO()
    image.save(buffer, format=fmt)
    return buffer.getvalue()


def solid(color: Tuple[int, ...], size: Tuple[int, int] = (12, 10)) -> np.ndarray:
    """A ``size`` (w, h) image filled with one colour (1, 3 or 4 channels)."""
    w, h = size
    if len(color) == 1:
        return np.full((h, w), color[0], np.uint8)
    return np.tile(np.array(color, np.uint8), (h, w, 1))


def write_class_folders(root: Path, per_class: int = 5, classes=("cat", "dog", "eel"), first: int = 0) -> Path:
    """``root/<class>/img_<i>.png`` with a distinct grey level per class; ``first`` offsets the levels (and
    names), so two calls can write different images (a train/ and a val/ folder without leakage)."""
    for c, name in enumerate(classes):
        for i in range(first, first + per_class):
            path = root / name / f"img_{i}.png"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(encode(solid((40 * c + i,)), "PNG"))
    return root
