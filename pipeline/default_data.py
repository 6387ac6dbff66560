"""The embedded default dataset: scikit-learn's handwritten digits.

Why digits: they are real images (1,797 scans of handwritten 0-9 shipped
inside scikit-learn, so no download), small enough that a whole TFX run takes
minutes on a laptop, and hard enough that a broken pipeline shows up as a bad
accuracy.  They are written out as PNG files in a class-per-folder tree and
then go through exactly the same data prep as a user's own images.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Optional

import numpy as np

DIGITS_DIRNAME = "digits-png"
_DONE_MARKER = "_COMPLETE"


def write_digits_pngs(out_dir: Path, limit_per_class: Optional[int] = None) -> Path:
    """Writes ``out_dir/<digit>/<index>.png`` (8x8 grayscale, 0-16 scaled to 0-255).

    Idempotent: an existing complete tree is left untouched (same bytes, same
    timestamps) so the TFX cache recognises an unchanged default dataset.
    ``limit_per_class`` makes a smaller copy for fast tests.
    """
    from PIL import Image
    from sklearn.datasets import load_digits

    out_dir = Path(out_dir)
    if (out_dir / _DONE_MARKER).exists():
        return out_dir
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
    (out_dir / _DONE_MARKER).write_text("")
    return out_dir
