"""TFMA configuration: what the Evaluator measures and what it takes to be blessed."""

from __future__ import annotations

import tensorflow_model_analysis as tfma

from pipeline.configs import PipelineConfig
from trainer.signatures import EXAMPLES_SIGNATURE, PREDICTION_KEY

ACCURACY_METRIC = "sparse_categorical_accuracy"


def classification_eval_config(config: PipelineConfig) -> tfma.EvalConfig:
    """Accuracy, top-k, per-class precision/recall, confusion matrix; overall and per class.

    Blessing needs both: accuracy >= ``min_accuracy`` (value threshold) and at
    most ``max_accuracy_drop`` below the latest blessed model (change
    threshold; ignored on the first run, when there is no baseline).
    """
    trainer = config.trainer
    num_classes = len(trainer.class_names)
    accuracy_threshold = tfma.MetricThreshold(
        value_threshold=tfma.GenericValueThreshold(lower_bound={"value": config.min_accuracy}),
        change_threshold=tfma.GenericChangeThreshold(
            direction=tfma.MetricDirection.HIGHER_IS_BETTER,
            absolute={"value": -config.max_accuracy_drop - 1e-10},
        ),
    )
    return tfma.EvalConfig(
        model_specs=[
            tfma.ModelSpec(
                signature_name=EXAMPLES_SIGNATURE,
                label_key=trainer.label_key,
                prediction_key=PREDICTION_KEY,
            )
        ],
        slicing_specs=[tfma.SlicingSpec(), tfma.SlicingSpec(feature_keys=[trainer.label_key])],
        metrics_specs=[
            tfma.MetricsSpec(
                metrics=[
                    tfma.MetricConfig(class_name="ExampleCount"),
                    tfma.MetricConfig(class_name="SparseCategoricalAccuracy", threshold=accuracy_threshold),
                    tfma.MetricConfig(
                        class_name="SparseTopKCategoricalAccuracy",
                        config=f'"k": {min(config.top_k, num_classes)}',
                    ),
                    tfma.MetricConfig(class_name="MultiClassConfusionMatrixPlot"),
                ]
            ),
            tfma.MetricsSpec(
                binarize=tfma.BinarizationOptions(class_ids={"values": list(range(num_classes))}),
                metrics=[tfma.MetricConfig(class_name="Precision"), tfma.MetricConfig(class_name="Recall")],
            ),
        ],
    )
