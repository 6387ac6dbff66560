"""Per-image checks of the ImageValidator, plain Python so they can be tested without TFX.

Why decode twice (Pillow and TensorFlow): Pillow's ``load()`` notices a
truncated file that TensorFlow's JPEG decoder silently pads with grey, and
TensorFlow's decoder is the one Transform and serving use, so an image only
counts as good when the production decoder accepts it too.
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import functools
import hashlib
import io
import itertools
from typing import Dict, List, Optional, Sequence, Tuple

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
#: File starts of what TensorFlow's decoder reads (JPEG, PNG, GIF, BMP).
_TF_MAGIC = (b"\xff\xd8\xff", b"\x89PNG", b"GIF8", b"BM")
#: Pixels decoded at once (each decoder's copy): ~50 MB of RGB, 16,000 CIFAR images or one 16-MP photo.
_BATCH_PIXELS = 1 << 24
#: Grey levels, to take a mean from a histogram.
_LEVELS = np.arange(256, dtype=np.float64)


def _tf_decode(data: bytes) -> Optional[np.ndarray]:
    """The production decoder (Transform and serving use it): RGB uint8, first frame; None if it refuses."""
    import tensorflow as tf

    try:
        return tf.io.decode_image(data, channels=3, expand_animations=False).numpy()
    except (tf.errors.InvalidArgumentError, ValueError):
        return None


def _flat_decode(data):
    import tensorflow as tf

    image = tf.io.decode_image(data, channels=3, expand_animations=False)
    return tf.reshape(image, [-1]), tf.shape(image)


@functools.lru_cache(maxsize=None)
def _batch_decoder():
    """A graph function that decodes a whole batch in one call: image by image, eager dispatch costs
    ~300 µs an image, several times the decoding of a small PNG.  It fails the whole batch when the
    decoder refuses one image."""
    import tensorflow as tf

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string)])
    def decode(batch):
        return tf.map_fn(_flat_decode, batch,
                         fn_output_signature=(tf.RaggedTensorSpec([None], tf.uint8), tf.TensorSpec([3], tf.int32)))

    return decode


def _tf_decode_batch(datas: Sequence[bytes]) -> List[Optional[np.ndarray]]:
    """``_tf_decode`` of each image (None where the production decoder refuses it), in one graph call.

    A batch the decoder refuses part of goes through tf.data, image by image, skipping what it refuses.
    """
    import tensorflow as tf

    if not datas:
        return []
    batch = tf.constant(list(datas))
    try:
        flat, shapes = _batch_decoder()(batch)
    except tf.errors.InvalidArgumentError:
        images: List[Optional[np.ndarray]] = [None] * len(datas)
        dataset = (tf.data.Dataset.from_tensor_slices((tf.range(len(datas)), batch))
                   .map(lambda index, data: (index, *_flat_decode(data)))
                   .ignore_errors())
        for index, pixels, shape in dataset:
            images[int(index)] = pixels.numpy().reshape(shape.numpy())
        return images
    pixels, splits = flat.flat_values.numpy(), flat.row_splits.numpy()
    return [pixels[splits[i]:splits[i + 1]].reshape(shape) for i, shape in enumerate(shapes.numpy())]


#: The production decoder runs beside Pillow: TensorFlow releases the GIL while it decodes.
_DECODER_THREAD = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="tf-decode")


def _hex(bits: np.ndarray) -> str:
    """64 booleans, row-major, as 16 hex digits: what ``str(imagehash.ImageHash)`` gives, without its
    per-bit string building (~10% of the validator's per-image time on 32-px PNGs, profiled)."""
    return np.packbits(bits.reshape(-1)).tobytes().hex()


def _hash_inputs(gray) -> Tuple[np.ndarray, np.ndarray]:
    """The grey image resized as imagehash resizes it: 32x32 for pHash, 9x8 for dHash (Lanczos)."""
    from PIL import Image

    return (np.asarray(gray.resize((32, 32), Image.Resampling.LANCZOS)),
            np.asarray(gray.resize((9, 8), Image.Resampling.LANCZOS)))


def _hashes_of(pixels32: np.ndarray, pixels9x8: np.ndarray) -> List[Tuple[str, str]]:
    """(pHash, dHash) strings of a stack of images' hash inputs (N x 32 x 32 and N x 8 x 9), vectorised."""
    import scipy.fftpack

    if not len(pixels32):
        return []
    low = scipy.fftpack.dct(scipy.fftpack.dct(pixels32, axis=1), axis=2)[:, :8, :8].reshape(len(pixels32), 64)
    phash = low > np.median(low, axis=1, keepdims=True)
    dhash = (pixels9x8[:, :, 1:] > pixels9x8[:, :, :-1]).reshape(len(pixels9x8), 64)
    return [(_hex(p), _hex(d)) for p, d in zip(phash, dhash)]


def perceptual_hashes(image):
    """(pHash, dHash) of a Pillow image: both survive resizing, re-encoding and small edits.

    The same arithmetic as ``imagehash.phash`` and ``imagehash.dhash`` (the grey image resized with Lanczos
    to 32x32, the 8x8 lowest DCT-II frequencies against their median; resized to 9x8, each pixel against its
    left neighbour) and the same strings (a test compares them), with the grey conversion done once.
    """
    gray = image if image.mode == "L" else image.convert("L")
    pixels32, pixels9x8 = _hash_inputs(gray)
    return _hashes_of(pixels32[None], pixels9x8[None])[0]


def near_duplicate_pairs(hashes, max_distance: int, confirm=None):
    """``(i, j, distance)`` for every pair of 64-bit hashes at most ``max_distance`` bits apart, i < j.

    ``confirm``: a second hash per item that must be within ``max_distance`` too
    (``distance`` is then the larger of the two).  Pigeonhole banding instead of
    comparing every pair: two hashes within ``max_distance`` bits agree exactly
    on at least one of ``max_distance + 1`` bands, so only hashes sharing a band
    value are compared.  With ``confirm``, a pair must share a band of each hash,
    so candidates are grouped by a band of both at once: with 13-bit bands of one
    hash alone, unrelated images collided often enough that the candidates grew
    with the square of the data (32,000 random hashes: 4.9 s; now well under 1 s).
    """
    sources = [np.array([int(h, 16) for h in hashes], dtype=np.uint64)]
    if confirm is not None:
        sources.append(np.array([int(h, 16) for h in confirm], dtype=np.uint64))
    bands = max_distance + 1
    width = -(-64 // bands)
    mask = np.uint64((1 << width) - 1)
    candidates = set()
    for combination in itertools.product(range(bands), repeat=len(sources)):
        key = np.zeros(len(sources[0]), dtype=np.uint64)
        for values, band in zip(sources, combination):
            key = (key << np.uint64(width)) | ((values >> np.uint64(band * width)) & mask)
        order = np.argsort(key, kind="stable")
        ordered = key[order]
        starts = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]])
        for start, stop in zip(starts, np.r_[starts[1:], len(ordered)]):
            if stop - start > 1:
                members = sorted(order[start:stop].tolist())
                candidates.update((a, b) for k, a in enumerate(members) for b in members[k + 1:])
    first = [int(v) for v in sources[0]]
    second = [int(v) for v in sources[1]] if confirm is not None else None
    pairs = []
    for a, b in sorted(candidates):
        distance = bin(first[a] ^ first[b]).count("1")
        if second is not None:
            distance = max(distance, bin(second[a] ^ second[b]).count("1"))
        if distance <= max_distance:
            pairs.append((a, b, distance))
    return pairs


