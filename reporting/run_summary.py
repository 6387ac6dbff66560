"""The summary at the end of a run, read from ML Metadata (see :mod:`reporting.mlmd`)."""

from __future__ import annotations

import dataclasses
import json
import os
from typing import Dict, List, Optional

from common import names
from components.checked_evaluator.results import read_evaluation, read_failed_checks
from reporting import mlmd

@dataclasses.dataclass
class ComponentRun:
    node_id: str
    state: str  # COMPLETE, CACHED, FAILED, ...
    wall_seconds: Optional[float]
    outputs: Dict[str, List[str]]  # output key -> artifact URIs


@dataclasses.dataclass
class RunSummary:
    pipeline_name: str
    run_id: str
    components: List[ComponentRun]
    metrics: Dict[str, float]
    per_class_metrics: Dict[str, Dict[str, float]]
    blessed: Optional[bool]
    pushed_model: Optional[str]
    reports: Dict[str, str]
    #: ImageValidator counts: total / good / quarantined / reasons (empty if it did not run).
    validation: Dict[str, object] = dataclasses.field(default_factory=dict)
    #: Examples per role: train (fitted), validation (carved from train, picks the epoch), eval (blessing).
    examples: Dict[str, int] = dataclasses.field(default_factory=dict)
    #: LabelInspector: suspects, examples, share, action (empty if it did not run).
    label_issues: Dict[str, object] = dataclasses.field(default_factory=dict)
    #: Training images per second of each phase ("head", "fine_tune" or "train"), input waits included.
    training_speed: Dict[str, float] = dataclasses.field(default_factory=dict)
    #: Steps each phase trained, planned (--train-steps split by phase) and on stored backbone features.
    training_steps: Dict[str, Dict[str, object]] = dataclasses.field(default_factory=dict)
    #: TfliteEvaluator: overall metrics of each TFLite file ("tflite", "tflite_int8"), same eval split.
    tflite_metrics: Dict[str, Dict[str, float]] = dataclasses.field(default_factory=dict)
    #: Each failed blessing check in words, e.g. "mean_iou 0.6300 < 0.7000" (empty when blessed).
    failed_checks: List[str] = dataclasses.field(default_factory=list)
    #: The model the candidate was compared with ("model 7: <uri>"), or None for a first model.
    baseline: Optional[str] = None
    #: Files the data preparation could not use, each ``{"files": [...], "reason": ...}`` (manifest.json).
    left_out: List[Dict[str, object]] = dataclasses.field(default_factory=list)
    #: The Trainer's augmentation in words and its horizontal-flip decision (``flips``: flips, decided_by,
    #: reason, and the validation accuracies behind a decision from the data); empty if not recorded.
    augmentation: Dict[str, object] = dataclasses.field(default_factory=dict)
    #: Pretrained classifiers: the linear probe on the frozen backbone against the trained model, on the
    #: validation split, and which one was kept (empty otherwise).
    linear_probe: Dict[str, object] = dataclasses.field(default_factory=dict)
    #: ``--tune``: every completed trial (best first: trial_id, score, values) and the values the Trainer used.
    tuning: Dict[str, object] = dataclasses.field(default_factory=dict)
    #: The hyperparameters the Trainer applied and where they came from (hyperparameters.json).
    hyperparameters: Dict[str, object] = dataclasses.field(default_factory=dict)

    @property
    def all_cached(self) -> bool:
        return all(c.state == "CACHED" for c in self.components if c.node_id != names.BASELINE_RESOLVER)

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self), indent=2, sort_keys=True)


