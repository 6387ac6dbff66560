"""The linear probe: written into the softmax layer it predicts as sklearn's fit does; the better model is kept."""

import numpy as np
import pytest

from trainer import linear_probe
from trainer.keras_lib import keras


def _blobs(classes: int, per_class: int = 30, features: int = 6, seed: int = 0):
    rng = np.random.default_rng(seed)
    centres = rng.normal(0, 3, (classes, features))
    x = np.concatenate([rng.normal(c, 1.0, (per_class, features)) * 5 + 20 for c in centres]).astype(np.float32)
    y = np.repeat(np.arange(classes), per_class)
    return x, y


@pytest.mark.parametrize("classes", [2, 4])
def test_the_probe_in_a_softmax_layer_predicts_as_the_fitted_regression(classes):
    from sklearn.linear_model import LogisticRegression

    x, y = _blobs(classes)
    weights, bias = linear_probe.fit(x, y, classes, seed=0)
    inputs = keras.Input((x.shape[1],))
    model = keras.Model(inputs, keras.layers.Dense(classes, activation="softmax", name="probabilities")(inputs))
    linear_probe.install(model, "probabilities", weights, bias)
    mean, scale = x.mean(0), x.std(0)
    reference = LogisticRegression(C=linear_probe.PROBE_C, max_iter=2000).fit((x - mean) / scale, y)
    expected = reference.predict_proba((x - mean) / scale)
    np.testing.assert_allclose(model(x).numpy(), expected, atol=1e-4)
    assert linear_probe.accuracy(x, y, weights, bias) == pytest.approx(np.mean(expected.argmax(1) == y))


def test_a_class_absent_from_training_is_never_predicted():
    x, y = _blobs(3)
    weights, bias = linear_probe.fit(x[y != 1], y[y != 1], 3, seed=0)
    assert not np.any(np.argmax(x @ weights + bias, axis=-1) == 1)


def test_the_probe_comes_back_when_training_ended_below_it():
    restored = []
    kept = linear_probe.keep_better(linear_probe.ProbeOutcome(0.9), 0.95, restore=lambda: restored.append(1))
    assert kept.kept == "trained" and not restored
    fallen = linear_probe.keep_better(linear_probe.ProbeOutcome(0.9), 0.84, restore=lambda: restored.append(1))
    assert fallen.kept == "linear probe" and restored == [1] and "0.840 < probe 0.900" in fallen.reason
