"""ML Metadata look-ups on a real SQLite store holding two pipelines, laid out as TFX 1.16 records runs."""

import pytest
from ml_metadata import metadata_store
from ml_metadata.proto import metadata_store_pb2

from reporting import mlmd


class _Store:
    """Writes contexts, executions and output events the way LocalDagRunner does."""

    def __init__(self, path):
        config = metadata_store_pb2.ConnectionConfig()
        config.sqlite.filename_uri = str(path)
        config.sqlite.connection_mode = metadata_store_pb2.SqliteMetadataSourceConfig.READWRITE_OPENCREATE
        self.store = metadata_store.MetadataStore(config)
        self.types = {name: self.store.put_context_type(metadata_store_pb2.ContextType(name=name))
                      for name in ("pipeline", "pipeline_run", "node")}
        self.execution_type = self.store.put_execution_type(metadata_store_pb2.ExecutionType(name="Component"))
        self.artifact_type = self.store.put_artifact_type(metadata_store_pb2.ArtifactType(name="Statistics"))
        self.contexts = {}

    def context(self, kind, name, parent=None):
        if (kind, name) not in self.contexts:
            [self.contexts[kind, name]] = self.store.put_contexts(
                [metadata_store_pb2.Context(type_id=self.types[kind], name=name)])
            if parent is not None:  # TFX links each run context to its pipeline context
                self.store.put_parent_contexts([metadata_store_pb2.ParentContext(
                    child_id=self.contexts[kind, name], parent_id=parent)])
        return self.contexts[kind, name]

    def execute(self, pipeline, run, node, uri):
        execution = metadata_store_pb2.Execution(type_id=self.execution_type,
                                                 last_known_state=metadata_store_pb2.Execution.COMPLETE)
        artifact = metadata_store_pb2.Artifact(type_id=self.artifact_type, uri=uri)
        event = metadata_store_pb2.Event(type=metadata_store_pb2.Event.OUTPUT)
        event.path.steps.add().key = "statistics"
        pipeline_id = self.context("pipeline", pipeline)
        ids = {"pipeline": pipeline_id, "pipeline_run": self.context("pipeline_run", run, parent=pipeline_id),
               "node": self.context("node", f"{pipeline}.{node}", parent=pipeline_id)}
        contexts = [metadata_store_pb2.Context(id=ids[kind], type_id=self.types[kind], name=name)
                    for kind, name in (("pipeline", pipeline), ("pipeline_run", run), ("node", f"{pipeline}.{node}"))]
        self.store.put_execution(execution, [(artifact, event)], contexts)


@pytest.fixture()
def two_pipelines(tmp_path):
    store = _Store(tmp_path / "metadata.sqlite")
    store.execute("image-classification", "run-1", "StatisticsGen", "/c/1")
    store.execute("image-segmentation", "run-2", "StatisticsGen", "/s/2")
    store.execute("image-classification", "run-3", "StatisticsGen", "/c/3")
    store.execute("image-segmentation", "run-4", "StatisticsGen", "/s/4")
    return str(tmp_path / "metadata.sqlite")


def test_each_pipeline_sees_only_its_own_runs(two_pipelines):
    run, nodes = mlmd.run_nodes(two_pipelines, "image-classification")
    assert run == "run-3" and nodes["StatisticsGen"].uri("statistics") == "/c/3"
    run, nodes = mlmd.run_nodes(two_pipelines, "image-segmentation")
    assert run == "run-4" and nodes["StatisticsGen"].uri("statistics") == "/s/4"


def test_previous_run_is_the_same_pipelines(two_pipelines):
    previous, nodes = mlmd.previous_run_nodes(two_pipelines, "image-segmentation", "run-4", "StatisticsGen",
                                              "statistics")
    assert previous == "run-2" and nodes["StatisticsGen"].uri("statistics") == "/s/2"
    assert mlmd.previous_run_nodes(two_pipelines, "image-classification", "run-1", "StatisticsGen",
                                   "statistics") == (None, None)


def test_unknown_run_and_missing_store_are_clear_errors(two_pipelines, tmp_path):
    with pytest.raises(LookupError, match="no run 'run-2' of 'image-classification'"):
        mlmd.run_nodes(two_pipelines, "image-classification", run_name="run-2")
    with pytest.raises(LookupError, match="no ML Metadata store at .*nowhere.sqlite: run the pipeline first"):
        mlmd.run_nodes(str(tmp_path / "nowhere.sqlite"), "image-classification")