def build_summary(metadata_path: str, pipeline_name: str, label_key: str, class_names: List[str],
                  wall_seconds: Dict[str, float], component_order: List[str]) -> RunSummary:
    run_id, nodes = mlmd.run_nodes(metadata_path, pipeline_name)
    components = []
    for node_id in component_order:
        if node_id not in nodes:
            components.append(ComponentRun(node_id, "NOT_RUN", wall_seconds.get(node_id), {}))
            continue
        node = nodes[node_id]
        components.append(ComponentRun(node_id, node.state, wall_seconds.get(node_id),
                                       {k: [a.uri for a in v] for k, v in node.outputs.items()}))
    metrics, per_class, blessed, pushed = {}, {}, None, None
    evaluator = nodes.get(names.EVALUATOR)
    if evaluator is not None:
        if evaluator.outputs.get("evaluation"):
            metrics, per_class = read_evaluation(evaluator.uri("evaluation"), label_key, class_names)
        if evaluator.outputs.get("blessing"):
            blessed = bool(mlmd.custom_property(evaluator.outputs["blessing"][0], "blessed"))
    pusher = nodes.get(names.PUSHER)
    if pusher is not None:
        for artifact in pusher.outputs.get("pushed_model", []):
            if mlmd.custom_property(artifact, "pushed"):
                pushed = mlmd.custom_property(artifact, "pushed_destination")
    summary = RunSummary(pipeline_name, run_id, components, metrics, per_class, blessed, pushed, {})
    if names.IMAGE_VALIDATOR in nodes:
        summary.validation = read_validation(nodes[names.IMAGE_VALIDATOR].outputs)
    summary.examples = read_example_counts(nodes, summary.validation)
    summary.training_speed = read_training_speed(nodes)
    summary.training_steps = read_training_steps(nodes)
    summary.label_issues = read_label_issues(nodes)
    summary.tflite_metrics = read_tflite_evaluation(nodes)
    summary.left_out = read_left_out(nodes)
    summary.augmentation = read_trainer_record(nodes, names.AUGMENTATION_FILENAME)
    summary.linear_probe = read_trainer_record(nodes, names.LINEAR_PROBE_FILENAME)
    summary.tuning = read_tuning(nodes)
    summary.hyperparameters = read_trainer_record(nodes, names.HYPERPARAMETERS_FILENAME)
    # The Evaluator records the baseline it compared with on its blessing (ML Metadata keeps no output
    # events for resolver nodes, so the resolver itself cannot tell).
    blessing = evaluator.outputs.get("blessing", []) if evaluator is not None else []
    baseline_uri = mlmd.custom_property(blessing[0], "baseline_model") if blessing else None
    if baseline_uri:
        summary.baseline = f"model {mlmd.custom_property(blessing[0], 'baseline_model_id')}: {baseline_uri}"
    if evaluator is not None and evaluator.outputs.get("evaluation") and blessed is False:
        summary.failed_checks = read_failed_checks(evaluator.uri("evaluation"), summary.baseline)
    if summary.validation:
        # Every run, blessed or not: a data engineer looks up a file's verdict whatever the model did.
        from components.image_validator.spec import ROWS_FILENAME

        rows = os.path.join(os.path.dirname(summary.validation["path"]), ROWS_FILENAME)
        if os.path.isfile(rows):
            summary.reports["Image validation (JSON Lines, every file and its verdict)"] = rows
    return summary


def _output_json(nodes: Dict[str, mlmd.NodeRun], node_id: str, key: str, filename: str) -> Dict:
    """A JSON file inside a node's output artifact ({} when the node, the output or the file is absent)."""
    node = nodes.get(node_id)
    uri = node.uri(key) if node and node.outputs.get(key) else None
    path = os.path.join(uri, filename) if uri else None
    if not (path and os.path.isfile(path)):
        return {}
    with open(path, encoding="utf-8") as handle:
        return json.load(handle)


def read_trainer_record(nodes: Dict[str, mlmd.NodeRun], filename: str) -> Dict:
    """A JSON record of the Trainer's model_run artifact (augmentation, linear probe, hyperparameters); {}."""
    return _output_json(nodes, names.TRAINER, "model_run", filename)


def read_tuning(nodes: Dict[str, mlmd.NodeRun]) -> Dict[str, object]:
    """The Tuner's trials (TFX writes them best first) and the values the Trainer trained with; {} without."""
    trials = _output_json(nodes, names.TUNER, "tuner_results", names.TUNER_RESULTS_FILENAME)
    if not trials:
        return {}
    used = read_trainer_record(nodes, names.HYPERPARAMETERS_FILENAME)
    return {"trials": trials, "trainer_values": used.get("values", {})}


def format_tuning(tuning: Dict[str, object]) -> str:
    """``Tuning: N trials; best S (values) against S0 for the defaults (the first trial); ...``."""
    trials = list(tuning["trials"])
    best = trials[0]
    defaults = min(trials, key=lambda t: int(t["trial_id"]))
    values = lambda t: ", ".join(f"{k} {v}" for k, v in sorted(t.items()) if k not in ("trial_id", "score"))  # noqa: E731
    line = f"Tuning: {len(trials)} trials scored on the validation split; "
    if best is defaults:
        line += f"the defaults scored best ({best['score']:.4f}: {values(best)})"
    else:
        line += (f"best {best['score']:.4f} (trial {best['trial_id']}: {values(best)}) against "
                 f"{defaults['score']:.4f} for the defaults (trial {defaults['trial_id']})")
    trained = tuning.get("trainer_values") or {}
    return line + (f"; the Trainer trained with {', '.join(f'{k} {v}' for k, v in sorted(trained.items()))}"
                   if trained else "")


