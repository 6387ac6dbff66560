"""CheckedEvaluator: an eval-config that would bless every model is refused before evaluating."""

import pytest
import tensorflow_model_analysis as tfma
from google.protobuf import json_format
from tfx.types import standard_artifacts

from components.checked_evaluator.executor import Executor, MissingBlessingThreshold, check_eval_config
from pipeline.configs import PipelineConfig
from pipeline.evaluation import eval_config
from trainer.config import TrainerConfig


@pytest.mark.parametrize("task", ["classification", "segmentation"])
def test_the_compiled_eval_configs_pass(task):
    check_eval_config(eval_config(PipelineConfig(trainer=TrainerConfig(task=task, class_names=["a", "b"]))))


def test_an_eval_config_without_thresholds_is_refused_before_any_evaluation(tmp_path):
    config = eval_config(PipelineConfig(trainer=TrainerConfig(class_names=["a", "b"])))
    for spec in config.metrics_specs:
        for metric in spec.metrics:
            metric.ClearField("per_slice_thresholds")
    with pytest.raises(MissingBlessingThreshold, match="every model\\s+would be blessed"):
        check_eval_config(config)
    evaluation = standard_artifacts.ModelEvaluation()
    evaluation.uri = str(tmp_path / "evaluation")
    with pytest.raises(MissingBlessingThreshold):
        Executor().Do({}, {"evaluation": [evaluation]}, {"eval_config": json_format.MessageToJson(config)})


def test_a_threshold_on_a_per_class_slice_only_does_not_count():
    config = tfma.EvalConfig(metrics_specs=[tfma.MetricsSpec(metrics=[tfma.MetricConfig(
        class_name="SparseCategoricalAccuracy",
        per_slice_thresholds=[tfma.PerSliceMetricThreshold(
            slicing_specs=[tfma.SlicingSpec(feature_keys=["label"])],
            threshold=tfma.MetricThreshold(value_threshold=tfma.GenericValueThreshold(lower_bound={"value": 0.9})))])])])
    with pytest.raises(MissingBlessingThreshold):
        check_eval_config(config)
