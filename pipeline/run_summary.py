"""Progress while the local pipeline runs, and the summary at the end.

Why read ML Metadata for the summary: it is the record TFX itself keeps, so
"cached", "blessed" and "pushed" come from the same source a Kubeflow UI or
a later audit would read — not from guesses inside this process.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import re
import sys
import time
from typing import Dict, List, Optional

from ml_metadata import metadata_store
from ml_metadata.proto import metadata_store_pb2

_RUNNING = re.compile(r"Component (\S+) is running\.")
_FINISHED = re.compile(r"Component (\S+) is finished\.")


class ProgressReporter(logging.Handler):
    """Turns LocalDagRunner's per-component log lines into progress lines and timings."""

    def __init__(self, component_ids: List[str], stream=None):
        super().__init__(level=logging.INFO)
        self.component_ids = component_ids
        self.stream = stream or sys.stdout
        self.started: Dict[str, float] = {}
        self.wall_seconds: Dict[str, float] = {}

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        match = _RUNNING.search(message)
        if match:
            node = match.group(1)
            self.started[node] = time.monotonic()
            index = self.component_ids.index(node) + 1 if node in self.component_ids else 0
            print(f"[{index}/{len(self.component_ids)}] {node} ...", file=self.stream, flush=True)
            return
        match = _FINISHED.search(message)
        if match:
            node = match.group(1)
            self.wall_seconds[node] = time.monotonic() - self.started.get(node, time.monotonic())
            print(f"      {node} done in {self.wall_seconds[node]:.1f} s", file=self.stream, flush=True)


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

    @property
    def all_cached(self) -> bool:
        return all(c.state == "CACHED" for c in self.components if c.node_id != "latest_blessed_model_resolver")

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self), indent=2, sort_keys=True)


def _store(metadata_path: str) -> metadata_store.MetadataStore:
    config = metadata_store_pb2.ConnectionConfig()
    config.sqlite.filename_uri = metadata_path
    config.sqlite.connection_mode = metadata_store_pb2.SqliteMetadataSourceConfig.READONLY
    return metadata_store.MetadataStore(config)


def latest_run_components(metadata_path: str, pipeline_name: str, run_name: Optional[str] = None) -> tuple:
    """Returns (run_id, {node_id: (execution, {output key: [artifact]})}) of the newest run (or ``run_name``)."""
    store = _store(metadata_path)
    runs = [c for c in store.get_contexts_by_type("pipeline_run")
            if c.name and _belongs_to(store, c, pipeline_name)]
    if not runs:
        raise LookupError(f"no run of pipeline {pipeline_name!r} recorded in {metadata_path}")
    if run_name is not None:
        named = [c for c in runs if c.name == run_name]
        if not named:
            raise LookupError(f"no run {run_name!r} of {pipeline_name!r}; known: {', '.join(c.name for c in runs[-5:])}")
        run = named[0]
    else:
        run = max(runs, key=lambda c: (c.create_time_since_epoch, c.id))
    run_execution_ids = {e.id for e in store.get_executions_by_context(run.id)}
    nodes = {}
    for context in store.get_contexts_by_type("node"):
        prefix = f"{pipeline_name}."
        if not context.name.startswith(prefix):
            continue
        executions = [e for e in store.get_executions_by_context(context.id) if e.id in run_execution_ids]
        if not executions:
            continue
        execution = max(executions, key=lambda e: e.id)
        events = store.get_events_by_execution_ids([execution.id])
        output_ids = {}
        for event in events:
            if event.type in (metadata_store_pb2.Event.OUTPUT, metadata_store_pb2.Event.DECLARED_OUTPUT):
                key = event.path.steps[0].key if event.path.steps else ""
                output_ids.setdefault(key, []).append(event.artifact_id)
        outputs = {key: list(store.get_artifacts_by_id(ids)) for key, ids in output_ids.items()}
        nodes[context.name[len(prefix):]] = (execution, outputs)
    return run.name, nodes


def _belongs_to(store, run_context, pipeline_name: str) -> bool:
    parents = store.get_parent_contexts_by_context(run_context.id)
    return any(p.name == pipeline_name for p in parents) or not parents


def _state_name(execution) -> str:
    return metadata_store_pb2.Execution.State.Name(execution.last_known_state)


def _custom(artifact, key: str):
    if key not in artifact.custom_properties:
        return None
    value = artifact.custom_properties[key]
    return value.int_value if value.HasField("int_value") else value.string_value


