"""TFMA configuration per task: what the Evaluator measures and what it takes to be blessed."""

from __future__ import annotations

import json
from typing import Callable, Dict

import tensorflow_model_analysis as tfma

from common import names, tasks
from common.tasks.contract import CLASS_ID
from pipeline.configs import PipelineConfig

EvalConfigBuilder = Callable[[PipelineConfig], tfma.EvalConfig]
#: The pipeline-side hook of each task: its TFMA EvalConfig, keyed by the task contract's name.
_EVAL_CONFIGS: Dict[str, EvalConfigBuilder] = {}


def register_eval_config(task_name: str) -> Callable[[EvalConfigBuilder], EvalConfigBuilder]:
    """Decorator: ``builder`` makes the EvalConfig of ``task_name`` (a registered task contract)."""
    def register(builder: EvalConfigBuilder) -> EvalConfigBuilder:
        tasks.get(task_name)  # only for a task the contracts know
        _EVAL_CONFIGS[task_name] = builder
        return builder
    return register

#: Accuracy and top-k accuracy as native TFMA metrics, not TFMA's wrappers of the Keras ones (components/accuracy_metric.py).
ACCURACY_MODULE = "components.accuracy_metric"


def _metric_settings(**settings) -> str:
    """A MetricConfig's ``config``: the metric's keyword arguments, as TFMA reads them (a JSON object's body)."""
    return json.dumps(settings)[1:-1]


def blessing_threshold(config: PipelineConfig) -> list:
    """The task's blessing rule (its contract names the metric and the two BlessingConfig fields)."""
    rule = config.contract.blessing
    return _overall_threshold(getattr(config.blessing, rule.minimum_field), getattr(config.blessing, rule.max_drop_field))


def _overall_threshold(minimum: float, max_drop: float) -> list:
    """Blessing rule on the overall slice: ``value >= minimum`` and at most ``max_drop`` below the last
    blessed model (the change part is ignored on the first run, when there is no baseline).

    Only the overall slice: per-class figures are reported, not gated — with ~36 eval images a class,
    one flipped image moves a class's accuracy by ~3%, which would block a model that is better overall.
    """
    threshold = tfma.MetricThreshold(
        value_threshold=tfma.GenericValueThreshold(lower_bound={"value": minimum}),
        change_threshold=tfma.GenericChangeThreshold(
            direction=tfma.MetricDirection.HIGHER_IS_BETTER,
            absolute={"value": -max_drop - 1e-10},
        ),
    )
    return [tfma.PerSliceMetricThreshold(slicing_specs=[tfma.SlicingSpec()], threshold=threshold)]


@register_eval_config("classification")
def classification_eval_config(config: PipelineConfig) -> tfma.EvalConfig:
    """Accuracy, top-k and the confusion matrix, on the overall slice.

    Per-class figures (example count, accuracy, precision, recall) come from the confusion matrix
    (components/checked_evaluator/results.py): per-label slices and binarized per-class metrics would
    compute the same counts once more per class and multiply TFMA's work by the number of classes.
    """
    trainer, blessing = config.trainer, config.blessing
    num_classes = len(trainer.class_names)
    version = config.code_versions["Evaluator"]
    return tfma.EvalConfig(
        # tf_generic: TFMA calls the signature only.  As a Keras model it would also revive the Keras
        # layers and rerun the compiled loss and metrics: 4x the Evaluator's time for two duplicate figures
        # (MobileNet at 224: 52 s -> 12 s on 128 images).
        model_specs=[tfma.ModelSpec(signature_name=names.EXAMPLES_SIGNATURE, label_key=trainer.label_key,
                                    prediction_key=names.PROBABILITIES_KEY, model_type=tfma.constants.TF_GENERIC)],
        slicing_specs=[tfma.SlicingSpec()],
        metrics_specs=[
            tfma.MetricsSpec(metrics=[
                tfma.MetricConfig(class_name="ExampleCount"),
                tfma.MetricConfig(class_name="SparseCategoricalAccuracy", module=ACCURACY_MODULE,
                                  config=_metric_settings(code_version=version),
                                  per_slice_thresholds=blessing_threshold(config)),
                tfma.MetricConfig(class_name="SparseTopKCategoricalAccuracy", module=ACCURACY_MODULE,
                                  config=_metric_settings(k=min(blessing.top_k, num_classes), code_version=version)),
                tfma.MetricConfig(class_name="MultiClassConfusionMatrixPlot"),
            ]),
        ],
    )


