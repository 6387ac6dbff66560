"""TFX Transform entry point: raw image examples -> compact model inputs.

Referenced by the pipeline as ``trainer.preprocessing.preprocessing_fn``; the
same graph is embedded in the exported model, so serving decodes and resizes
exactly as training did.
"""

from __future__ import annotations

from typing import Any, Dict

import tensorflow as tf

from common import names
from trainer import image_ops
from trainer.config import TransformConfig
from trainer.tasks.registry import get_task


def preprocessing_fn(inputs: Dict[str, Any], custom_config: Dict[str, Any]) -> Dict[str, tf.Tensor]:
    """Decodes, converts to RGB and resizes each image (``--resize`` policy, bilinear); the task adds its target.

    Targets are optional so that the serving path (raw bytes only) can run the
    same graph: TFT prunes outputs whose inputs are absent.
    """
    config = TransformConfig.from_dict(custom_config)
    encoded = image_ops.dense_1d(inputs[config.image_key])
    images = image_ops.decode_and_resize(encoded, config.image_size, policy=config.resize_policy)
    outputs = {names.TRANSFORMED_IMAGE_KEY: image_ops.pixels_to_bytes(images)}
    outputs.update(get_task(config.task).transform_targets(inputs, config))
    return outputs