def read_example_counts(nodes: Dict[str, mlmd.NodeRun], validation: Dict[str, object]) -> Dict[str, int]:
    """train / validation from the Trainer's model_run artifact, eval from the ImageValidator's good count."""
    recorded = _output_json(nodes, names.TRAINER, "model_run", names.TRAINING_SPLITS_FILENAME)
    counts = {role: int(recorded[role]) for role in ("train", "validation") if role in recorded}
    good = validation.get("split_good", {}) if validation else {}
    if names.EVAL_SPLIT in good:
        counts["eval"] = int(good[names.EVAL_SPLIT])
    return counts


def read_label_issues(nodes: Dict[str, mlmd.NodeRun]) -> Dict[str, object]:
    """The LabelInspector's counts and decision (empty when it did not run)."""
    from components.label_inspector.spec import SUMMARY_FILENAME

    recorded = _output_json(nodes, names.LABEL_INSPECTOR, "label_issues", SUMMARY_FILENAME)
    return {k: recorded[k] for k in ("suspects", "examples", "share", "action", "skipped") if k in recorded}


def read_tflite_evaluation(nodes: Dict[str, mlmd.NodeRun]) -> Dict[str, Dict[str, float]]:
    """The TfliteEvaluator's overall metrics per TFLite file (empty when it did not run)."""
    from components.tflite_evaluator.results import read_tflite_metrics

    node = nodes.get(names.TFLITE_EVALUATOR)
    if node is None or not node.outputs.get("evaluation"):
        return {}
    return read_tflite_metrics(node.uri("evaluation"))


def format_tflite_metrics(summary: RunSummary) -> List[str]:
    """One line per TFLite file: each metric beside the SavedModel's value on the same eval split."""
    files = {names.TFLITE_FLOAT_MODEL: "model.tflite (float)", names.TFLITE_INT8_MODEL: "model_int8.tflite (int8)"}
    lines = []
    for model, metrics in sorted(summary.tflite_metrics.items()):
        shown = []
        for name, value in sorted(metrics.items()):
            if name == "example_count" or "/" in name:
                continue
            saved = summary.metrics.get(name)
            versus = f" (SavedModel {saved:.4f}, {value - saved:+.4f})" if saved is not None else ""
            shown.append(f"{name} {value:.4f}{versus}")
        lines.append(f"  {files.get(model, model):<28} " + ", ".join(shown))
    return lines


def read_training_speed(nodes: Dict[str, mlmd.NodeRun]) -> Dict[str, float]:
    """Images per second of each training phase, from the Trainer's model_run artifact (empty if absent)."""
    phases = _output_json(nodes, names.TRAINER, "model_run", names.TRAINING_SPEED_FILENAME).get("phases", {})
    return {name: p["images_per_second"] for name, p in phases.items() if p.get("images_per_second")}


def _undefined(name: str, metrics: Dict[str, float]) -> str:
    """Why a per-class metric has no value: precision has no predictions of the class to divide by,
    recall no eval examples of it (its recall is then undefined too, so only that case is "absent")."""
    metric, _, class_name = name.partition("/")
    recall = metrics.get(f"recall/{class_name}")
    if metric == "recall" or (class_name and recall is not None and recall != recall):
        return "n/a (no eval examples of this class)"
    if metric == "precision":
        return "n/a (the model never predicted this class)"
    return "n/a"


def read_training_steps(nodes: Dict[str, mlmd.NodeRun]) -> Dict[str, Dict[str, object]]:
    """``{phase: {"steps", "planned_steps", "stored_features"}}`` from the Trainer's model_run artifact."""
    phases = _output_json(nodes, names.TRAINER, "model_run", names.TRAINING_SPEED_FILENAME).get("phases", {})
    return {name: {"steps": p["steps"], "planned_steps": p.get("planned_steps", p["steps"]),
                   "stored_features": bool(p.get("stored_features"))} for name, p in phases.items()}


