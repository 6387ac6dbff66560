"""ModelCard executor: gathers what the run's artifacts say about the model and writes the card.

Why its own component rather than a report after the run: the card must
travel with the model (the Pusher copies it into the version directory), so
it has to exist before the push, and every statement in it must come from an
artifact of the same run — never from what the runner happens to remember.
Model Card Toolkit 2.0 would do this job but needs TFMA < 0.42 (we run 0.47).
"""

from __future__ import annotations

import dataclasses
import json
import os
from typing import Any, Dict, List, Optional, Tuple

import tensorflow as tf
from absl import logging
from tfx.dsl.components.base import base_executor
from tfx.types import artifact_utils

from common import names, tasks
from common.json_config import JsonConfig
from components.checked_evaluator.results import read_evaluation, read_failed_checks
from components.image_validator.spec import REPORT_FILENAME
from components.label_inspector.spec import SUMMARY_FILENAME as LABEL_ISSUES_SUMMARY
from components.model_card import spec
from components.model_card.card import Bullets, Section, Table, pairs, to_html, to_markdown
from components.tflite_evaluator.results import read_tflite_metrics

#: Per-class figures from fewer eval examples than this are called out as noisy.
FEW_EVAL_EXAMPLES = 20


@dataclasses.dataclass
class CardConfig(JsonConfig):
    """What the card cannot read from artifacts; travels as JSON in the component's exec properties."""

    pipeline_name: str = ""
    task: str = "classification"
    class_names: List[str] = dataclasses.field(default_factory=list)
    label_key: str = names.DEFAULT_LABEL_KEY
    #: The user's --data (or the embedded dataset's name).
    data_source: str = ""
    #: Training settings shown as they were given (flag name -> value).
    settings: Dict[str, Any] = dataclasses.field(default_factory=dict)
    #: Hash of this component's code (see pipeline/cache_keys.py).
    code_version: str = ""


def _json(uri: Optional[str], filename: str) -> Dict:
    path = os.path.join(uri, filename) if uri else None
    if not (path and tf.io.gfile.exists(path)):
        return {}
    with tf.io.gfile.GFile(path) as handle:
        return json.load(handle)


def _uri(input_dict, key) -> Optional[str]:
    artifacts = input_dict.get(key) or []
    return artifacts[0].uri if artifacts else None


def blessing_rule(evaluation_uri: str) -> List[str]:
    """The overall-slice thresholds of the EvalConfig the Evaluator actually ran with, in words."""
    import tensorflow_model_analysis as tfma

    config = tfma.load_eval_result(evaluation_uri).config
    rules = []
    for metrics_spec in config.metrics_specs:
        for metric in metrics_spec.metrics:
            overall = [t.threshold for t in metric.per_slice_thresholds
                       if any(not s.feature_keys and not s.feature_values for s in t.slicing_specs)]
            for threshold in overall + ([metric.threshold] if metric.HasField("threshold") else []):
                if threshold.value_threshold.HasField("lower_bound"):
                    rules.append(f"{metric.class_name} >= {threshold.value_threshold.lower_bound.value:g}")
                if threshold.change_threshold.HasField("absolute"):
                    drop = abs(threshold.change_threshold.absolute.value + 1e-10)
                    rules.append(f"{metric.class_name} at most {drop:.4g} below the last blessed model")
    return rules


def _model_files(model_uri: str) -> List[Tuple[str, str]]:
    """(file, size) of the SavedModel and the TFLite files the Trainer wrote."""
    serving = os.path.join(model_uri, "Format-Serving")
    rows = []
    for relative in ("saved_model.pb", "tflite/model.tflite", "tflite/model_int8.tflite", "tflite/labels.txt"):
        path = os.path.join(serving, relative)
        if tf.io.gfile.exists(path):
            size = tf.io.gfile.stat(path).length
            rows.append((relative, f"{size / 1024:.0f} KiB" if size >= 10240 else f"{size} bytes"))
    return rows


def _count(name: str, value: float):
    """Example counts as integers; rates as they are."""
    return int(value) if name == "example_count" and value == value else value


def _training_decisions(facts: Dict[str, Any]) -> List[str]:
    """What the Trainer decided beyond the settings: tuned hyperparameters, the horizontal-flip decision."""
    blocks = []
    record = facts.get("hyperparameters") or {}
    tuned = record.get("applied") or {}
    if tuned:
        blocks.append(f"Hyperparameters from {record.get('source') or 'the Tuner'}: "
                      + ", ".join(f"{k} = {v}" for k, v in sorted(tuned.items())) + ".")
    elif facts.get("hyperparameters") is not None:
        blocks.append("Hyperparameters: not tuned (the settings above).")
    flips = (facts.get("augmentation") or {}).get("flips")
    if flips:
        blocks.append(f"Horizontal flips {'on' if flips.get('flips') else 'off'} "
                      f"({flips.get('decided_by')}: {flips.get('reason')}).")
    return blocks