@register_eval_config("segmentation")
def segmentation_eval_config(config: PipelineConfig) -> tfma.EvalConfig:
    """Mean IoU (blessing metric), per-class IoU, pixel accuracy and pixel counts over all eval pixels."""
    # The metric ignores names.IGNORE_LABEL pixels (its default); only the class names are configured.
    iou_config = _metric_settings(class_names=config.trainer.class_names,
                                  code_version=config.code_versions["Evaluator"])
    return tfma.EvalConfig(
        # tf_generic: call the signature only; as a Keras model TFMA would also run the
        # compiled loss/metrics, which do not apply to the evaluation signature's outputs.
        model_specs=[tfma.ModelSpec(signature_name=names.EVALUATION_SIGNATURE, model_type=tfma.constants.TF_GENERIC)],
        slicing_specs=[tfma.SlicingSpec()],
        metrics_specs=[tfma.MetricsSpec(metrics=[
            tfma.MetricConfig(class_name="ExampleCount"),
            tfma.MetricConfig(class_name="SemanticSegmentationIoU", module="components.iou_metric",
                              config=iou_config,
                              per_slice_thresholds=blessing_threshold(config)),
        ])],
    )


#: TFMA's own COCOMeanAveragePrecision (the cross-check ``tfma_map_50``) builds a confusion matrix over this many
#: score thresholds; its cost grows with them (components/box_metrics.py).
TFMA_MAP_SCORE_THRESHOLDS = 100


@register_eval_config("detection")
def detection_eval_config(config: PipelineConfig) -> tfma.EvalConfig:
    """COCO mAP at IoU 0.5 (the blessing metric) and 0.5:0.95, mean average recall, AP@0.5 per class and the
    mean IoU of matched boxes, exact and in one pass (components/box_metrics.py), plus TFMA's own COCO mAP@0.5
    as a cross-check; true boxes stacked from the examples' box features, predictions from the model's
    ``evaluation`` signature."""
    class_names = config.trainer.class_names
    stacking = {"labels_to_stack": [*names.BOX_COORDINATE_KEYS, names.BOX_CLASS_KEY],
                "predictions_to_stack": [names.DETECTION_BOXES_KEY, names.DETECTION_CLASSES_KEY,
                                         names.DETECTION_SCORES_KEY],
                "num_detections_key": names.NUM_DETECTIONS_KEY}

    def metric(class_name: str, thresholds=None, **settings) -> tfma.MetricConfig:
        return tfma.MetricConfig(class_name=class_name, module="components.box_metrics",
                                 config=_metric_settings(**stacking, **settings),
                                 per_slice_thresholds=thresholds or [])

    return tfma.EvalConfig(
        model_specs=[tfma.ModelSpec(signature_name=names.EVALUATION_SIGNATURE, model_type=tfma.constants.TF_GENERIC)],
        slicing_specs=[tfma.SlicingSpec()],
        metrics_specs=[tfma.MetricsSpec(metrics=[
            tfma.MetricConfig(class_name="ExampleCount"),
            metric("COCODetectionMetrics", blessing_threshold(config),
                   name=names.MAP_50, class_names=list(class_names), code_version=config.code_versions["Evaluator"]),
            metric("COCOMeanAveragePrecision", name="tfma_map_50", iou_thresholds=[0.5],
                   class_ids=list(range(len(class_names))), num_thresholds=TFMA_MAP_SCORE_THRESHOLDS),
        ])],
    )


def tflite_eval_config(config: PipelineConfig) -> tfma.EvalConfig:
    """The TfliteEvaluator's: one TFLite model spec per file the Trainer writes, the blessing metric without
    thresholds (the SavedModel's Evaluator blesses; this one measures what the conversion loses)."""
    trainer = config.trainer
    model_names = [names.TFLITE_FLOAT_MODEL] + ([names.TFLITE_INT8_MODEL] if trainer.tflite == "int8" else [])
    # TFMA reads a label for TFLite models only where the target is one class id per image.
    label_key = trainer.label_key if config.contract.target_kind == CLASS_ID else None
    blessing_spec = eval_config(config)
    # The example count and the blessing metric (the one with a threshold), thresholds left out.
    metrics = [tfma.MetricConfig(class_name=metric.class_name, module=metric.module, config=metric.config)
               for spec in blessing_spec.metrics_specs[:1] for metric in spec.metrics
               if metric.class_name == "ExampleCount" or metric.per_slice_thresholds]
    return tfma.EvalConfig(
        model_specs=[tfma.ModelSpec(name=name, model_type=tfma.constants.TF_LITE, label_key=label_key)
                     for name in model_names],
        slicing_specs=[tfma.SlicingSpec()],
        metrics_specs=[tfma.MetricsSpec(metrics=metrics, model_names=model_names)],
    )


def eval_config(config: PipelineConfig) -> tfma.EvalConfig:
    """The EvalConfig registered for the run's task; a task without one is refused by name."""
    builder = _EVAL_CONFIGS.get(config.task)
    if builder is None:
        raise ValueError(f"task {config.task!r} has no TFMA EvalConfig: register one with "
                         "pipeline.evaluation.register_eval_config")
    return builder(config)

