"""The bad-input matrix of real users' files: each case is kept for a reason or quarantined with one.

Plain Python on the per-image checks (no Beam): fast, and each case names its outcome.
"""

import io
import struct
import zlib

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from components.image_validator import checks
from trainer import image_ops

RNG = np.random.default_rng(0)
PIXELS = RNG.integers(0, 255, (40, 60, 3), dtype=np.uint8)


def _save(image, fmt, **options):
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **options)
    return buffer.getvalue()


def _png_header_only(width, height):
    """A PNG whose header claims width x height pixels (a decompression bomb's shape) with tiny data."""
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0" * 1000)) + \
        chunk(b"IEND", b"")


def _exif_rotated_jpeg():
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 degrees clockwise to display"
    return _save(Image.fromarray(PIXELS), "JPEG", exif=exif.tobytes(), quality=95)


def _animated_gif():
    frames = [Image.fromarray(PIXELS), Image.fromarray(255 - PIXELS)]
    return _save(frames[0], "GIF", save_all=True, append_images=frames[1:])


def _palette_with_transparency():
    return _save(Image.fromarray(PIXELS).convert("P"), "PNG", transparency=0)


def _sixteen_bit_png():
    return _save(Image.fromarray(np.full((20, 20), 40000, np.uint16)), "PNG")


KEPT = {
    "CMYK JPEG": lambda: _save(Image.fromarray(PIXELS).convert("CMYK"), "JPEG", quality=95),
    "progressive JPEG": lambda: _save(Image.fromarray(PIXELS), "JPEG", progressive=True, quality=95),
    "EXIF-rotated JPEG": _exif_rotated_jpeg,
    "16-bit PNG": _sixteen_bit_png,
    "palette PNG with transparency": _palette_with_transparency,
}
QUARANTINED = {
    "animated GIF": (_animated_gif, checks.ANIMATED),
    "WebP named .jpg": (lambda: _save(Image.fromarray(PIXELS), "WEBP"), checks.UNSUPPORTED),
    "HEIC named .jpg": (lambda: b"\0\0\0\x18ftypheic\0\0\0\0mif1heic" + b"\0" * 64, checks.UNDECODABLE),
    "SVG named .jpg": (lambda: b'<svg xmlns="http://www.w3.org/2000/svg" width="9" height="9"/>', checks.UNDECODABLE),
    "30000x30000 PNG header": (lambda: _png_header_only(30000, 30000), checks.TOO_LARGE),
    "12000x12000 PNG header (under Pillow's own limit)": (lambda: _png_header_only(12000, 12000), checks.TOO_LARGE),
    "text file named .png": (lambda: b"just some notes, not an image", checks.UNDECODABLE),
    "zero bytes": (lambda: b"", checks.EMPTY),
}


@pytest.mark.parametrize("case", sorted(KEPT))
def test_valid_but_unusual_files_are_kept(case):
    info = checks.inspect_image(KEPT[case](), min_size=8, max_aspect_ratio=4.0)
    assert info.reason is None, (case, info.reason, info.detail)
    assert info.width > 0 and info.height > 0


@pytest.mark.parametrize("case", sorted(QUARANTINED))
def test_unusable_files_are_quarantined_with_a_reason(case):
    make, reason = QUARANTINED[case]
    info = checks.inspect_image(make(), min_size=8, max_aspect_ratio=4.0)
    assert info.reason == reason, (case, info.reason, info.detail)


def test_exif_orientation_is_not_applied_in_training_or_serving():
    """Pixels are used as stored: the validator, Transform's decoder and a plain Pillow read agree."""
    data = _exif_rotated_jpeg()
    info = checks.inspect_image(data, 8, 4.0)
    decoded = image_ops.decode_image(tf.constant(data)).numpy()
    assert (info.width, info.height) == (60, 40) and decoded.shape == (40, 60, 3)
    stored = np.asarray(Image.open(io.BytesIO(data)).convert("RGB"), np.float32)
    assert np.abs(stored - decoded).mean() < 2


def test_cmyk_decodes_to_the_same_colours_in_both_decoders():
    data = KEPT["CMYK JPEG"]()
    decoded = image_ops.decode_image(tf.constant(data)).numpy().astype(np.float32)
    assert np.abs(decoded - PIXELS).mean() < 8


def test_a_decoder_disagreement_is_quarantined(monkeypatch):
    """Were TensorFlow to decode other pixels than Pillow (an inverted CMYK, say), training would be wrong."""
    monkeypatch.setattr(checks, "_tf_decode_batch", lambda datas: [np.zeros((40, 60, 3), np.uint8)])
    info = checks.inspect_image(_save(Image.fromarray(PIXELS), "PNG"), 8, 4.0)
    assert info.reason == checks.DECODERS_DIFFER and "mean difference" in info.detail


