"""ModelCard executor: Do() on real artifacts of a real TFMA evaluation; the card states what they hold.

A TFMA evaluation is produced here by running TFMA on materialised
predictions (no model needed): 10 eval examples of 2 classes, 8 right.
"""

import json
import os

import pytest
import tensorflow as tf
import tensorflow_model_analysis as tfma
from tfx.types import standard_artifacts

from common import names
from components.image_validator.spec import REPORT_FILENAME, ImageValidationReport
from components.model_card import spec
from components.model_card.executor import CardConfig, Executor

CLASSES = ["cat", "dog"]
LABELS = [0, 0, 0, 0, 0, 1, 1, 1, 1, 1]
PREDICTED = [0, 0, 0, 0, 1, 1, 1, 1, 1, 0]  # one cat and one dog wrong: accuracy 0.8


def _evaluation(root, threshold):
    """A real TFMA evaluation artifact with a blessing threshold (0.8 passes 0.5, fails 0.9)."""
    examples = []
    for label, predicted in zip(LABELS, PREDICTED):
        probabilities = [0.9, 0.1] if predicted == 0 else [0.1, 0.9]
        examples.append(tf.train.Example(features=tf.train.Features(feature={
            "label": tf.train.Feature(int64_list=tf.train.Int64List(value=[label])),
            "probabilities": tf.train.Feature(float_list=tf.train.FloatList(value=probabilities)),
        })).SerializeToString())
    config = tfma.EvalConfig(
        model_specs=[tfma.ModelSpec(label_key="label", prediction_key="probabilities")],
        slicing_specs=[tfma.SlicingSpec(), tfma.SlicingSpec(feature_keys=["label"])],
        metrics_specs=[tfma.MetricsSpec(metrics=[
            tfma.MetricConfig(class_name="ExampleCount"),
            tfma.MetricConfig(class_name="SparseCategoricalAccuracy", threshold=tfma.MetricThreshold(
                value_threshold=tfma.GenericValueThreshold(lower_bound={"value": threshold}))),
        ])])
    out, data = str(root / "evaluation"), str(root / "eval.tfrecord")
    with tf.io.TFRecordWriter(data) as writer:
        for example in examples:
            writer.write(example)
    tfma.run_model_analysis(eval_config=config, data_location=data, output_path=out)
    evaluation = standard_artifacts.ModelEvaluation()
    evaluation.uri = out
    return evaluation


def _inputs(root, threshold, blessed):
    model = standard_artifacts.Model()
    model.uri = str(root / "model")
    os.makedirs(os.path.join(model.uri, "Format-Serving", "tflite"))
    with open(os.path.join(model.uri, "Format-Serving", "saved_model.pb"), "wb") as handle:
        handle.write(b"x" * 4096)
    model_run = standard_artifacts.ModelRun()
    model_run.uri = str(root / "model_run")
    os.makedirs(model_run.uri)
    with open(os.path.join(model_run.uri, names.TRAINING_SPLITS_FILENAME), "w") as handle:
        json.dump({"train": 36, "validation": 4}, handle)
    report = ImageValidationReport()
    report.uri = str(root / "report")
    os.makedirs(report.uri)
    with open(os.path.join(report.uri, REPORT_FILENAME), "w") as handle:
        json.dump({"total": 53, "good": 50, "quarantined": 3, "splits": {
            "train": {"input": 42, "good": 40, "quarantined": 2, "reasons": {"truncated or corrupt image data": 2},
                      "class_counts": {"cat": 20, "dog": 20}},
            "eval": {"input": 11, "good": 10, "quarantined": 1, "reasons": {"exact duplicate": 1},
                     "class_counts": {"cat": 5, "dog": 5}}}}, handle)
    blessing = standard_artifacts.ModelBlessing()
    blessing.set_int_custom_property("blessed", int(blessed))
    if not blessed:  # as TFX's Evaluator records the model it compared with
        blessing.set_string_custom_property("baseline_model", "/models/Trainer/model/7")
    return {spec.MODEL_KEY: [model], spec.MODEL_RUN_KEY: [model_run],
            spec.EVALUATION_KEY: [_evaluation(root, threshold)], spec.BLESSING_KEY: [blessing],
            spec.VALIDATION_REPORT_KEY: [report]}


def _card(root, threshold=0.5, blessed=True):
    card = spec.ModelCard()
    card.uri = str(root / "card")
    config = CardConfig(pipeline_name="pets", class_names=CLASSES, data_source="/data/pets",
                        settings={"backbone": "squeezenet", "image_size": 227, "resize_policy": "crop",
                                  "learning_rate": 0.002})
    Executor().Do(_inputs(root, threshold, blessed), {spec.MODEL_CARD_KEY: [card]},
                  {spec.CONFIG_KEY: config.to_json()})
    read = {name: open(os.path.join(card.uri, name), encoding="utf-8").read() for name in spec.CARD_FILENAMES}
    return read[spec.MARKDOWN_FILENAME], read[spec.HTML_FILENAME]


@pytest.mark.pipeline
def test_a_blessed_card_states_data_config_metrics_blessing_and_limitations(tmp_path):
    markdown, page = _card(tmp_path)
    for expected in ("# Model card — pets (classification)", "| classes | 2: cat, dog |", "| backbone | squeezenet |",
                     "Source: /data/pets.", "| train | 42 | 40 | 2 |", "| eval | 11 | 10 | 1 |",
                     "2 quarantined: truncated or corrupt image data", "| cat | 5 | 20 |",
                     "Training used 36 examples and held out 4", "| learning_rate | 0.002 |",
                     "| sparse_categorical_accuracy | 0.8000 |", "| example_count | 10 |",
                     "BLESSED: the Pusher publishes it for serving.", "rule: SparseCategoricalAccuracy >= 0.5",
                     "baseline: none (the first model of this lineage)",
                     "one example moves an overall rate by 0.100",
                     "Per-class figures rest on fewer than 20 eval examples for: cat, dog.",
                     "3 of 53 input files were quarantined", "Only the centred square of each image is seen"):
        assert expected in markdown, expected
    # Per class (label slices): each class has 5 eval examples, 4 right.
    assert "| cat | 5 | 0.8000 |" in markdown and "| dog | 5 | 0.8000 |" in markdown
    assert "<h2 id=known-limitations>Known limitations</h2>" in page and "<td>squeezenet</td>" in page
    assert "<script" not in page


@pytest.mark.pipeline
def test_a_card_of_an_unblessed_model_says_why(tmp_path):
    markdown, _ = _card(tmp_path, threshold=0.9, blessed=False)
    assert "NOT blessed: this model is not pushed." in markdown
    assert "failed: sparse_categorical_accuracy 0.8000 < 0.9000" in markdown
    assert "baseline: /models/Trainer/model/7" in markdown


@pytest.mark.parametrize("missing", [spec.EVALUATION_KEY, spec.BLESSING_KEY])
def test_required_inputs_are_declared(missing):
    assert not spec.ModelCardSpec.INPUTS[missing].optional
