"""The TFX cache with real components: a changed validator or schema reruns what it affects, nothing else.

Runs the data components only (ImportExampleGen .. ExampleValidator), so it takes seconds, not minutes.
"""

from pathlib import Path

import pytest
from tfx import v1 as tfx

from ingest import embedded, source
from ingest.config import DataConfig
from pipeline.configs import DataQualityConfig, PipelineConfig, RunConfig
from pipeline.pipeline import create_components
from reporting import mlmd

ROOT = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.e2e

DATA_COMPONENTS = ("ImportExampleGen", "ImportSchemaGen", "ImageValidator", "StatisticsGen", "ExampleValidator")


def _run(root, images, schema, validator_version=None):
    config = PipelineConfig(data=DataConfig(path=str(images)), quality=DataQualityConfig(schema_file=str(schema)),
                            run=RunConfig(output_dir=str(root / "outputs")))
    if validator_version:
        config.code_versions["ImageValidator"] = validator_version  # what editing checks.py does
    data = source.resolve(config.task, config.data, config.prepared_data_dir, log=lambda *_: None)
    config.trainer.class_names = data.class_names
    components = [c for c in create_components(config, data) if c.id in DATA_COMPONENTS]
    metadata = str(root / "metadata.sqlite")
    tfx.orchestration.LocalDagRunner().run(tfx.dsl.Pipeline(
        pipeline_name="cache-check", pipeline_root=str(root / "pipeline_root"), components=components,
        enable_cache=True, metadata_connection_config=tfx.orchestration.metadata.sqlite_metadata_connection_config(
            metadata), beam_pipeline_args=config.beam_pipeline_args()))
    _, nodes = mlmd.run_nodes(metadata, "cache-check")
    return {node: nodes[node].state for node in DATA_COMPONENTS}


def test_validator_code_and_schema_content_invalidate_exactly_their_part(tmp_path):
    images = embedded.write_digits_pngs(tmp_path / "digits", limit_per_class=8)
    schema = tmp_path / "schema.pbtxt"
    schema.write_text((ROOT / "schema" / "classification" / "schema.pbtxt").read_text())
    first = _run(tmp_path, images, schema)
    assert set(first.values()) == {"COMPLETE"}
    assert set(_run(tmp_path, images, schema).values()) == {"CACHED"}

    after_check_edit = _run(tmp_path, images, schema, validator_version="edited-check")
    assert after_check_edit == {"ImportExampleGen": "CACHED", "ImportSchemaGen": "CACHED",
                                "ImageValidator": "COMPLETE", "StatisticsGen": "COMPLETE",
                                "ExampleValidator": "COMPLETE"}

    schema.write_text(schema.read_text() + "\n# curated by hand\n")
    after_schema_edit = _run(tmp_path, images, schema, validator_version="edited-check")
    assert after_schema_edit == {"ImportExampleGen": "CACHED", "ImportSchemaGen": "COMPLETE",
                                 "ImageValidator": "CACHED", "StatisticsGen": "CACHED",
                                 "ExampleValidator": "COMPLETE"}
