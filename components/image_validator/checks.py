"""Per-image checks of the ImageValidator, plain Python so they can be tested without TFX.

Why decode twice (Pillow and TensorFlow): Pillow's ``load()`` notices a
truncated file that TensorFlow's JPEG decoder silently pads with grey, and
TensorFlow's decoder is the one Transform and serving use, so an image only
counts as good when the production decoder accepts it too.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
from typing import Optional

import numpy as np

from common import names

# Reasons, stable strings: they key the report and the quarantine feature.
EMPTY = "empty record (zero bytes)"
UNDECODABLE = "cannot be decoded as an image"
TRUNCATED = "truncated or corrupt image data"
UNSUPPORTED = "format not readable by the TensorFlow decoder"
TOO_SMALL = "too small"
ASPECT = "extreme aspect ratio"
DUPLICATE = "exact duplicate"
LEAKAGE = "duplicate across train and eval (leakage)"
MASK_BAD = "mask cannot be decoded"
MASK_SIZE = "mask size differs from image"
MASK_VALUES = "mask holds unknown class ids"


@dataclasses.dataclass
class ImageInfo:
    """What the validator learns about one image (written to the report)."""

    width: int = 0
    height: int = 0
    channels: int = 0
    format: str = ""
    mode: str = ""
    brightness: float = 0.0
    num_bytes: int = 0
    sha256: str = ""
    reason: Optional[str] = None
    detail: str = ""


def _tf_decodes(data: bytes) -> bool:
    import tensorflow as tf

    try:
        tf.io.decode_image(data, channels=3, expand_animations=False)
        return True
    except (tf.errors.InvalidArgumentError, ValueError):
        return False


def inspect_image(data: bytes, min_size: int, max_aspect_ratio: float) -> ImageInfo:
    """Decodes one encoded image and returns its properties, with ``reason`` set if it is bad."""
    from PIL import Image, UnidentifiedImageError

    info = ImageInfo(num_bytes=len(data), sha256=hashlib.sha256(data).hexdigest())
    if not data:
        info.reason = EMPTY
        return info
    try:
        with Image.open(io.BytesIO(data)) as image:
            info.format, info.mode = image.format or "", image.mode
            info.width, info.height = image.size
            image.load()
            rgb = np.asarray(image.convert("L"), np.float32)
            info.channels = len(image.getbands())
            info.brightness = float(rgb.mean()) / 255.0
    except UnidentifiedImageError:
        info.reason = UNDECODABLE
        return info
    except (OSError, SyntaxError, ValueError) as err:
        info.reason, info.detail = TRUNCATED, str(err)
        return info
    if not _tf_decodes(data):
        info.reason, info.detail = UNSUPPORTED, f"{info.format} {info.mode}"
        return info
    short, long = sorted((info.width, info.height))
    if short < min_size:
        info.reason, info.detail = TOO_SMALL, f"{info.width}x{info.height} < {min_size} px"
    elif long / max(short, 1) > max_aspect_ratio:
        info.reason, info.detail = ASPECT, f"{info.width}x{info.height} (ratio {long / short:.1f} > {max_aspect_ratio:g})"
    return info


def check_mask(data: bytes, image: ImageInfo, num_classes: int) -> Optional[str]:
    """Returns a reason when a segmentation mask does not fit its (good) image."""
    from PIL import Image

    try:
        with Image.open(io.BytesIO(data)) as mask_image:
            mask_image.load()
            size = mask_image.size
            mask = np.asarray(mask_image)
    except Exception:  # any decoding failure is the same finding
        return MASK_BAD
    if size != (image.width, image.height):
        return MASK_SIZE
    values = set(np.unique(mask).tolist()) - {names.IGNORE_LABEL}
    if any(v >= num_classes or v < 0 for v in values):
        return MASK_VALUES
    return None
