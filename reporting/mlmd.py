"""Every ML Metadata look-up the project makes after a run, in one place.

Why read ML Metadata: it is the record TFX itself keeps, so "cached",
"blessed" and "pushed" come from the same source a Kubeflow UI or a later
audit would read, not from guesses inside the running process.

Why one module: an output folder may hold several pipelines (classification
and segmentation, or two datasets) in one ``metadata.sqlite``.  A run context
in TFX 1.16 has no parent context naming its pipeline, so every look-up here
decides membership the same way: a run belongs to pipeline P when its
executions are attributed to P's pipeline context.
"""

from __future__ import annotations

import dataclasses
import json
import os
from typing import Any, Dict, List, Optional, Tuple

from ml_metadata import metadata_store
from ml_metadata.proto import metadata_store_pb2

from common import names as node_names

_OUTPUT_EVENTS = (metadata_store_pb2.Event.OUTPUT, metadata_store_pb2.Event.DECLARED_OUTPUT)


@dataclasses.dataclass
class NodeRun:
    """One component's execution in a run and its output artifacts by output key."""

    execution: Any
    outputs: Dict[str, List[Any]]

    @property
    def state(self) -> str:
        return metadata_store_pb2.Execution.State.Name(self.execution.last_known_state)

    def uri(self, key: str) -> Optional[str]:
        """URI of the first artifact under output ``key``, or None."""
        artifacts = self.outputs.get(key) or []
        return artifacts[0].uri if artifacts else None


def open_store(metadata_path: str) -> metadata_store.MetadataStore:
    """The store at ``metadata_path``, read-only; a missing file is a clear LookupError."""
    if not os.path.isfile(metadata_path):
        raise LookupError(f"no ML Metadata store at {metadata_path}: run the pipeline first, "
                          "or pass the --output-dir it wrote to.")
    config = metadata_store_pb2.ConnectionConfig()
    config.sqlite.filename_uri = metadata_path
    config.sqlite.connection_mode = metadata_store_pb2.SqliteMetadataSourceConfig.READONLY
    return metadata_store.MetadataStore(config)


def custom_property(item, key: str):
    """An artifact's or execution's custom property (int or string), or None."""
    if key not in item.custom_properties:
        return None
    value = item.custom_properties[key]
    return value.int_value if value.HasField("int_value") else value.string_value


def custom_config(execution) -> Dict[str, Any]:
    """The JSON ``custom_config`` execution property of Transform or the Trainer ({} if absent)."""
    value = execution.custom_properties.get("custom_config")
    return json.loads(value.string_value or "{}") if value is not None else {}


def pipeline_runs(store: metadata_store.MetadataStore, pipeline_name: str) -> List[Any]:
    """Run contexts of ``pipeline_name``, oldest first."""
    pipeline = store.get_context_by_type_and_name("pipeline", pipeline_name)
    if pipeline is None:
        return []
    pipeline_executions = {e.id for e in store.get_executions_by_context(pipeline.id)}
    runs = [run for run in store.get_contexts_by_type("pipeline_run")
            if run.name and any(e.id in pipeline_executions for e in store.get_executions_by_context(run.id))]
    return sorted(runs, key=lambda c: (c.create_time_since_epoch, c.id))


def _nodes_of_run(store: metadata_store.MetadataStore, pipeline_name: str, run) -> Dict[str, NodeRun]:
    run_execution_ids = {e.id for e in store.get_executions_by_context(run.id)}
    prefix = f"{pipeline_name}."
    nodes: Dict[str, NodeRun] = {}
    for context in store.get_contexts_by_type("node"):
        if not context.name.startswith(prefix):
            continue
        executions = [e for e in store.get_executions_by_context(context.id) if e.id in run_execution_ids]
        if not executions:
            continue
        execution = max(executions, key=lambda e: e.id)
        output_ids: Dict[str, List[int]] = {}
        for event in store.get_events_by_execution_ids([execution.id]):
            if event.type in _OUTPUT_EVENTS:
                key = event.path.steps[0].key if event.path.steps else ""
                output_ids.setdefault(key, []).append(event.artifact_id)
        outputs = {key: list(store.get_artifacts_by_id(ids)) for key, ids in output_ids.items()}
        nodes[context.name[len(prefix):]] = NodeRun(execution, outputs)
    return nodes


def run_nodes(metadata_path: str, pipeline_name: str, run_name: Optional[str] = None
              ) -> Tuple[str, Dict[str, NodeRun]]:
    """(run id, {node id: NodeRun}) of the newest run of ``pipeline_name``, or of ``run_name``."""
    store = open_store(metadata_path)
    runs = pipeline_runs(store, pipeline_name)
    if not runs:
        raise LookupError(f"no run of pipeline {pipeline_name!r} recorded in {metadata_path}")
    if run_name is None:
        run = runs[-1]
    else:
        run = next((c for c in runs if c.name == run_name), None)
        if run is None:
            raise LookupError(f"no run {run_name!r} of {pipeline_name!r}; "
                              f"known: {', '.join(c.name for c in runs[-5:])}")
    return run.name, _nodes_of_run(store, pipeline_name, run)


def previous_run_nodes(metadata_path: str, pipeline_name: str, run_name: str, node_id: str, output_key: str
                       ) -> Tuple[Optional[str], Optional[Dict[str, NodeRun]]]:
    """The newest run of the same pipeline before ``run_name`` whose ``node_id`` wrote ``output_key``."""
    store = open_store(metadata_path)
    runs = pipeline_runs(store, pipeline_name)
    names = [c.name for c in runs]
    earlier = runs[:names.index(run_name)] if run_name in names else runs
    for run in reversed(earlier):
        nodes = _nodes_of_run(store, pipeline_name, run)
        if node_id in nodes and nodes[node_id].outputs.get(output_key):
            return run.name, nodes
    return None, None


def latest_blessed_model(metadata_path: str, pipeline_name: str) -> Tuple[str, str, str]:
    """(run id, the Trainer's model URI, the pushed version folder) of the newest blessed, pushed model.

    A model counts when the Evaluator of its run blessed it and the Pusher
    pushed it: a model held back before the Pusher (``--label-issues stop``)
    is not served, so it does not predict either.
    """
    store = open_store(metadata_path)
    for run in reversed(pipeline_runs(store, pipeline_name)):
        nodes = _nodes_of_run(store, pipeline_name, run)
        evaluator, trainer = nodes.get(node_names.EVALUATOR), nodes.get(node_names.TRAINER)
        blessings = evaluator.outputs.get("blessing", []) if evaluator else []
        if trainer and trainer.outputs.get("model") and blessings and custom_property(blessings[0], "blessed") == 1:
            pusher = nodes.get(node_names.PUSHER)
            pushed = pusher.outputs.get("pushed_model", []) if pusher else []
            destination = custom_property(pushed[0], "pushed_destination") if pushed else None
            if destination:  # blessed but not pushed (e.g. --label-issues stop held it back): not a candidate
                return run.name, trainer.uri("model"), destination
    raise LookupError(f"no blessed and pushed model of pipeline {pipeline_name!r} in {metadata_path}: train one first "
                      "(python local_runner.py with the same --output-dir and --task)")
