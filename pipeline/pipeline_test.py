"""The pipeline definition: components, wiring, curated schema import."""

from pathlib import Path

import pytest

from pipeline import data_source
from pipeline.configs import PipelineConfig
from pipeline.pipeline import create_components
from tests.image_fixtures import write_class_folders
from trainer.task_config import TrainerConfig


def _ids(components):
    return [c.id for c in components]


def test_embedded_default_imports_the_curated_schema(tmp_path):
    config = PipelineConfig(output_dir=str(tmp_path))
    components = create_components(config, data_source.resolve(config, log=lambda *_: None))
    assert "ImportSchemaGen" in _ids(components) and "SchemaGen" not in _ids(components)
    schema_gen = next(c for c in components if c.id == "ImportSchemaGen")
    assert Path(schema_gen.exec_properties["schema_file"]).parts[-3:] == ("schema", "classification", "schema.pbtxt")


def test_user_data_infers_a_schema_and_validated_examples_feed_training(tmp_path):
    images = write_class_folders(tmp_path / "imgs", per_class=3)
    config = PipelineConfig(data=str(images), output_dir=str(tmp_path / "out"))
    components = {c.id: c for c in create_components(config, data_source.resolve(config, log=lambda *_: None))}
    assert "SchemaGen" in components
    validated = components["ImageValidator"].outputs["validated_examples"]
    for consumer in ("StatisticsGen", "Transform", "Evaluator"):
        assert components[consumer].inputs["examples"] is validated


def test_explicit_missing_schema_is_a_clear_error(tmp_path):
    config = PipelineConfig(schema_file=str(tmp_path / "nope.pbtxt"), output_dir=str(tmp_path))
    with pytest.raises(FileNotFoundError, match="--schema .*nope.pbtxt: no such file"):
        config.resolve_schema_file()


def test_segmentation_default_has_its_own_curated_schema(tmp_path):
    config = PipelineConfig(trainer=TrainerConfig(task="segmentation"), output_dir=str(tmp_path))
    assert config.resolve_schema_file().endswith("schema/segmentation/schema.pbtxt")


def test_transform_waits_for_the_anomaly_gate(tmp_path):
    config = PipelineConfig(output_dir=str(tmp_path), block_anomalies="all")
    components = {c.id: c for c in create_components(config, data_source.resolve(config, log=lambda *_: None))}
    assert components["AnomalyGate"] in components["Transform"].upstream_nodes
    assert components["AnomalyGate"].exec_properties["policy"] == "all"
    assert components["AnomalyGate"].exec_properties["model_features"] == '["image", "label"]'