def read_evaluation(evaluation_uri: str, label_key: str, class_names: List[str]) -> tuple:
    """(overall metrics, per-class metrics) from a TFMA evaluation artifact."""
    import tensorflow_model_analysis as tfma

    result = tfma.load_eval_result(evaluation_uri)
    overall: Dict[str, float] = {}
    per_class: Dict[str, Dict[str, float]] = {}
    for slice_key, metrics in result.slicing_metrics:
        flat = {}
        for sub_key, values in metrics.get("", {}).items():
            for name, value in values.items():
                if "doubleValue" not in value:
                    continue
                match = re.match(r"classId:(\d+)", sub_key)
                flat[f"{name}/{class_names[int(match.group(1))]}" if match else name] = float(value["doubleValue"])
        if slice_key == ():
            overall.update(flat)
        elif len(slice_key) == 1 and slice_key[0][0] == label_key:
            class_id = int(slice_key[0][1])
            name = class_names[class_id] if class_id < len(class_names) else str(class_id)
            per_class[name] = {k: v for k, v in flat.items() if "/" not in k}
    return overall, per_class


def build_summary(metadata_path: str, pipeline_name: str, label_key: str, class_names: List[str],
                  wall_seconds: Dict[str, float], component_order: List[str]) -> RunSummary:
    run_id, nodes = latest_run_components(metadata_path, pipeline_name)
    components = []
    for node_id in component_order:
        if node_id not in nodes:
            components.append(ComponentRun(node_id, "NOT_RUN", wall_seconds.get(node_id), {}))
            continue
        execution, outputs = nodes[node_id]
        components.append(ComponentRun(
            node_id, _state_name(execution), wall_seconds.get(node_id),
            {k: [a.uri for a in v] for k, v in outputs.items()},
        ))
    metrics, per_class, blessed, pushed = {}, {}, None, None
    if "Evaluator" in nodes:
        _, outputs = nodes["Evaluator"]
        if outputs.get("evaluation"):
            metrics, per_class = read_evaluation(outputs["evaluation"][0].uri, label_key, class_names)
        if outputs.get("blessing"):
            blessed = bool(_custom(outputs["blessing"][0], "blessed"))
    if "Pusher" in nodes:
        _, outputs = nodes["Pusher"]
        for artifact in outputs.get("pushed_model", []):
            if _custom(artifact, "pushed"):
                pushed = _custom(artifact, "pushed_destination")
    summary = RunSummary(pipeline_name, run_id, components, metrics, per_class, blessed, pushed, {})
    if "ImageValidator" in nodes:
        summary.validation = read_validation(nodes["ImageValidator"][1])
        if summary.validation:
            summary.reports["Image validation (JSON, every quarantined file)"] = summary.validation["path"]
    return summary


def load_validation_report(outputs: Dict[str, list]) -> tuple:
    """(path, parsed JSON) of the ImageValidator's report artifact; (None, {}) when there is none."""
    from components.image_validator.executor import REPORT_FILENAME

    reports = outputs.get("report", [])
    if not reports:
        return None, {}
    path = f"{reports[0].uri}/{REPORT_FILENAME}"
    try:
        with open(path, encoding="utf-8") as handle:
            return path, json.load(handle)
    except OSError:
        return None, {}


def read_validation(outputs: Dict[str, list]) -> Dict[str, object]:
    """Counts and reasons from the ImageValidator's report artifact."""
    path, report = load_validation_report(outputs)
    if not report:
        return {}
    reasons: Dict[str, int] = {}
    for split in report["splits"].values():
        for reason, count in split["reasons"].items():
            reasons[reason] = reasons.get(reason, 0) + count
    return {"path": path, "total": report["total"], "good": report["good"],
            "quarantined": report["quarantined"], "reasons": reasons, "warnings": report["warnings"]}


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
    if summary.metrics:
        lines.append("")
        lines.append("Evaluation (eval split):")
        for name in sorted(summary.metrics, key=lambda k: ("/" in k, k)):
            value = summary.metrics[name]
            shown = "n/a (class absent)" if value != value else f"{value:.4f}"
            lines.append(f"  {name:<40} {shown}")
    lines.append("")
    if summary.blessed is None:
        lines.append("Model: not evaluated")
    else:
        lines.append(f"Model: {'BLESSED' if summary.blessed else 'NOT blessed (below threshold or worse than the last blessed model)'}")
    lines.append(f"Pushed model: {summary.pushed_model or 'none (only blessed models are pushed)'}")
    for name, path in sorted(summary.reports.items()):
        lines.append(f"{name}: {path}")
    return "\n".join(lines)
