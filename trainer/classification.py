"""Classification: an integer label per image, softmax over classes."""

from __future__ import annotations

from typing import Dict

import tensorflow as tf

from trainer import augmentation, features, image_ops
from trainer.model import build_classifier, compile_classifier
from trainer.task_config import TrainerConfig
from trainer.tasks import Task


class Classification(Task):
    name = "classification"

    def transform_targets(self, inputs: Dict, config: TrainerConfig) -> Dict:
        if config.label_key not in inputs:
            return {}
        return {features.TRANSFORMED_LABEL_KEY: tf.cast(image_ops.dense_1d(inputs[config.label_key]), tf.int64)}

    def parse_targets(self, batch: Dict, config: TrainerConfig):
        return tf.reshape(batch[features.TRANSFORMED_LABEL_KEY], [-1])

    def augment(self, image, target, config: TrainerConfig):
        return augmentation.augment(image, config.augmentation)[0], target

    def build_model(self, config: TrainerConfig):
        return build_classifier(config)

    def compile(self, model, learning_rate, config: TrainerConfig) -> None:
        compile_classifier(model, learning_rate)

    def serving_outputs(self, probabilities, image_bytes, config: TrainerConfig) -> Dict:
        class_names = tf.constant(config.class_names)
        class_id = tf.argmax(probabilities, axis=-1)
        return {"probabilities": probabilities, "class_id": class_id, "class_name": tf.gather(class_names, class_id)}


TASK = Classification()