@dataclasses.dataclass
class _Decoded:
    """What Pillow's pass leaves for the batched steps: the RGB reference pixels and the hash inputs."""

    reference: Optional[np.ndarray]
    pixels32: np.ndarray
    pixels9x8: np.ndarray


def _pillow_verdict(info: ImageInfo, err: Exception) -> None:
    """The reason for Pillow's refusal."""
    from PIL import Image, UnidentifiedImageError

    if isinstance(err, UnidentifiedImageError):
        info.reason = UNDECODABLE
    elif isinstance(err, Image.DecompressionBombError):
        info.reason, info.detail = TOO_LARGE, str(err)
    else:
        info.reason, info.detail = TRUNCATED, str(err)


#: What Pillow raises on bad data (UnidentifiedImageError is an OSError; DecompressionBombError is not).
_PILLOW_ERRORS = (OSError, SyntaxError, ValueError)


def _open_with_pillow(data: bytes, max_pixels: int):
    """The header checks (no pixel decoded yet): the info, and the open image if the header passed."""
    from PIL import Image

    info = ImageInfo(num_bytes=len(data), sha256=hashlib.sha256(data).hexdigest())
    if not data:
        info.reason = EMPTY
        return info, None
    try:
        image = Image.open(io.BytesIO(data))
    except (*_PILLOW_ERRORS, Image.DecompressionBombError) as err:
        _pillow_verdict(info, err)
        return info, None
    info.format, info.mode = image.format or "", image.mode
    info.width, info.height = image.size
    if info.width * info.height > max_pixels:
        info.reason = TOO_LARGE
        info.detail = f"{info.width}x{info.height} > {max_pixels:,} pixels; refused before decoding"
    elif getattr(image, "n_frames", 1) > 1:
        info.reason, info.detail = ANIMATED, f"{image.n_frames} frames; only the first would be used"
    if info.reason:
        image.close()
        return info, None
    return info, image


