"""Classification: an integer label per image, softmax over classes."""

from __future__ import annotations

from typing import Dict

import tensorflow as tf

from common import names
from trainer import augmentation, image_ops
from trainer.classifier import build_classifier, compile_classifier
from trainer.config import TrainerConfig, TransformConfig
from trainer.tasks.base import Task


class Classification(Task):
    name = "classification"
    stratum_key = names.TRANSFORMED_LABEL_KEY
    embedding_layer = "pool"
    probe_layer = names.PROBABILITIES_KEY

    tuning_objective = ("val_accuracy", "max")

    def tuning_score(self, model, validation_batches, config: TrainerConfig) -> float:
        return float(model.evaluate(validation_batches, return_dict=True, verbose=0)["accuracy"])

    def search_space(self, config: TrainerConfig, pretrained: bool) -> Dict[str, list]:
        """Flips on or off (where no flag fixed them), and with pretrained weights head-only against
        fine-tuning and the fine-tuning rate."""
        space = super().search_space(config, pretrained)
        if config.augmentation.enabled and config.augmentation.flip_left_right is None:
            space["augmentation.flip_left_right"] = ["auto", "off", "on"]  # --flips values
        if pretrained:
            head = 0.5 if config.head_steps_fraction is None else config.head_steps_fraction
            space["head_steps_fraction"] = [head, *[v for v in (0.5, 1.0) if v != head]]
            rate = config.fine_tune_learning_rate
            space["fine_tune_learning_rate"] = [rate, rate / 2, rate * 2]
        return space

    def transform_targets(self, inputs: Dict, config: TransformConfig) -> Dict:
        if config.label_key not in inputs:
            return {}
        return {names.TRANSFORMED_LABEL_KEY: tf.cast(image_ops.dense_1d(inputs[config.label_key]), tf.int64)}

    def parse_targets(self, batch: Dict, config: TrainerConfig):
        return tf.reshape(batch[names.TRANSFORMED_LABEL_KEY], [-1])

    def augment(self, images, targets, config: TrainerConfig, seed):
        return augmentation.augment(images, config.augmentation, seed=seed,
                                    random_resized_crop=config.resize_policy == "crop")[0], targets

    def build_model(self, config: TrainerConfig):
        return build_classifier(config)

    def compile(self, model, learning_rate, config: TrainerConfig) -> None:
        compile_classifier(model, learning_rate)

    def serving_outputs(self, probabilities, image_bytes, config: TrainerConfig) -> Dict:
        class_names = tf.constant(config.class_names)
        class_id = tf.argmax(probabilities, axis=-1)
        return {names.PROBABILITIES_KEY: probabilities, "class_id": class_id, "class_name": tf.gather(class_names, class_id)}

