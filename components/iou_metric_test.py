"""IoU metric: against a hand-computed confusion matrix, absent and ignored classes, and in real TFMA/Beam."""

import math

import apache_beam as beam
import numpy as np
import pytest
from apache_beam.testing import util as beam_util
from tensorflow_model_analysis.metrics import metric_types

from components.iou_metric import SemanticSegmentationIoU, confusion_matrix, iou_from_confusion

CLASSES = ["bg", "a", "b", "never"]

# 3x4 label / prediction with one ignored pixel (255) and class 3 absent from both.
LABELS = np.array([[0, 0, 1, 1],
                   [0, 2, 2, 1],
                   [0, 0, 255, 2]])
PREDS = np.array([[0, 1, 1, 1],
                  [0, 2, 0, 1],
                  [0, 0, 0, 2]])


def test_confusion_matrix_by_hand():
    matrix = confusion_matrix(LABELS, PREDS, 4)
    # rows = truth, cols = prediction; the ignored pixel is not counted.
    expected = np.array([[4, 1, 0, 0],
                         [0, 3, 0, 0],
                         [1, 0, 2, 0],
                         [0, 0, 0, 0]])
    np.testing.assert_array_equal(matrix, expected)


def test_iou_values_by_hand_with_absent_class_left_out():
    values = iou_from_confusion(confusion_matrix(LABELS, PREDS, 4), CLASSES)
    iou_bg, iou_a, iou_b = 4 / (5 + 5 - 4), 3 / (3 + 4 - 3), 2 / (3 + 2 - 2)
    assert values["iou/bg"] == pytest.approx(iou_bg)
    assert values["iou/a"] == pytest.approx(iou_a)
    assert values["iou/b"] == pytest.approx(iou_b)
    assert math.isnan(values["iou/never"])
    assert values["mean_iou"] == pytest.approx((iou_bg + iou_a + iou_b) / 3)
    assert values["pixel_accuracy"] == pytest.approx(9 / 11)
    assert [values[f"pixel_count/{c}"] for c in CLASSES] == [5, 3, 3, 0]


def test_out_of_range_ids_are_an_error():
    with pytest.raises(ValueError, match="class ids outside"):
        confusion_matrix(np.array([0, 7]), np.array([0, 0]), 4)


@pytest.mark.pipeline
def test_metric_in_tfma_merges_across_examples_and_slices():
    """Real TFMA computations on Beam: the merged metric equals the metric of all pixels."""
    rng = np.random.default_rng(0)
    examples = []
    for _ in range(7):
        label = rng.integers(0, 3, (5, 6))
        label[0, 0] = 255
        examples.append({
            "labels": None,
            "predictions": {"predicted_mask": rng.integers(0, 3, (5, 6)), "label_mask": label},
            "example_weights": None,
            "features": {},
        })
    computations = SemanticSegmentationIoU(CLASSES).computations()
    computation = computations[0]
    all_labels = np.concatenate([e["predictions"]["label_mask"].ravel() for e in examples])
    all_preds = np.concatenate([e["predictions"]["predicted_mask"].ravel() for e in examples])
    expected = iou_from_confusion(confusion_matrix(all_labels, all_preds, 4), CLASSES)

    with beam.Pipeline() as pipeline:
        result = (
            pipeline
            | beam.Create(examples, reshuffle=False)
            | beam.Map(metric_types.StandardMetricInputs)
            | beam.Map(lambda x: ((), x))
            | beam.CombinePerKey(computation.combiner)
        )

        def check(got):
            assert len(got) == 1
            _, metrics = got[0]
            by_name = {k.name: v for k, v in metrics.items()}
            assert by_name["mean_iou"] == pytest.approx(expected["mean_iou"], abs=1e-12)
            assert by_name["iou/a"] == pytest.approx(expected["iou/a"], abs=1e-12)
            assert math.isnan(by_name["iou/never"])
            assert by_name["pixel_count/bg"] == expected["pixel_count/bg"]

        beam_util.assert_that(result, check)