def _decode_with_pillow(info: ImageInfo, image) -> Optional[_Decoded]:
    """Pillow's full decode of an opened image (it notices truncated data): the pixels the batched steps
    need, or None with ``info.reason`` set.  Closes the image."""
    from PIL import Image

    try:
        with image:
            image.load()
            info.channels = len(image.getbands())
            gray = image if image.mode == "L" else image.convert("L")
            # The mean grey level from the histogram: exact, and without copying the pixels out.
            info.brightness = float(np.dot(_LEVELS, gray.histogram())) / (255.0 * max(info.width * info.height, 1))
            reference = (np.asarray(image if image.mode == "RGB" else image.convert("RGB"))
                         if info.mode in _COMPARABLE_MODES else None)
            return _Decoded(reference, *_hash_inputs(gray))
    except (*_PILLOW_ERRORS, Image.DecompressionBombError) as err:
        _pillow_verdict(info, err)
        return None


def _judge(info: ImageInfo, reference: Optional[np.ndarray], decoded: Optional[np.ndarray], min_size: int,
           max_aspect_ratio: float) -> None:
    """Sets ``info.reason`` from the production decoder's verdict, the decoders' agreement and the size."""
    if decoded is None:
        info.reason, info.detail = UNSUPPORTED, f"{info.format} {info.mode}"
        return
    if reference is not None and reference.shape == decoded.shape:
        difference = float(np.abs(reference.astype(np.int16) - decoded.astype(np.int16)).mean())
        if difference > _MAX_DECODER_DIFFERENCE:
            info.reason = DECODERS_DIFFER
            info.detail = f"{info.format} {info.mode}: mean difference {difference:.1f} of 255 between Pillow and TensorFlow"
            return
    short, long = sorted((info.width, info.height))
    if short < min_size:
        info.reason, info.detail = TOO_SMALL, f"{info.width}x{info.height} < {min_size} px"
    elif long / max(short, 1) > max_aspect_ratio:
        info.reason, info.detail = ASPECT, f"{info.width}x{info.height} (ratio {long / short:.1f} > {max_aspect_ratio:g})"


def _chunks(opened, budget: int) -> List[List[int]]:
    """Indices of the opened images in runs of at most ``budget`` pixels (an image larger alone: a run of one)."""
    chunks: List[List[int]] = [[]]
    used = 0
    for index, (info, image) in enumerate(opened):
        if image is None:
            continue
        if chunks[-1] and used + info.width * info.height > budget:
            chunks.append([])
            used = 0
        chunks[-1].append(index)
        used += info.width * info.height
    return [chunk for chunk in chunks if chunk]


def _inspect_decoded(datas: Sequence[bytes], opened, indices: List[int], min_size: int,
                     max_aspect_ratio: float) -> None:
    """Decodes the images at ``indices`` with both decoders at once and judges them (sets their infos)."""
    # The production decoder gets the images whose format it reads (the others would only send the
    # batch down its careful path), and decodes them in its own thread while Pillow decodes here.
    candidates = [i for i in indices if datas[i][:4].startswith(_TF_MAGIC)]
    decoding = _DECODER_THREAD.submit(_tf_decode_batch, [datas[i] for i in candidates])
    pillow = {i: _decode_with_pillow(*opened[i]) for i in indices}
    by_index = dict(zip(candidates, decoding.result()))
    ok = [i for i in indices if pillow[i] is not None]
    if not ok:
        return
    hashes = _hashes_of(np.stack([pillow[i].pixels32 for i in ok]), np.stack([pillow[i].pixels9x8 for i in ok]))
    for index, (phash, dhash) in zip(ok, hashes):
        info = opened[index][0]
        info.phash, info.dhash = phash, dhash
        tf_pixels = by_index[index] if index in by_index else _tf_decode(datas[index])
        _judge(info, pillow[index].reference, tf_pixels, min_size, max_aspect_ratio)


def inspect_images(datas: Sequence[bytes], min_size: int, max_aspect_ratio: float,
                   max_pixels: int = DEFAULT_MAX_PIXELS) -> List[ImageInfo]:
    """Decodes encoded images and returns their properties, each with ``reason`` set if it is bad.

    Per image, Pillow reads the header first (the size is checked before any pixel is decoded, so a
    decompression bomb, a small file claiming 30000x30000 pixels, costs nothing).  The images that pass
    are decoded in runs of at most ``_BATCH_PIXELS`` pixels, so a batch of photos holds a few of them
    decoded at a time, and a batch of thumbnails goes in one run: there the production decoder and the
    hashes run vectorised, as per image they cost more in dispatch than in work.
    EXIF orientation is not applied, here as in Transform and serving: pixels are used as stored.
    """
    opened = [_open_with_pillow(data, max_pixels) for data in datas]
    for indices in _chunks(opened, _BATCH_PIXELS):
        _inspect_decoded(datas, opened, indices, min_size, max_aspect_ratio)
    return [info for info, _ in opened]


def inspect_image(data: bytes, min_size: int, max_aspect_ratio: float,
                  max_pixels: int = DEFAULT_MAX_PIXELS) -> ImageInfo:
    """:func:`inspect_images` of one image."""
    return inspect_images([data], min_size, max_aspect_ratio, max_pixels)[0]


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