def test_near_duplicate_search_finds_exactly_the_pairs_brute_force_finds():
    rng = np.random.default_rng(0)
    base = [int(v) for v in rng.integers(0, 2 ** 63, 40)]
    # Variants a few bits away from some of the hashes.
    hashes = base + [b ^ (1 << int(k)) ^ (1 << int(k + 9)) for b, k in zip(base[:10], rng.integers(0, 50, 10))]
    texts = [f"{h:016x}" for h in hashes]
    found = checks.near_duplicate_pairs(texts, 4)
    brute = [(a, b, bin(hashes[a] ^ hashes[b]).count("1")) for a in range(len(hashes))
             for b in range(a + 1, len(hashes)) if bin(hashes[a] ^ hashes[b]).count("1") <= 4]
    assert found == brute and len(found) >= 10
    # With a confirming hash, a pair must be close in both; the distance is the larger.
    second = [h ^ (1 << int(k)) if i % 3 else h ^ (0b11111 << int(k)) for i, (h, k) in
              enumerate(zip(hashes, rng.integers(0, 50, len(hashes))))]
    both = checks.near_duplicate_pairs(texts, 4, confirm=[f"{h:016x}" for h in second])
    brute_both = [(a, b, max(d, bin(second[a] ^ second[b]).count("1"))) for a, b, d in brute
                  if bin(second[a] ^ second[b]).count("1") <= 4]
    assert both == brute_both and 0 < len(both) < len(found)


@pytest.mark.parametrize("coordinates, class_ids, expected", [
    ([[0.1, 0.5], [0.2, 0.5], [0.4, 1.0], [0.6, 0.9]], [0, 1], None),
    ([[], [], [], []], [], None),  # an image without objects
    ([[0.1], [0.2], [0.4], []], [0], "box lists of different lengths"),
    ([[0.4], [0.2], [0.1], [0.6]], [0], "box 1: (0.400, 0.200, 0.100, 0.600) is not inside"),
    ([[0.1], [0.2], [1.2], [0.6]], [0], "is not inside the image"),
    ([[0.1], [0.2], [0.4], [0.6]], [3], "box 1: class id 3 outside 0-2"),
])
def test_box_annotations_are_checked_and_counted_per_class(coordinates, class_ids, expected):
    info = checks.ImageInfo()
    reason = checks.check_boxes(coordinates, class_ids, 3, info)
    if expected is None:
        assert reason is None and info.class_boxes == {str(c): class_ids.count(c) for c in set(class_ids)}
    else:
        assert reason == checks.BOXES_BAD and expected in info.detail


def test_perceptual_hashes_equal_imagehash_on_varied_images():
    """The validator's own hashing must give imagehash's strings: near-duplicate findings stay comparable."""
    import imagehash
    from PIL import Image

    rng = np.random.default_rng(0)
    images = [Image.fromarray((rng.random((size, size + 7, 3)) * 255).astype(np.uint8)) for size in (8, 32, 97)]
    images += [Image.new("RGB", (40, 40), (90, 90, 90)),  # flat: every AC coefficient 0
               Image.fromarray(np.tile(np.arange(64, dtype=np.uint8) * 4, (48, 1))),  # gradient, mode L
               Image.fromarray((rng.random((20, 30, 3)) * 255).astype(np.uint8)).convert("P"),
               Image.fromarray((rng.random((20, 30, 4)) * 255).astype(np.uint8), "RGBA")]
    for image in images:
        gray = image.convert("L")
        assert checks.perceptual_hashes(gray) == (str(imagehash.phash(gray)), str(imagehash.dhash(gray))), image


@pytest.mark.parametrize("budget", [1 << 24, 3000])
def test_a_batch_gives_what_each_image_alone_gives(monkeypatch, budget):
    """Batched decoding and hashing must not change a verdict, whether the batch is decoded in one run or in
    runs bounded by pixels (3,000: one or two of these images at a time)."""
    monkeypatch.setattr(checks, "_BATCH_PIXELS", budget)
    cases = [KEPT[name]() for name in sorted(KEPT)] + [make() for make, _ in QUARANTINED.values()]
    cases += [_save(Image.fromarray(PIXELS), "PNG"), _save(Image.fromarray(PIXELS[:9, :30]), "JPEG")]
    alone = [checks.inspect_image(data, 8, 4.0) for data in cases]
    together = checks.inspect_images(cases, 8, 4.0)
    assert together == alone
    assert checks.inspect_images([c for c, a in zip(cases, alone) if a.reason is None], 8, 4.0) == \
        [a for a in alone if a.reason is None]


def test_runs_are_bounded_by_pixels_and_a_large_image_goes_alone():
    opened = [(checks.ImageInfo(width=w, height=h), object() if w else None)
              for w, h in [(10, 10), (10, 10), (0, 0), (30, 30), (5, 5), (100, 100), (1, 1)]]
    assert checks._chunks(opened, 250) == [[0, 1], [3], [4], [5], [6]]
    assert checks._chunks(opened, 10 ** 6) == [[0, 1, 3, 4, 5, 6]]


def test_the_batch_decoder_leaves_out_only_what_the_decoder_refuses():
    """One refused file sends its batch down the careful path: the others still come back, as decoded alone."""
    good_png, good_jpeg = _save(Image.fromarray(PIXELS), "PNG"), _save(Image.fromarray(PIXELS[:20]), "JPEG")
    refused = [good_png[:60], b"\x89PNG but not really", b"GIF8 neither"]
    assert all(checks._tf_decode(data) is None for data in refused)
    batch = [good_png, refused[0], good_jpeg, *refused[1:], good_png]
    decoded = checks._tf_decode_batch(batch)
    assert [d is None for d in decoded] == [False, True, False, True, True, False]
    for data, pixels in zip(batch, decoded):
        if pixels is not None:
            np.testing.assert_array_equal(pixels, checks._tf_decode(data))
    assert [d.shape for d in checks._tf_decode_batch([good_png, good_jpeg])] == [(40, 60, 3), (20, 60, 3)]
    assert checks._tf_decode_batch(refused) == [None, None, None]
