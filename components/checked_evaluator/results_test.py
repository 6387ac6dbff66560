"""Per-class figures from the overall confusion matrix of a TFMA evaluation."""

import numpy as np

from components.checked_evaluator.results import confusion_counts


def test_confusion_counts_read_tfma_entries_with_their_omitted_zero_ids():
    # TFMA's JSON leaves out fields equal to 0 (class id 0); -1 means no class passed the threshold.
    entries = [{"numWeightedExamples": 2.0},  # actual 0, predicted 0
               {"predictedClassId": 2, "numWeightedExamples": 1.0},
               {"actualClassId": 1, "predictedClassId": 1, "numWeightedExamples": 3.0},
               {"actualClassId": 2, "predictedClassId": -1, "numWeightedExamples": 4.0}]
    plots = [((("label", 1),), {"": {"": {}}}),
             ((), {"": {"": {"multiClassConfusionMatrixAtThresholds": {"matrices": [{"entries": entries}]}}}})]
    counts = confusion_counts(plots, 3)
    np.testing.assert_array_equal(counts, [[2, 0, 1, 0], [0, 3, 0, 0], [0, 0, 0, 4]])
    assert confusion_counts([((), {"": {"": {}}})], 3) is None
    assert confusion_counts([((), None)], 3) is None  # segmentation and detection evaluations have no plots