def build_sections(config: CardConfig, facts: Dict[str, Any]) -> List[Section]:
    """The card: details, data, training, evaluation, blessing, limitations — from ``facts`` only."""
    task, classes = config.task, config.class_names
    report, metrics, per_class = facts["validation"], facts["metrics"], facts["per_class"]
    settings = config.settings
    details = Section("Model details", [pairs([
        ("task", task),
        ("classes", f"{len(classes)}: {', '.join(classes)}"),
        ("backbone", settings.get("backbone", "?")),
        ("input", f"{settings.get('image_size', '?')}×{settings.get('image_size', '?')} RGB, resized by "
                  f"'{settings.get('resize_policy', 'squash')}' from any encoded image"),
        ("serving signature", "serving_default: raw encoded image bytes in; " + tasks.get(task).serving_outputs),
        ("pipeline", config.pipeline_name),
        ("trained model", facts["model_uri"]),
    ]), Table(["file", "size"], [list(row) for row in facts["files"]])])

    splits = report.get("splits", {})
    data_rows = [[split, s.get("input", s.get("good", 0) + s.get("quarantined", 0)), s.get("good", 0),
                  s.get("quarantined", 0)] for split, s in sorted(splits.items())]
    data = Section("Data", [f"Source: {config.data_source or 'not recorded'}.",
                            Table(["split", "examples", "used", "quarantined"], data_rows)])
    reasons: Dict[str, int] = {}
    for s in splits.values():
        for reason, count in s.get("reasons", {}).items():
            reasons[reason] = reasons.get(reason, 0) + count
    if reasons:
        data.blocks.append(Bullets([f"{count} quarantined: {reason}"
                                    for reason, count in sorted(reasons.items(), key=lambda kv: -kv[1])]))
    class_rows = []
    for index, name in enumerate(classes):
        counts = [splits.get(split, {}).get("class_counts", {}) for split in sorted(splits)]
        values = [c.get(name, c.get(str(index))) for c in counts]
        if any(v is not None for v in values):
            class_rows.append([name] + ["-" if v is None else v for v in values])
    if class_rows:
        data.blocks.append(Table(["class"] + sorted(splits), class_rows))
    roles = facts["training_splits"]
    if roles:
        data.blocks.append(f"Training used {roles.get('train', '?')} examples and held out "
                           f"{roles.get('validation', '?')} of the train split to pick the best epoch; the "
                           f"Evaluator judged the model on the eval split only.")
    issues = facts["label_issues"]
    if issues and not issues.get("skipped"):
        data.blocks.append(f"Label check: {issues.get('suspects')} of {issues.get('examples')} examples "
                           f"({100 * float(issues.get('share', 0)):.1f}%) look mislabelled (label_issues.csv of "
                           f"the run).")

    training = Section("Training configuration", [pairs(sorted((k, v if isinstance(v, str) else json.dumps(v))
                                                                 for k, v in settings.items()))])
    training.blocks.extend(_training_decisions(facts))

    evaluation = Section("Evaluation (eval split)", [
        Table(["metric", "value"], [[k, _count(k, v)] for k, v in sorted(metrics.items()) if "/" not in k])])
    if per_class:
        columns = sorted({k for values in per_class.values() for k in values})
        evaluation.blocks.append(Table(["class"] + columns,
                                       [[name] + [_count(c, values.get(c, float("nan"))) for c in columns]
                                        for name, values in sorted(per_class.items())]))
    per_class_overall = {k: v for k, v in metrics.items() if "/" in k}
    if per_class_overall:
        evaluation.blocks.append(Table(["per-class metric", "value"], sorted(per_class_overall.items())))
    for model, values in sorted(facts["tflite"].items()):
        evaluation.blocks.append(Table([f"TFLite {model}", "value", "SavedModel"],
                                       [[k, _count(k, v), _count(k, metrics.get(k, float("nan")))]
                                        for k, v in sorted(values.items()) if "/" not in k]))

    blessing = Section("Blessing", [
        "BLESSED: the Pusher publishes it for serving." if facts["blessed"] else
        "NOT blessed: this model is not pushed.",
        Bullets([f"rule: {rule}" for rule in facts["rule"]] + [f"failed: {check}" for check in facts["failed"]]
                + [f"baseline: {facts['baseline'] or 'none (the first model of this lineage)'}"]),
    ])

    return [details, data, training, evaluation, blessing, Section("Known limitations",
                                                                     [Bullets(limitations(config, facts))])]


