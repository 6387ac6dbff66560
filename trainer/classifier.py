"""Classification model: normalisation + backbone + pooled softmax head.

The model's input is the resized image as float pixels in [0, 255]
(``image_ops.bytes_to_pixels`` output cast to float); everything backbone
specific happens inside, so the same transformed data serves every backbone.
"""

from __future__ import annotations

from typing import Tuple

from common import names
from trainer.backbones import Normalize, build_backbone
from trainer.config import TrainerConfig
from trainer.keras_lib import keras


def build_classifier(config: TrainerConfig, dropout: float = 0.2) -> Tuple[keras.Model, keras.Model]:
    """Returns (full model, its backbone) — the backbone is returned so training can (un)freeze it."""
    if config.num_classes < 2:
        raise ValueError(
            f"classification needs at least 2 class names, got {config.class_names!r}. "
            "Pass --labels FILE or keep labels.txt next to the data."
        )
    backbone, mode = build_backbone(config.backbone, config.image_size, config.weights)
    inputs = keras.Input((config.image_size, config.image_size, 3), name=names.MODEL_INPUT_NAME)
    x = Normalize(mode, name="normalize")(inputs)
    x = backbone(x)
    x = keras.layers.GlobalAveragePooling2D(name="pool")(x)
    x = keras.layers.Dropout(dropout, name="head_dropout")(x)
    outputs = keras.layers.Dense(config.num_classes, activation="softmax", name=names.PROBABILITIES_KEY)(x)
    return keras.Model(inputs, outputs, name=f"{config.backbone}_classifier"), backbone


def compile_classifier(model: keras.Model, learning_rate) -> None:
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate),
        loss=keras.losses.SparseCategoricalCrossentropy(),
        metrics=[keras.metrics.SparseCategoricalAccuracy(name="accuracy")],
    )
