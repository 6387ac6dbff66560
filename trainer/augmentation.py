"""On-the-fly training augmentation, applied in the input pipeline of the train split only.

Geometric changes (flip, pad-and-crop) are applied to the image and, when
given, to its label mask with the very same random draw, by stacking them
along the channel axis; photometric changes (brightness, contrast) touch the
image only.  Nothing here is part of the exported model, so serving and
evaluation never see augmented pixels.

Every random draw is *stateless*, keyed by an explicit seed (the run's
``--seed`` and the example's position in the stream), so a run is
reproducible however many threads tf.data uses.
"""

from __future__ import annotations

from typing import Optional, Tuple

import tensorflow as tf

from common import names
from trainer.config import AugmentationConfig


def _flip_and_crop(stacked: tf.Tensor, config: AugmentationConfig, pad_values: tf.Tensor, seeds) -> tf.Tensor:
    height, width, channels = stacked.shape
    if config.flip_left_right:
        stacked = tf.image.stateless_random_flip_left_right(stacked, seed=seeds[0])
    pad = int(round(config.crop_pad_fraction * max(height, width)))
    if pad > 0:
        # Pad each channel with its own fill value (0 for image, IGNORE_LABEL for mask).
        padded = tf.pad(stacked - pad_values, [[pad, pad], [pad, pad], [0, 0]]) + pad_values
        stacked = tf.image.stateless_random_crop(padded, [height, width, channels], seed=seeds[1])
    return stacked


def _photometric(image: tf.Tensor, config: AugmentationConfig, seeds) -> tf.Tensor:
    if config.brightness > 0:
        delta = tf.random.stateless_uniform([], seeds[2], -config.brightness, config.brightness)
        image = image + delta * 255.0
    if config.contrast > 0:
        factor = tf.random.stateless_uniform([], seeds[3], 1.0 - config.contrast, 1.0 + config.contrast)
        mean = tf.reduce_mean(image, axis=[0, 1], keepdims=True)
        image = (image - mean) * factor + mean
    return tf.clip_by_value(image, 0.0, 255.0)


def augment(
    image: tf.Tensor, config: AugmentationConfig, mask: Optional[tf.Tensor] = None, seed=(0, 0)
) -> Tuple[tf.Tensor, Optional[tf.Tensor]]:
    """Augments one float32 ``[H, W, 3]`` image in [0, 255] (and its ``[H, W, 1]`` mask).

    ``seed`` is a pair of integers (a ``[2]`` tensor); the same seed gives the
    same augmentation.  Returns ``(image, mask)``; ``mask`` stays None when none was given.
    """
    if not config.enabled:
        return image, mask
    seeds = tf.random.experimental.stateless_split(tf.cast(tf.convert_to_tensor(seed), tf.int64), num=4)
    channels = image.shape[-1]
    if mask is not None:
        stacked = tf.concat([image, tf.cast(mask, tf.float32)], axis=-1)
        pad_values = tf.constant([0.0] * channels + [float(names.IGNORE_LABEL)], tf.float32)
    else:
        stacked = image
        pad_values = tf.zeros([channels], tf.float32)
    stacked = _flip_and_crop(stacked, config, pad_values, seeds)
    image = _photometric(stacked[..., :channels], config, seeds)
    if mask is not None:
        mask = tf.cast(tf.round(stacked[..., channels:]), mask.dtype)
    return image, mask