def limitations(config: CardConfig, facts: Dict[str, Any]) -> List[str]:
    """What a user of this model should know, each derived from a figure of this run."""
    found = []
    metrics, per_class, report = facts["metrics"], facts["per_class"], facts["validation"]
    count = int(metrics.get("example_count", 0) or 0)
    if count:
        found.append(f"Judged on {count} eval examples: one example moves an overall rate by "
                     f"{1 / count:.3f}.")
    few = sorted(name for name, values in per_class.items()
                 if 0 < values.get("example_count", FEW_EVAL_EXAMPLES) < FEW_EVAL_EXAMPLES)
    if few:
        found.append(f"Per-class figures rest on fewer than {FEW_EVAL_EXAMPLES} eval examples for: "
                     + ", ".join(few) + ".")
    per_class_metric = tasks.get(config.task).per_class_metric
    weakest = [(v, k.split("/", 1)[1]) for k, v in metrics.items() if k.startswith(per_class_metric + "/") and v == v]
    if weakest and min(weakest)[0] < 1.0:
        value, name = min(weakest)
        found.append(f"Weakest class: {name} ({per_class_metric} {value:.3f}).")
    if report.get("quarantined"):
        found.append(f"{report['quarantined']} of {report.get('total')} input files were quarantined (unreadable, "
                     "duplicate, too small, …) and neither trained nor evaluated on.")
    issues = facts["label_issues"]
    if issues.get("suspects"):
        found.append(f"{issues['suspects']} training/eval labels look wrong and were kept as given.")
    policy = config.settings.get("resize_policy", "squash")
    found.append("Images are stretched to a square ('squash'): shapes in very wide or tall photos are distorted."
                 if policy == "squash" else
                 "Only the centred square of each image is seen ('crop'): objects near the ends of long photos "
                 "are missed.")
    for model, values in sorted(facts["tflite"].items()):
        for name, value in values.items():
            saved = metrics.get(name)
            if "/" not in name and name != "example_count" and saved is not None and value < saved - 0.005:
                found.append(f"TFLite {model}: {name} {value:.4f}, {saved - value:.4f} below the SavedModel.")
    found.append(f"Only evaluated on data from {config.data_source or 'the training source'}; other cameras, "
                 "lighting or image domains were not measured.")
    return found


class Executor(base_executor.BaseExecutor):
    """Writes ``model_card.md`` and ``model_card.html`` into the ModelCard artifact."""

    def Do(self, input_dict, output_dict, exec_properties) -> None:
        config = CardConfig.from_json(exec_properties[spec.CONFIG_KEY])
        evaluation_uri = _uri(input_dict, spec.EVALUATION_KEY)
        metrics, per_class = read_evaluation(evaluation_uri, config.label_key, config.class_names)
        blessing = artifact_utils.get_single_instance(input_dict[spec.BLESSING_KEY])
        blessed = bool(blessing.get_int_custom_property("blessed"))
        baseline = blessing.get_string_custom_property("baseline_model") or None
        tflite_uri = _uri(input_dict, spec.TFLITE_EVALUATION_KEY)
        model_uri = _uri(input_dict, spec.MODEL_KEY)
        facts = {
            "model_uri": model_uri,
            "files": _model_files(model_uri),
            "validation": _json(_uri(input_dict, spec.VALIDATION_REPORT_KEY), REPORT_FILENAME),
            "training_splits": _json(_uri(input_dict, spec.MODEL_RUN_KEY), names.TRAINING_SPLITS_FILENAME),
            "hyperparameters": _json(_uri(input_dict, spec.MODEL_RUN_KEY), names.HYPERPARAMETERS_FILENAME),
            "augmentation": _json(_uri(input_dict, spec.MODEL_RUN_KEY), names.AUGMENTATION_FILENAME),
            "label_issues": _json(_uri(input_dict, spec.LABEL_ISSUES_KEY), LABEL_ISSUES_SUMMARY),
            "metrics": metrics,
            "per_class": per_class,
            "tflite": read_tflite_metrics(tflite_uri) if tflite_uri else {},
            "blessed": blessed,
            "rule": blessing_rule(evaluation_uri),
            "failed": [] if blessed else read_failed_checks(evaluation_uri, baseline),
            "baseline": baseline,
        }
        title = f"Model card — {config.pipeline_name} ({config.task})"
        sections = build_sections(config, facts)
        out = artifact_utils.get_single_uri(output_dict[spec.MODEL_CARD_KEY])
        tf.io.gfile.makedirs(out)
        for filename, text in ((spec.MARKDOWN_FILENAME, to_markdown(title, sections)),
                               (spec.HTML_FILENAME, to_html(title, sections))):
            with tf.io.gfile.GFile(os.path.join(out, filename), "w") as handle:
                handle.write(text)
        logging.info("model card written to %s", os.path.join(out, spec.MARKDOWN_FILENAME))
