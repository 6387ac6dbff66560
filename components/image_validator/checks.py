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
from typing import Dict, Optional, Sequence

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
TOO_LARGE = "too many pixels (possible decompression bomb)"
ANIMATED = "animated image (several frames)"
DECODERS_DIFFER = "decoders disagree on the pixels"
MASK_BAD = "mask cannot be decoded"
MASK_SIZE = "mask size differs from image"
MASK_VALUES = "mask holds unknown class ids"
BOXES_BAD = "bad box annotation"


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
    #: 64-bit perceptual hashes (16 hex digits each): the DCT pHash and the gradient dHash. Near-identical
    #: pictures are close in both; merely similar compositions (two pairs of jeans on a floor) only in pHash.
    phash: str = ""
    dhash: str = ""
    #: Segmentation: share of the mask's pixels labelled IGNORE_LABEL (left out of loss, IoU and counts).
    ignored_fraction: float = 0.0
    #: Segmentation: pixels per class id (ignored pixels left out), for the class pixel shares of the report.
    class_pixels: Dict[str, int] = dataclasses.field(default_factory=dict)
    #: Detection: boxes per class id.
    class_boxes: Dict[str, int] = dataclasses.field(default_factory=dict)
    reason: Optional[str] = None
    detail: str = ""


#: Pillow modes whose RGB conversion must match TensorFlow's decoder pixel for pixel (8 bits per channel).
_COMPARABLE_MODES = ("RGB", "RGBA", "L", "LA", "P", "PA", "CMYK", "YCbCr")
#: Mean absolute difference (0-255) above which the two decoders are taken to disagree; JPEG decoders
#: with different IDCTs differ by about 1.
_MAX_DECODER_DIFFERENCE = 8.0
#: Default pixel budget: 100 megapixels (a 48-megapixel phone photo is well inside).
DEFAULT_MAX_PIXELS = 100_000_000


def _tf_decode(data: bytes) -> Optional[np.ndarray]:
    """The production decoder (Transform and serving use it): RGB uint8, first frame; None if it refuses."""
    import tensorflow as tf

    try:
        return tf.io.decode_image(data, channels=3, expand_animations=False).numpy()
    except (tf.errors.InvalidArgumentError, ValueError):
        return None


def _hex(bits: np.ndarray) -> str:
    """64 booleans, row-major, as 16 hex digits: what ``str(imagehash.ImageHash)`` gives, without its
    per-bit string building (~10% of the validator's per-image time on 32-px PNGs, profiled)."""
    return np.packbits(bits.reshape(-1)).tobytes().hex()


def perceptual_hashes(image):
    """(pHash, dHash) of a Pillow image: both survive resizing, re-encoding and small edits.

    The same arithmetic as ``imagehash.phash`` and ``imagehash.dhash`` (the grey image resized with Lanczos
    to 32x32, the 8x8 lowest DCT-II frequencies against their median; resized to 9x8, each pixel against its
    left neighbour) and the same strings (a test compares them), with the grey conversion done once.
    """
    import scipy.fftpack
    from PIL import Image

    gray = image if image.mode == "L" else image.convert("L")
    pixels = np.asarray(gray.resize((32, 32), Image.Resampling.LANCZOS))
    low = scipy.fftpack.dct(scipy.fftpack.dct(pixels, axis=0), axis=1)[:8, :8]
    small = np.asarray(gray.resize((9, 8), Image.Resampling.LANCZOS))
    return _hex(low > np.median(low)), _hex(small[:, 1:] > small[:, :-1])