def format_training_steps(phases: Dict[str, Dict[str, object]]) -> str:
    """``Training: 160 steps (head 120 on backbone features computed once, fine_tune 40)``; early stops named."""
    done = sum(int(p["steps"]) for p in phases.values())
    planned = sum(int(p["planned_steps"]) for p in phases.values())
    parts = []
    for name, p in phases.items():
        part = f"{name} {p['steps']}"
        if p["steps"] != p["planned_steps"]:
            part += f" of {p['planned_steps']} (early stopping: validation loss stopped improving)"
        if p["stored_features"]:
            part += " on backbone features computed once"
        parts.append(part)
    total = f"{done} steps" if done == planned else f"{done} of {planned} steps"
    return f"Training: {total} ({', '.join(parts)})"


def load_validation_report(outputs: Dict[str, list], digest: bool = True) -> tuple:
    """(path, parsed JSON) of the ImageValidator's report artifact, with ``digest`` (per-split counters of
    the good images and the quarantined rows, components/image_validator/report.py) unless told not;
    (None, {}) when there is none."""
    from components.image_validator.report import load_digest, load_report
    from components.image_validator.spec import REPORT_FILENAME

    reports = outputs.get("report", [])
    if not reports:
        return None, {}
    try:
        report = load_report(reports[0].uri, with_rows=False)
        if digest:
            report["digest"] = load_digest(reports[0].uri)
        return f"{reports[0].uri}/{REPORT_FILENAME}", report
    except OSError:
        return None, {}


def read_manifest(nodes: Dict[str, mlmd.NodeRun]) -> Dict[str, object]:
    """The data preparation's manifest, beside the data ImportExampleGen read ({} when there is none).

    The preparation runs before TFX; its manifest travels with the prepared folder, so any recorded run
    (the summary now, the report later) can still say which files never became examples and why.
    """
    node = nodes.get(names.IMPORT_EXAMPLE_GEN)
    base = mlmd.custom_property(node.execution, "input_base") if node is not None else None
    if not base:
        return {}
    import tensorflow as tf

    path = f"{str(base).rstrip('/')}/{names.MANIFEST_FILENAME}"
    try:
        with tf.io.gfile.GFile(path) as handle:
            return json.load(handle)
    except (tf.errors.NotFoundError, ValueError):
        return {}  # TFRecords of the user's own: nothing was prepared, nothing left out here


def read_left_out(nodes: Dict[str, mlmd.NodeRun]) -> List[Dict[str, object]]:
    """The files the data preparation refused, each with its reason."""
    return list(read_manifest(nodes).get("rejected", []))


def unused_sources(manifest: Dict[str, object]) -> Dict[str, int]:
    """Held-out split folders (or manifest split values) that were not chosen as eval: source -> images."""
    layout = manifest.get("layout") or {}
    return dict(layout.get("unused") or {}) if isinstance(layout, dict) else {}


def format_left_out(left_out: List[Dict[str, object]], shown: int = 10) -> List[str]:
    """Console lines: the count by reason, then the first files."""
    if not left_out:
        return []
    reasons: Dict[str, int] = {}
    for item in left_out:
        reasons[str(item["reason"])] = reasons.get(str(item["reason"]), 0) + 1
    lines = [f"Left out by data preparation: {len(left_out)} file(s), never examples: "
             + "; ".join(f"{count} {reason}" for reason, count in sorted(reasons.items(), key=lambda kv: -kv[1]))]
    lines += [f"  {' + '.join(item['files'])}: {item['reason']}" for item in left_out[:shown]]
    if len(left_out) > shown:
        lines.append(f"  ... {len(left_out) - shown} more in the data report")
    return lines


def read_validation(outputs: Dict[str, list]) -> Dict[str, object]:
    """Counts and reasons from the ImageValidator's report artifact."""
    path, report = load_validation_report(outputs, digest=False)
    if not report:
        return {}
    reasons: Dict[str, int] = {}
    for split in report["splits"].values():
        for reason, count in split["reasons"].items():
            reasons[reason] = reasons.get(reason, 0) + count
    return {"path": path, "total": report["total"], "good": report["good"],
            "quarantined": report["quarantined"], "reasons": reasons, "warnings": report["warnings"],
            "split_good": {split: values["good"] for split, values in report["splits"].items()}}


def _score(value) -> str:
    return "n/a" if value is None else f"{float(value):.3f}"


