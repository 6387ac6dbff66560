"""Blessing thresholds gate the overall slice only; per-class figures come from the confusion matrix."""

import tensorflow_model_analysis as tfma

from pipeline.configs import BlessingConfig, PipelineConfig
from pipeline.evaluation import eval_config
from trainer.config import TrainerConfig


def _thresholded(config):
    return [m for spec in eval_config(config).metrics_specs for m in spec.metrics if m.per_slice_thresholds]


def test_accuracy_threshold_applies_to_the_overall_slice_only():
    config = PipelineConfig(trainer=TrainerConfig(class_names=list("abc")),
                            blessing=BlessingConfig(min_accuracy=0.9, max_accuracy_drop=0.02))
    (metric,) = _thresholded(config)
    assert metric.class_name == "SparseCategoricalAccuracy" and not metric.HasField("threshold")
    (rule,) = metric.per_slice_thresholds
    assert list(rule.slicing_specs) == [tfma.SlicingSpec()]
    assert rule.threshold.value_threshold.lower_bound.value == 0.9
    assert abs(rule.threshold.change_threshold.absolute.value + 0.02) < 1e-9
    # Per-class figures come from the confusion matrix, not from per-label slices (one pass, not one a class).
    assert list(eval_config(config).slicing_specs) == [tfma.SlicingSpec()]
    assert "MultiClassConfusionMatrixPlot" in [m.class_name for m in eval_config(config).metrics_specs[0].metrics]


def test_mean_iou_threshold_applies_to_the_overall_slice():
    config = PipelineConfig(trainer=TrainerConfig(task="segmentation", class_names=list("ab")),
                            blessing=BlessingConfig(min_mean_iou=0.75))
    (metric,) = _thresholded(config)
    assert metric.class_name == "SemanticSegmentationIoU"
    assert metric.per_slice_thresholds[0].threshold.value_threshold.lower_bound.value == 0.75
