"""``make benchmark ARGS=flips``: horizontal flips decided from the data, measured on data nobody tuned for.

Each set runs the default (``--flips auto``) and the fixed choices beside it, fresh each time, and records the
eval accuracy, the blessing and the Trainer's decision with its figures:

* ``arrows`` — generated arrows pointing left, right, up and down (48 px, 250 a class): a set whose classes
  are mirror images of each other, where flips turn a left arrow into a right one;
* ``digits`` — scikit-learn's digits written as a user's class folders (not the embedded default, which
  turns flips off by itself);
* ``clothing3`` and ``cifar`` — real photos from ``../shared`` (skipped when absent), where flips help.
"""

from __future__ import annotations

import math
import os
import tempfile
import time
from pathlib import Path
from typing import Dict, List

import numpy as np

from benchmarks.run_benchmarks import SHARED, _run

ARROW_CLASSES = ("left", "right", "up", "down")


def _arrow(size: int, direction: str, rng: np.random.Generator) -> np.ndarray:
    """One arrow on a noisy background, at a random place, length, thickness and colour."""
    from PIL import Image, ImageDraw

    background = rng.integers(0, 90, 3)
    pixels = np.clip(background + rng.normal(0, 12, (size, size, 3)), 0, 255).astype(np.uint8)
    image = Image.fromarray(pixels)
    draw = ImageDraw.Draw(image)
    length = rng.uniform(0.45, 0.75) * size
    width = rng.uniform(0.08, 0.16) * size
    head = rng.uniform(0.3, 0.45) * length
    cx, cy = rng.uniform(0.35, 0.65, 2) * size
    # Pointing right, then rotated to the direction (with a little jitter).
    angle = {"right": 0.0, "up": -math.pi / 2, "left": math.pi, "down": math.pi / 2}[direction]
    angle += rng.uniform(-0.15, 0.15)
    shape = [(-length / 2, -width / 2), (length / 2 - head, -width / 2), (length / 2 - head, -head * 0.6),
             (length / 2, 0.0), (length / 2 - head, head * 0.6), (length / 2 - head, width / 2),
             (-length / 2, width / 2)]
    cos, sin = math.cos(angle), math.sin(angle)
    points = [(cx + x * cos - y * sin, cy + x * sin + y * cos) for x, y in shape]
    draw.polygon(points, fill=tuple(int(v) for v in rng.integers(150, 256, 3)))
    return np.asarray(image)


def write_arrows(root: Path, per_class: int = 250, size: int = 48, seed: int = 0) -> Path:
    """``root/<direction>/<n>.png``: a class-folder set whose classes are mirror images of each other."""
    from PIL import Image

    rng = np.random.default_rng(seed)
    for direction in ARROW_CLASSES:
        folder = root / direction
        folder.mkdir(parents=True, exist_ok=True)
        for index in range(per_class):
            Image.fromarray(_arrow(size, direction, rng)).save(folder / f"{index:04d}.png")
    return root


def _sets(tmp: Path) -> Dict[str, Path]:
    from ingest.embedded import write_digits_pngs

    sets = {"arrows": write_arrows(tmp / "arrows"), "digits": write_digits_pngs(tmp / "digits")}
    if SHARED.is_dir():
        sets["clothing3"] = SHARED / "clothing3"
        sets["cifar"] = SHARED / "cifar10-tfx-subset"
    return sets


#: The fixed choices run beside the default on each set.
MODES = {"arrows": ("auto", "on", "off"), "digits": ("auto", "on"), "clothing3": ("auto", "on"),
         "cifar": ("auto", "on")}


def measure() -> Dict[str, List[dict]]:
    results: Dict[str, List[dict]] = {}
    with tempfile.TemporaryDirectory(prefix="bench-flips-") as tmp:
        for name, data in _sets(Path(tmp)).items():
            results[name] = []
            for mode in MODES[name]:
                output_dir = os.path.join(tmp, f"out-{name}-{mode}")
                seconds, peak_mb, summary = _run(["--data", str(data), "--flips", mode, "--min-accuracy", "0"],
                                                 output_dir)
                flips = summary.get("augmentation", {}).get("flips", {})
                row = {"flips": mode, "accuracy": summary["metrics"].get("sparse_categorical_accuracy"),
                       "blessed_at_0.9": (summary["metrics"].get("sparse_categorical_accuracy") or 0) >= 0.9,
                       "decision": flips, "seconds": round(seconds, 1)}
                print(f"  {name} --flips {mode}: accuracy {row['accuracy']:.4f}, flips "
                      f"{'on' if flips.get('flips') else 'off'} ({flips.get('reason')})", flush=True)
                results[name].append(row)
    results["date"] = time.strftime("%Y-%m-%d %H:%M:%S")
    return results
