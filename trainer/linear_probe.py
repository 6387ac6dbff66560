"""A linear probe on the frozen pretrained backbone: the head's starting point and the floor fine-tuning must beat.

Why: fine-tuning a pretrained backbone on a small set can end below a plain logistic regression on the
backbone's frozen features (SqueezeNet on a small insect photo set: 0.837 fine-tuned against 0.86-0.90 for
the probe), and nothing told the user.  So with pretrained weights the Trainer first fits that probe (the
training split's features, no augmentation), writes it into the classifier's softmax layer — the model then
*is* the probe, as ``softmax(W x + b)`` over the pooled features — and trains from there (linear probing
then fine-tuning: the head starts right, so early gradients do not wreck the pretrained features).  After
training, the model is kept only if it scores at least the probe on the validation split carved from train;
otherwise the probe's weights come back, refitted on the whole training split.  Both scores go to the run
summary.
"""

from __future__ import annotations

import dataclasses
from typing import Dict, List, Optional

import numpy as np

#: Inverse L2 strength of the probe's logistic regression: sklearn's default, as a probe is usually fitted.
PROBE_C = 1.0


@dataclasses.dataclass
class ProbeOutcome:
    """What the probe scored, what training reached, and which the pushed model is."""

    probe_validation_accuracy: Optional[float]
    trained_validation_accuracy: Optional[float] = None
    kept: str = "trained"
    reason: str = ""

    def to_dict(self) -> Dict[str, object]:
        return dataclasses.asdict(self)


def fit(features: np.ndarray, labels: np.ndarray, num_classes: int, seed: int):
    """``(weights [F, C], bias [C])`` of a multinomial logistic regression, in the raw feature space.

    Fitted on standardised features (the solver converges on them), then the standardisation is folded into
    the weights, so the softmax layer reads the backbone's features as they are.
    """
    from sklearn.linear_model import LogisticRegression

    features = np.asarray(features, np.float64)
    mean = features.mean(axis=0)
    scale = features.std(axis=0)
    scale[scale == 0] = 1.0
    model = LogisticRegression(C=PROBE_C, max_iter=2000, random_state=seed)
    model.fit((features - mean) / scale, labels)
    weights = np.zeros((features.shape[1], num_classes))
    bias = np.full(num_classes, -1e4)  # a class absent from the training split is never predicted
    coef, intercept = model.coef_, model.intercept_
    if len(model.classes_) == 2:  # sklearn's binary form: one row for class 1
        coef, intercept = np.vstack([-coef / 2, coef / 2]), np.array([-intercept[0] / 2, intercept[0] / 2])
    for row, class_id in enumerate(model.classes_):
        weights[:, class_id] = coef[row] / scale
        bias[class_id] = intercept[row] - np.sum(coef[row] * mean / scale)
    return weights.astype(np.float32), bias.astype(np.float32)


def accuracy(features: np.ndarray, labels: np.ndarray, weights: np.ndarray, bias: np.ndarray) -> Optional[float]:
    """Accuracy of ``argmax(x W + b)``; None without examples."""
    if len(labels) == 0:
        return None
    return float(np.mean(np.argmax(features @ weights + bias, axis=-1) == np.asarray(labels).reshape(-1)))


def install(model, output_layer: str, weights: np.ndarray, bias: np.ndarray) -> None:
    """Writes the probe into the classifier's softmax layer."""
    model.get_layer(output_layer).set_weights([weights, bias])


def keep_better(outcome: ProbeOutcome, trained: Optional[float], restore) -> ProbeOutcome:
    """Keeps the trained model unless the probe scored higher on validation; ``restore()`` brings the probe back."""
    outcome.trained_validation_accuracy = trained
    if outcome.probe_validation_accuracy is None or trained is None:
        outcome.reason = "no validation split to compare on: the trained model is kept"
        return outcome
    if trained >= outcome.probe_validation_accuracy:
        outcome.reason = (f"trained {trained:.3f} >= probe {outcome.probe_validation_accuracy:.3f} on the "
                          "validation split")
        return outcome
    restore()
    outcome.kept = "linear probe"
    outcome.reason = (f"trained {trained:.3f} < probe {outcome.probe_validation_accuracy:.3f} on the validation "
                      "split: the probe on the frozen backbone, refitted on every training example, is the model")
    return outcome


def predictions_accuracy(model, batches: List) -> Optional[float]:
    """Accuracy of ``model`` over ``(images, labels)`` batches; None without examples."""
    right = count = 0
    for images, labels in batches:
        labels = np.asarray(labels).reshape(-1)
        right += int(np.sum(np.argmax(model(images, training=False), axis=-1) == labels))
        count += len(labels)
    return right / count if count else None
