"""Image decoding, resizing and the compact pixel encoding of transformed examples.

These functions run inside the Transform graph, so the very same ops run when
Transform materialises the training data and when the exported model serves
raw bytes: there is no second, hand-written serving decoder to drift.

Why uint8 pixels and not floats: Transform materialises its output, and a
float32 copy at backbone resolution is 4 bytes per channel-pixel (TFX's
CIFAR-10 example turns 284 KB of PNGs into 51 MB).  The transformed image is
kept as ``H*W*3`` raw uint8 bytes; the backbone-specific normalisation is the
first layer of the model (see :mod:`trainer.backbones`), applied identically
in training, evaluation and serving.
"""

from __future__ import annotations

import tensorflow as tf

from trainer.config import RESIZE_POLICIES


def decode_image(encoded: tf.Tensor, channels: int = 3) -> tf.Tensor:
    """Decodes one JPEG/PNG/GIF/BMP to uint8 ``[h, w, channels]``.

    Grayscale is replicated to RGB and an alpha channel is dropped
    (``channels=3``); an animated GIF yields its first frame.
    """
    image = tf.io.decode_image(encoded, channels=channels, expand_animations=False)
    image.set_shape([None, None, channels])
    return image


def center_square(image: tf.Tensor) -> tf.Tensor:
    """The largest centred ``[m, m, c]`` square of ``[h, w, c]``, ``m = min(h, w)``.

    Cropping before resizing is the same as resizing the shorter side to the
    target then centre-cropping, but resizes fewer pixels.
    """
    shape = tf.shape(image)
    height, width = shape[0], shape[1]
    side = tf.minimum(height, width)
    return tf.image.crop_to_bounding_box(image, (height - side) // 2, (width - side) // 2, side, side)


def image_sizes(encoded_batch: tf.Tensor) -> tf.Tensor:
    """``[N, 2]`` (height, width) of a batch of encoded images (each decoded once)."""
    return tf.map_fn(lambda encoded: tf.shape(decode_image(encoded))[:2], encoded_batch,
                     fn_output_signature=tf.TensorSpec([2], tf.int32))


def letterbox_layout(height, width, size: int):
    """(new height, new width, top pad, left pad) of an ``h×w`` image fitted into ``size×size``, aspect kept."""
    height, width = tf.cast(height, tf.float32), tf.cast(width, tf.float32)
    scale = size / tf.maximum(height, width)
    new_h = tf.clip_by_value(tf.cast(tf.round(height * scale), tf.int32), 1, size)
    new_w = tf.clip_by_value(tf.cast(tf.round(width * scale), tf.int32), 1, size)
    return new_h, new_w, (size - new_h) // 2, (size - new_w) // 2


def box_frame(height, width, size: int, policy: str) -> tf.Tensor:
    """``[sx, sy, ox, oy]``: a point at normalised image coordinates ``(x, y)`` is at
    ``(x·sx + ox, y·sy + oy)`` of the model input (normalised) under ``policy``."""
    if policy == "letterbox":
        new_h, new_w, top, left = letterbox_layout(height, width, size)
        return tf.cast(tf.stack([new_w, new_h, left, top]), tf.float32) / size
    if policy == "crop":
        height, width = tf.cast(height, tf.float32), tf.cast(width, tf.float32)
        side = tf.minimum(height, width)
        return tf.stack([width / side, height / side, -(width - side) / 2 / side, -(height - side) / 2 / side])
    return tf.constant([1.0, 1.0, 0.0, 0.0])


def resize(image: tf.Tensor, size: int, method: str = "bilinear", policy: str = "squash") -> tf.Tensor:
    """Resizes ``[h, w, c]`` to ``[size, size, c]`` under ``policy``, keeping the input dtype.

    ``bilinear`` (antialiased) for images; ``nearest`` for label masks, whose
    class ids must never be interpolated.  ``letterbox`` fits the whole image
    with its aspect ratio kept and pads the rest with black (0).
    """
    if policy not in RESIZE_POLICIES:
        raise ValueError(f"resize policy must be one of {RESIZE_POLICIES}, got {policy!r}")
    # An image already at size×size comes out unchanged under every policy and method (scale 1 samples
    # each pixel at its centre; tested): skipping the work is a third of Transform's per-image graph time
    # on 32-px data, and the same saving in the serving graph.
    shape = tf.shape(image)
    done = tf.logical_and(tf.equal(shape[0], size), tf.equal(shape[1], size))
    resized = tf.cond(done, lambda: image, lambda: _resize(image, size, method, policy))
    return tf.ensure_shape(resized, [size, size, image.shape[-1]])


def _resize(image: tf.Tensor, size: int, method: str, policy: str) -> tf.Tensor:
    """:func:`resize` for an image of another size."""
    if policy == "crop":
        image = center_square(image)
    target = [size, size]
    if policy == "letterbox":
        shape = tf.shape(image)
        new_h, new_w, top, left = letterbox_layout(shape[0], shape[1], size)
        target = [new_h, new_w]
    dtype = image.dtype
    if method == "nearest":
        resized = tf.cast(tf.image.resize(image, target, method="nearest"), dtype)
    else:
        resized = tf.image.resize(tf.cast(image, tf.float32), target, method="bilinear", antialias=True)
        resized = tf.cast(tf.clip_by_value(tf.round(resized), 0.0, 255.0), dtype)
    if policy == "letterbox":
        resized = tf.image.pad_to_bounding_box(resized, top, left, size, size)
        resized = tf.ensure_shape(resized, [size, size, image.shape[-1]])
    return resized


def decode_and_resize(encoded_batch: tf.Tensor, size: int, channels: int = 3, method: str = "bilinear",
                      policy: str = "squash") -> tf.Tensor:
    """Batch version: ``[N]`` encoded strings -> uint8 ``[N, size, size, channels]``."""
    return tf.map_fn(
        lambda encoded: resize(decode_image(encoded, channels), size, method, policy),
        encoded_batch,
        fn_output_signature=tf.TensorSpec([size, size, channels], tf.uint8),
    )


def pixels_to_bytes(images: tf.Tensor) -> tf.Tensor:
    """uint8 ``[N, H, W, C]`` -> ``[N]`` strings (one serialized tensor per image)."""
    return tf.map_fn(tf.io.serialize_tensor, images, fn_output_signature=tf.string)


def _serialized_length(size: int, channels: int) -> int:
    """Bytes of one ``serialize_tensor`` uint8 ``[size, size, channels]``: a fixed header, then the pixels.

    Built as the same TensorProto in Python, so it works while a graph is traced (tests compare it with
    ``serialize_tensor``'s output)."""
    from tensorflow.core.framework import tensor_pb2, tensor_shape_pb2, types_pb2

    shape = tensor_shape_pb2.TensorShapeProto(dim=[tensor_shape_pb2.TensorShapeProto.Dim(size=d)
                                                   for d in (size, size, channels)])
    proto = tensor_pb2.TensorProto(dtype=types_pb2.DT_UINT8, tensor_shape=shape,
                                   tensor_content=bytes(size * size * channels))
    return proto.ByteSize()


def bytes_to_pixels(serialized: tf.Tensor, size: int, channels: int = 3) -> tf.Tensor:
    """Inverse of :func:`pixels_to_bytes`: ``[N]`` strings -> uint8 ``[N, size, size, channels]``.

    One batched op instead of a ``parse_tensor`` per image: a serialized uint8
    TensorProto of a fixed shape is a fixed header followed by the raw pixels
    (``tensor_content``, the last field), so every string has the same length
    and the pixels are its last ``size·size·channels`` bytes.  A string of any
    other length (an image stored at another size) is an error, as before.
    """
    serialized = tf.reshape(serialized, [-1])
    pixels = size * size * channels
    expected = _serialized_length(size, channels)
    lengths = tf.strings.length(serialized)
    check = tf.debugging.assert_equal(
        lengths, tf.fill(tf.shape(lengths), expected),
        message=f"transformed image is not a serialized uint8 [{size}, {size}, {channels}] tensor (was it "
                f"transformed at another --image-size?)")
    with tf.control_dependencies([check]):
        flat = tf.io.decode_raw(serialized, tf.uint8)
    flat = tf.reshape(flat, [-1, expected])[:, expected - pixels:]
    return tf.reshape(flat, [-1, size, size, channels])


def dense_1d(tensor) -> tf.Tensor:
    """Makes a one-value-per-example feature dense ``[N]`` whatever the schema shape.

    A schema with an inferred shape gives ``[N]`` (or ``[N, 1]``); without one
    TFT hands over a SparseTensor.  Preprocessing accepts all three so that a
    user's own schema cannot break decoding.
    """
    if isinstance(tensor, tf.SparseTensor):
        default = b"" if tensor.dtype == tf.string else tf.zeros([], tensor.dtype)
        dense = tf.sparse.to_dense(tensor, default_value=default)
        # Pad one column so an example with no value gives the default, not a lost row.
        return tf.pad(dense, [[0, 0], [0, 1]], constant_values=default)[:, 0]
    if tensor.shape.rank == 2:
        return tensor[:, 0]
    return tf.reshape(tensor, [-1])