def format_augmentation(recorded: Dict[str, object]) -> str:
    """``Augmentation: <in force>; horizontal flips on|off (<who>: <why>)``."""
    flips = recorded.get("flips") or {}
    decision = (f"horizontal flips {'on' if flips.get('flips') else 'off'} ({flips.get('decided_by')}: "
                f"{flips.get('reason')})") if flips else "horizontal flips not recorded"
    return f"Augmentation: {recorded.get('augmentation', '?')}; {decision}"


def format_summary(summary: RunSummary, total_seconds: float) -> str:
    lines = ["", f"Pipeline {summary.pipeline_name} — run {summary.run_id}", ""]
    lines.append(f"  {'component':<32} {'state':<9} {'wall time':>10}")
    for c in summary.components:
        wall = f"{c.wall_seconds:.1f} s" if c.wall_seconds is not None else "-"
        lines.append(f"  {c.node_id:<32} {c.state:<9} {wall:>10}")
    lines.append(f"  {'total':<32} {'':<9} {total_seconds:.1f} s".rstrip())
    if summary.all_cached:
        lines.append("  Nothing changed since the last run: every component was served from the cache.")
    if summary.validation:
        v = summary.validation
        lines.append("")
        lines.append(f"Image validation: {v['total']} examples, {v['good']} good, {v['quarantined']} quarantined")
        for reason, count in sorted(v["reasons"].items(), key=lambda kv: -kv[1]):
            lines.append(f"  {count:>6}  {reason}")
        for warning in v["warnings"]:
            lines.append(f"  warning: {warning}")
    lines.extend(format_left_out(summary.left_out))
    if summary.metrics:
        lines.append("")
        lines.append("Evaluation (eval split):")
        for name in sorted(summary.metrics, key=lambda k: ("/" in k, k)):
            value = summary.metrics[name]
            shown = _undefined(name, summary.metrics) if value != value else f"{value:.4f}"
            lines.append(f"  {name:<40} {shown}")
    if summary.tflite_metrics:
        lines.append("TFLite files (same eval split, TFMA):")
        lines.extend(format_tflite_metrics(summary))
    if summary.examples:
        lines.append("")
        roles = {"train": "fitted", "validation": "carved from train; picks the best epoch",
                 "eval": "held out; the Evaluator blesses on it"}
        lines.append("Examples: " + ", ".join(f"{role} {summary.examples[role]} ({roles[role]})"
                                             for role in roles if role in summary.examples))
    if summary.label_issues:
        issues = summary.label_issues
        if issues.get("skipped"):
            lines.append(f"Label issues: not checked ({issues['skipped']})")
        else:
            lines.append(f"Label issues: {issues['suspects']} of {issues['examples']} examples "
                         f"({100 * float(issues['share']):.1f}%) look mislabelled; see label_issues.csv "
                         f"({'the run stops above --max-label-issue-share' if issues['action'] == 'stop' else 'warning only'})")
    if summary.tuning:
        lines.append(format_tuning(summary.tuning))
    elif summary.hyperparameters.get("applied"):
        applied = summary.hyperparameters["applied"]
        lines.append(f"Hyperparameters from {summary.hyperparameters.get('source')}: "
                     + ", ".join(f"{k} {v}" for k, v in sorted(applied.items())))
    if summary.augmentation:
        lines.append(format_augmentation(summary.augmentation))
    if summary.linear_probe:
        probe = summary.linear_probe
        lines.append(f"Linear probe on the frozen backbone: validation accuracy "
                     f"{_score(probe.get('probe_validation_accuracy'))}, the trained model "
                     f"{_score(probe.get('trained_validation_accuracy'))}; kept the {probe.get('kept')} model")
    if summary.training_steps:
        lines.append(format_training_steps(summary.training_steps))
    if summary.training_speed:
        lines.append("Training speed: " + ", ".join(f"{phase} {rate:.0f} images/s"
                                                    for phase, rate in summary.training_speed.items()))
    lines.append("")
    lines.append(f"Baseline: {summary.baseline or 'none (first model of this pipeline: absolute thresholds only)'}")
    if summary.blessed is None:
        lines.append("Model: not evaluated")
    elif summary.blessed:
        lines.append("Model: BLESSED")
    else:
        lines.append("Model: NOT blessed — " + ("; ".join(summary.failed_checks) or "see the evaluation"))
    lines.append(f"Pushed model: {summary.pushed_model or 'none (only blessed models are pushed)'}")
    for name, path in sorted(summary.reports.items()):
        lines.append(f"{name}: {path}")
    return "\n".join(lines)
