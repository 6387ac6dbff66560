"""On-the-fly training augmentation, applied to whole batches in the input pipeline of the train split only.

Every geometric change — a horizontal flip, pad-and-crop or, under
``--resize crop``, a random resized crop — is one box per example handed to a
single batched ``crop_and_resize``: a box reaching past the image pads it
(0 for the image, ``IGNORE_LABEL`` for a mask), a box with its x ends
swapped flips it, and a smaller box zooms in.  Masks get the very same boxes
with nearest-neighbour sampling, so they stay aligned with their images and
class ids are never blended.  Photometric changes (brightness, contrast)
touch the image only.  One vectorised op per batch instead of a chain of
per-example ops keeps the input pipeline's CPU share small beside the model's
(see the ``throughput`` benchmark).  Nothing here is part of the exported
model, so serving and evaluation never see augmented pixels.

Every random draw is *stateless*, keyed by an explicit seed (the run's
``--seed`` and the batch's position in the stream), so a run is
reproducible however many threads tf.data uses.
"""

from __future__ import annotations

import math
from typing import Optional, Tuple

import tensorflow as tf

from common import names
from trainer.config import AugmentationConfig


def _shift_boxes(count, height: int, width: int, config: AugmentationConfig, seed) -> tf.Tensor:
    """Same-size boxes shifted by whole pixels within ``crop_pad_fraction`` (pad-and-crop)."""
    pad = int(round(config.crop_pad_fraction * max(height, width)))
    offsets = tf.random.stateless_uniform([count, 2], seed, -pad, pad + 1, dtype=tf.int32)
    # A box [y1, y2] of the same size samples rows y1*(H-1) + i exactly: integer shifts, no blending.
    dy = tf.cast(offsets[:, 0], tf.float32) / max(height - 1, 1)
    dx = tf.cast(offsets[:, 1], tf.float32) / max(width - 1, 1)
    return tf.stack([dy, dx, 1.0 + dy, 1.0 + dx], axis=1)


def _zoom_boxes(count, config: AugmentationConfig, seed) -> tf.Tensor:
    """Inception-style boxes: ``min_crop_area``-1 of the image, aspect ratio 3/4-4/3, anywhere inside."""
    seeds = tf.random.experimental.stateless_split(seed, num=4)
    area = tf.random.stateless_uniform([count], seeds[0], config.min_crop_area, 1.0)
    log_aspect = tf.random.stateless_uniform([count], seeds[1], math.log(3 / 4), math.log(4 / 3))
    aspect = tf.exp(log_aspect)
    box_h = tf.minimum(tf.sqrt(area / aspect), 1.0)
    box_w = tf.minimum(tf.sqrt(area * aspect), 1.0)
    y1 = tf.random.stateless_uniform([count], seeds[2]) * (1.0 - box_h)
    x1 = tf.random.stateless_uniform([count], seeds[3]) * (1.0 - box_w)
    return tf.stack([y1, x1, y1 + box_h, x1 + box_w], axis=1)


def _flip(boxes: tf.Tensor, seed) -> tf.Tensor:
    """Swaps the x ends of about half the boxes: ``crop_and_resize`` then samples right to left."""
    flip = tf.random.stateless_uniform([tf.shape(boxes)[0]], seed) < 0.5
    flipped = tf.stack([boxes[:, 0], boxes[:, 3], boxes[:, 2], boxes[:, 1]], axis=1)
    return tf.where(flip[:, None], flipped, boxes)


def _photometric(images: tf.Tensor, config: AugmentationConfig, seeds) -> tf.Tensor:
    """Brightness ``+255·d`` then contrast ``(x - mean)·f + mean``, as one affine map per image.

    Contrast after brightness is ``x·f + mean·(1 - f) + 255·d`` (the shift moves
    the mean with it), so one multiply-add and one clip cover both.
    """
    if config.brightness <= 0 and config.contrast <= 0:
        return images
    count = images.shape[0] if images.shape[0] is not None else tf.shape(images)[0]
    shift = tf.zeros([count, 1, 1, 1])
    factor = tf.ones([count, 1, 1, 1])
    if config.brightness > 0:
        shift = 255.0 * tf.random.stateless_uniform([count, 1, 1, 1], seeds[0], -config.brightness,
                                                    config.brightness)
    if config.contrast > 0:
        factor = tf.random.stateless_uniform([count, 1, 1, 1], seeds[1], 1.0 - config.contrast,
                                             1.0 + config.contrast)
        shift += tf.reduce_mean(images, axis=[1, 2], keepdims=True) * (1.0 - factor)
    return tf.clip_by_value(images * factor + shift, 0.0, 255.0)


def augment(
    images: tf.Tensor, config: AugmentationConfig, masks: Optional[tf.Tensor] = None, seed=(0, 0),
    random_resized_crop: bool = False,
) -> Tuple[tf.Tensor, Optional[tf.Tensor]]:
    """Augments a float32 ``[B, H, W, 3]`` batch in [0, 255] (and its ``[B, H, W, 1]`` masks).

    ``seed`` is a pair of integers (a ``[2]`` tensor); the same seed gives the
    same augmentation.  ``random_resized_crop`` (images without masks only)
    replaces pad-and-crop.  Returns ``(images, masks)``; ``masks`` stays None when none was given.
    """
    images, masks, _ = _augment(images, config, masks, seed, random_resized_crop)
    return images, masks


def augment_geometry(images: tf.Tensor, config: AugmentationConfig, seed=(0, 0)
                     ) -> Tuple[tf.Tensor, Optional[tf.Tensor]]:
    """As :func:`augment` for images whose annotations are boxes: returns ``(images, crops)``, the ``[B, 4]``
    crop boxes (y1, x1, y2, x2; x ends swapped = flipped) that moved each image, so that its annotations
    can follow exactly (``trainer/tasks/detection.py``); ``crops`` is None when augmentation is off."""
    images, _, crops = _augment(images, config, None, seed, False)
    return images, crops


def _augment(images, config: AugmentationConfig, masks, seed, random_resized_crop):
    if not config.enabled:
        return images, masks, None
    if random_resized_crop and masks is not None:
        raise ValueError("random resized crops are for images without masks")
    seeds = tf.random.experimental.stateless_split(tf.cast(tf.convert_to_tensor(seed), tf.int64), num=4)
    batch, height, width, _ = images.shape
    # A static batch size where known (training batches are full): with a dynamic one TensorFlow's graph
    # optimiser logs a spurious "Error in PredictCost() for the op: CropAndResize" on the console.
    count = batch if batch is not None else tf.shape(images)[0]
    if random_resized_crop:
        boxes = _zoom_boxes(count, config, seeds[0])
    else:
        boxes = _shift_boxes(count, height, width, config, seeds[0])
    if config.flip_left_right is None:
        raise ValueError("horizontal flips are undecided ('auto'): trainer/flip_check.py decides them before "
                         "the augmentation runs")
    if config.flip_left_right:
        boxes = _flip(boxes, seeds[1])
    indices = tf.range(count)
    images = tf.image.crop_and_resize(images, boxes, indices, [height, width], extrapolation_value=0.0)
    if masks is not None:
        sampled = tf.image.crop_and_resize(tf.cast(masks, tf.float32), boxes, indices, [height, width],
                                           method="nearest", extrapolation_value=float(names.IGNORE_LABEL))
        masks = tf.cast(tf.round(sampled), masks.dtype)
    return _photometric(images, config, seeds[2:]), masks, boxes
