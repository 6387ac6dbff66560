"""The TensorFlow side of a task: what differs between classification, segmentation and detection.

Everything else — decoding, resizing, the compact pixel encoding, backbones,
augmentation, the training loop, export — is shared.  A task only says how
its target is transformed, batched and augmented, which model and loss it
trains, and what its serving signatures return.  What every other layer needs
to know of a task (feature keys, defaults, blessing metric, data preparation)
is its contract in :mod:`common.tasks`, registered under the same name.
"""

from __future__ import annotations

from typing import Dict, List, Optional

from common import names
from trainer.config import TrainerConfig, TransformConfig


class Task:
    """Implemented by :mod:`trainer.tasks.classification`, :mod:`trainer.tasks.segmentation` and
    :mod:`trainer.tasks.detection`."""

    name = ""
    #: What ``serving_pixels`` calls the model's output (a detector's raw heads are not probabilities).
    model_output_key = names.PROBABILITIES_KEY
    #: uint8 planes a cached transformed example holds per pixel (the image's 3, plus a mask's).
    cached_planes = 3
    #: Softmax layer over the embedding layer's features that a linear probe can be written into (None: the
    #: task has no such head; trainer/linear_probe.py).
    probe_layer = None
    #: TFLite Task Library metadata writer (``image_classifier`` or ``image_segmenter``) for the TFLite files.
    tflite_metadata_writer = "image_classifier"

    def search_space(self, config: TrainerConfig, pretrained: bool) -> Dict[str, list]:
        """``--tune``'s choices: TrainerConfig field (``augmentation.x`` for augmentation fields) -> values, the
        configuration's own value first (the first trial runs the defaults, the baseline the best is shown beside).

        Every task tunes the learning rate; a task adds what matters for it (trainer/tuning.py)."""
        rate = config.learning_rate
        return {"learning_rate": [rate, rate / 4, rate / 2, rate * 2]}

    #: The Tuner's objective on the validation split: (name, "max" or "min").  The loss only where no tuned
    #: setting changes the loss itself (a Dice weight of 0 would "win" on a loss without its Dice term).
    tuning_objective = ("val_loss", "min")

    def tuning_score(self, model, validation_batches, config: TrainerConfig) -> float:
        """The value of :attr:`tuning_objective` for a trained model on the validation batches."""
        return float(model.evaluate(validation_batches, return_dict=True, verbose=0)["loss"])

    def transform_targets(self, inputs: Dict, config: TransformConfig) -> Dict:
        """Transform-graph outputs for the target (empty when the input has none, as in serving)."""
        raise NotImplementedError

    def parse_targets(self, batch: Dict, config: TrainerConfig):
        """Target tensor of a batch of transformed features."""
        raise NotImplementedError

    #: Transformed feature the validation split is stratified by (None: no strata).
    stratum_key = None
    #: Layer whose output the ``serving_embeddings`` signature returns (None: no such signature).
    embedding_layer = None

    def augment(self, images, targets, config: TrainerConfig, seed):
        """Training augmentation of a batch (float images, targets); ``seed`` is a ``[2]`` int tensor."""
        raise NotImplementedError

    def build_model(self, config: TrainerConfig):
        """(model, backbone); the backbone is returned so training can (un)freeze it."""
        raise NotImplementedError

    def compile(self, model, learning_rate, config: TrainerConfig) -> None:
        raise NotImplementedError

    def serving_outputs(self, model_output, image_bytes, config: TrainerConfig) -> Dict:
        """Signature outputs from the model's output (probabilities; a detector's raw heads) and the raw
        encoded images."""
        raise NotImplementedError

    def evaluation_raw_keys(self, config: TrainerConfig) -> Optional[List[str]]:
        """Raw features (besides the image) the TFMA ``evaluation`` signature parses; None = no such signature
        (TFMA then calls ``serving_examples``)."""
        return None

    def evaluation_outputs(self, model_output, transformed: Dict, config: TrainerConfig, raw: Dict) -> Dict:
        """Outputs of the ``evaluation`` signature (``raw``: the parsed raw features, image included)."""
        raise NotImplementedError