def near_duplicate_pairs(hashes, max_distance: int, confirm=None):
    """``(i, j, distance)`` for every pair of 64-bit hashes at most ``max_distance`` bits apart, i < j.

    ``confirm``: a second hash per item that must be within ``max_distance`` too
    (``distance`` is then the larger of the two).  Pigeonhole banding instead of
    comparing every pair: two hashes within ``max_distance`` bits agree exactly
    on at least one of ``max_distance + 1`` bands, so only hashes sharing a band
    value are compared.
    """
    values = [int(h, 16) for h in hashes]
    second = [int(h, 16) for h in confirm] if confirm is not None else None
    bands = max_distance + 1
    width = -(-64 // bands)
    candidates = set()
    for band in range(bands):
        buckets = {}
        for index, value in enumerate(values):
            buckets.setdefault((value >> (band * width)) & ((1 << width) - 1), []).append(index)
        for members in buckets.values():
            if len(members) > 1:
                candidates.update((a, b) for k, a in enumerate(members) for b in members[k + 1:])
    pairs = []
    for a, b in sorted(candidates):
        distance = bin(values[a] ^ values[b]).count("1")
        if second is not None:
            distance = max(distance, bin(second[a] ^ second[b]).count("1"))
        if distance <= max_distance:
            pairs.append((a, b, distance))
    return pairs


def inspect_image(data: bytes, min_size: int, max_aspect_ratio: float,
                  max_pixels: int = DEFAULT_MAX_PIXELS) -> ImageInfo:
    """Decodes one encoded image and returns its properties, with ``reason`` set if it is bad.

    The size comes from the header and is checked before any pixel is decoded, so a decompression
    bomb (a small file claiming 30000x30000 pixels) costs nothing.  EXIF orientation is not applied,
    here as in Transform and serving: pixels are used as stored.
    """
    from PIL import Image, UnidentifiedImageError

    info = ImageInfo(num_bytes=len(data), sha256=hashlib.sha256(data).hexdigest())
    if not data:
        info.reason = EMPTY
        return info
    try:
        with Image.open(io.BytesIO(data)) as image:
            info.format, info.mode = image.format or "", image.mode
            info.width, info.height = image.size
            if info.width * info.height > max_pixels:
                info.reason = TOO_LARGE
                info.detail = f"{info.width}x{info.height} > {max_pixels:,} pixels; refused before decoding"
                return info
            if getattr(image, "n_frames", 1) > 1:
                info.reason, info.detail = ANIMATED, f"{image.n_frames} frames; only the first would be used"
                return info
            image.load()
            info.channels = len(image.getbands())
            gray = image if image.mode == "L" else image.convert("L")
            info.brightness = float(np.asarray(gray).mean()) / 255.0
            reference = (np.asarray(image if image.mode == "RGB" else image.convert("RGB"))
                         if info.mode in _COMPARABLE_MODES else None)
            info.phash, info.dhash = perceptual_hashes(gray)
    except UnidentifiedImageError:
        info.reason = UNDECODABLE
        return info
    except Image.DecompressionBombError as err:
        info.reason, info.detail = TOO_LARGE, str(err)
        return info
    except (OSError, SyntaxError, ValueError) as err:
        info.reason, info.detail = TRUNCATED, str(err)
        return info
    decoded = _tf_decode(data)
    if decoded is None:
        info.reason, info.detail = UNSUPPORTED, f"{info.format} {info.mode}"
        return info
    if reference is not None and reference.shape == decoded.shape:
        difference = float(np.abs(reference.astype(np.int16) - decoded.astype(np.int16)).mean())
        if difference > _MAX_DECODER_DIFFERENCE:
            info.reason = DECODERS_DIFFER
            info.detail = f"{info.format} {info.mode}: mean difference {difference:.1f} of 255 between Pillow and TensorFlow"
            return info
    short, long = sorted((info.width, info.height))
    if short < min_size:
        info.reason, info.detail = TOO_SMALL, f"{info.width}x{info.height} < {min_size} px"
    elif long / max(short, 1) > max_aspect_ratio:
        info.reason, info.detail = ASPECT, f"{info.width}x{info.height} (ratio {long / short:.1f} > {max_aspect_ratio:g})"
    return info


def check_mask(data: bytes, image: ImageInfo, num_classes: int) -> Optional[str]:
    """Returns a reason when a segmentation mask does not fit its (good) image; records the ignored share."""
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
    image.ignored_fraction = float(np.mean(mask == names.IGNORE_LABEL)) if mask.size else 0.0
    ids, counts = np.unique(mask, return_counts=True)
    image.class_pixels = {str(int(i)): int(c) for i, c in zip(ids, counts) if int(i) != names.IGNORE_LABEL}
    values = set(int(i) for i in ids) - {names.IGNORE_LABEL}
    if any(v >= num_classes or v < 0 for v in values):
        return MASK_VALUES
    return None


def check_boxes(coordinates: Sequence[Sequence[float]], class_ids: Sequence[int], num_classes: int,
                image: ImageInfo) -> Optional[str]:
    """Returns a reason when an image's boxes are malformed (detail in ``image.detail``); counts boxes per class.

    ``coordinates`` are the xmin, ymin, xmax, ymax lists, normalised to [0, 1] of the image.
    """
    lengths = {len(values) for values in coordinates} | {len(class_ids)}
    if len(lengths) != 1:
        image.detail = f"box lists of different lengths {sorted(lengths)} (xmin, ymin, xmax, ymax, class)"
        return BOXES_BAD
    problems = []
    for index, (xmin, ymin, xmax, ymax, class_id) in enumerate(zip(*coordinates, class_ids), start=1):
        if not 0 <= class_id < num_classes:
            problems.append(f"box {index}: class id {class_id} outside 0-{num_classes - 1}")
        elif not (0.0 <= xmin < xmax <= 1.0 and 0.0 <= ymin < ymax <= 1.0):
            problems.append(f"box {index}: ({xmin:.3f}, {ymin:.3f}, {xmax:.3f}, {ymax:.3f}) is not inside the "
                            "image with a positive area (normalised xmin < xmax, ymin < ymax in [0, 1])")
    if problems:
        image.detail = "; ".join(problems[:5]) + (f"; and {len(problems) - 5} more" if len(problems) > 5 else "")
        return BOXES_BAD
    for class_id in class_ids:
        image.class_boxes[str(int(class_id))] = image.class_boxes.get(str(int(class_id)), 0) + 1
    return None
