"""Native accuracy metrics: ties and bad labels by hand, and the Keras metrics' values through real TFMA on Beam."""

import math

import apache_beam as beam
import numpy as np
import pytest
import tf_keras
from apache_beam.testing import util as beam_util
from tensorflow_model_analysis.metrics import metric_types

from components.accuracy_metric import SparseCategoricalAccuracy, SparseTopKCategoricalAccuracy, is_hit


def test_hits_by_hand_with_ties():
    scores = np.array([0.1, 0.4, 0.4, 0.1])
    # argmax takes the first of tied maxima, as tf.argmax does.
    assert is_hit(np.array([1]), scores, 1) and not is_hit(np.array([2]), scores, 1)
    # Top 2: both tied leaders; top 1 of a tie at the boundary counts (tf.math.in_top_k).
    assert is_hit(np.array([2]), scores, 2) and not is_hit(np.array([0]), scores, 2)
    assert is_hit(np.array([0]), scores, 3) and is_hit(np.array([3]), scores, 3)
    assert not is_hit(np.array([0]), np.array([np.nan, 0.2, 0.3]), 3)


def test_a_label_outside_the_classes_or_a_dense_label_is_an_error():
    with pytest.raises(ValueError, match="label 5 outside the model's 3 classes"):
        is_hit(np.array([5]), np.array([0.2, 0.3, 0.5]), 1)
    with pytest.raises(ValueError, match="one class id per example"):
        is_hit(np.array([0, 1, 0]), np.array([0.2, 0.3, 0.5]), 1)


def _assert_combined(metric, examples, expected: float) -> None:
    """The metric's value after TFMA's combiner ran over ``examples`` on Beam, in several bundles."""
    computation = metric.computations()[0]
    with beam.Pipeline() as pipeline:
        result = (pipeline
                  | beam.Create(examples, reshuffle=True)
                  | beam.Map(metric_types.StandardMetricInputs)
                  | beam.Map(lambda x: ((), x))
                  | beam.CombinePerKey(computation.combiner))

        def check(got):
            assert len(got) == 1
            (value,) = got[0][1].values()
            assert value == pytest.approx(expected, abs=1e-6)

        beam_util.assert_that(result, check)


@pytest.mark.pipeline
def test_values_equal_the_keras_metrics_through_tfma_on_beam():
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 10, 500)
    scores = rng.random((500, 10))
    scores[::7] = np.round(scores[::7], 1)  # ties
    examples = [{"labels": np.array([label]), "predictions": score, "example_weights": None, "features": {}}
                for label, score in zip(labels, scores)]
    for metric, keras_metric in ((SparseCategoricalAccuracy(), tf_keras.metrics.SparseCategoricalAccuracy()),
                                 (SparseTopKCategoricalAccuracy(k=3), tf_keras.metrics.SparseTopKCategoricalAccuracy(3))):
        keras_metric.update_state(labels[:, None], scores.astype(np.float32))
        expected = float(keras_metric.result())
        assert 0.05 < expected < 0.95
        _assert_combined(metric, examples, expected)


def test_no_examples_give_nan_not_zero():
    combiner = SparseCategoricalAccuracy().computations()[0].combiner
    (value,) = combiner.extract_output(combiner.create_accumulator()).values()
    assert math.isnan(value)


def test_keys_are_the_keras_metrics_names():
    keys = [SparseCategoricalAccuracy().computations()[0].keys[0],
            SparseTopKCategoricalAccuracy(k=3).computations()[0].keys[0]]
    assert [key.name for key in keys] == ["sparse_categorical_accuracy", "sparse_top_k_categorical_accuracy"]
