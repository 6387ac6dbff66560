"""The pipeline definition: components, wiring, curated schema import."""

from pathlib import Path

import pytest

from ingest import source
from ingest.config import DataConfig
from pipeline.configs import DataQualityConfig, PipelineConfig, RunConfig
from pipeline.pipeline import create_components
from tests.image_fixtures import write_class_folders
from trainer.config import TrainerConfig


def _components(config):
    data = source.resolve(config.task, config.data, config.prepared_data_dir, log=lambda *_: None)
    config.trainer.class_names = data.class_names
    return create_components(config, data)


def _ids(components):
    return [c.id for c in components]


def test_embedded_default_imports_the_curated_schema(tmp_path):
    config = PipelineConfig(run=RunConfig(output_dir=str(tmp_path)))
    components = _components(config)
    assert "ImportSchemaGen" in _ids(components) and "SchemaGen" not in _ids(components)
    schema_gen = next(c for c in components if c.id == "ImportSchemaGen")
    imported = Path(schema_gen.exec_properties["schema_file"])
    curated = Path(__file__).resolve().parents[1] / "schema" / "classification" / "schema.pbtxt"
    # A content-addressed copy of the curated schema: editing the schema changes the path, so the cache reruns.
    assert imported.parent.parent == tmp_path / "schemas" and imported.read_text() == curated.read_text()


def test_user_data_infers_a_schema_and_validated_examples_feed_training(tmp_path):
    images = write_class_folders(tmp_path / "imgs", per_class=3)
    config = PipelineConfig(data=DataConfig(path=str(images)), run=RunConfig(output_dir=str(tmp_path / "out")))
    components = {c.id: c for c in _components(config)}
    assert "SchemaGen" in components
    validated = components["ImageValidator"].outputs["validated_examples"]
    for consumer in ("StatisticsGen", "Transform", "Evaluator"):
        assert components[consumer].inputs["examples"] is validated


def test_explicit_missing_schema_is_a_clear_error(tmp_path):
    config = PipelineConfig(quality=DataQualityConfig(schema_file=str(tmp_path / "nope.pbtxt")))
    with pytest.raises(FileNotFoundError, match="--schema .*nope.pbtxt: no such file"):
        config.resolve_schema_file()


def test_segmentation_default_has_its_own_curated_schema(tmp_path):
    config = PipelineConfig(trainer=TrainerConfig(task="segmentation"), run=RunConfig(output_dir=str(tmp_path)))
    assert config.resolve_schema_file().endswith("schema/segmentation/schema.pbtxt")


def test_transform_waits_for_the_anomaly_gate(tmp_path):
    config = PipelineConfig(run=RunConfig(output_dir=str(tmp_path)), quality=DataQualityConfig(block_anomalies="all"))
    components = {c.id: c for c in _components(config)}
    assert components["AnomalyGate"] in components["Transform"].upstream_nodes
    assert components["AnomalyGate"].exec_properties["policy"] == "all"
    assert components["AnomalyGate"].exec_properties["model_features"] == '["image", "label"]'


def test_small_images_are_upsampled_not_quarantined_at_a_large_input_size():
    """CIFAR's 32-px photos at --image-size 224 (the anchor's own work): only the absolute floor applies."""
    from pipeline.pipeline import validation_config

    config = PipelineConfig(trainer=TrainerConfig(image_size=224))
    assert validation_config(config).min_size == 8
    assert validation_config(PipelineConfig(quality=DataQualityConfig(min_image_size=40))).min_size == 40


@pytest.mark.pipeline
def test_statistics_profile_images_as_bytes_with_their_image_domain(tmp_path):
    """Real TFDV with the pipeline's options: the image is profiled as bytes (sizes, formats), not as a
    string feature whose every value (each image's bytes) is counted; the ids and labels stay exact."""
    import numpy as np
    import tensorflow as tf
    import tensorflow_data_validation as tfdv

    from ingest.example_format import make_image_example
    from pipeline.pipeline import statistics_options
    from tests.image_fixtures import encode

    path = str(tmp_path / "examples.tfrecord")
    rng = np.random.default_rng(0)
    with tf.io.TFRecordWriter(path) as writer:
        for i in range(120):  # TFDV's image-domain detection needs 100 values
            image = encode(rng.integers(0, 256, (12, 10, 3), dtype=np.uint8), "PNG")
            writer.write(make_image_example(image, i % 3, f"class{i % 3}", f"f{i}.png").SerializeToString())
    config = PipelineConfig(run=RunConfig(output_dir=str(tmp_path)))
    stats = tfdv.generate_statistics_from_tfrecord(path, stats_options=statistics_options(config))
    features = {f.path.step[0]: f for f in stats.datasets[0].features}
    image = features["image"]
    assert image.WhichOneof("stats") == "bytes_stats" and image.bytes_stats.common_stats.num_non_missing == 120
    assert any(c.name == "domain_info" and "image_domain" in c.str for c in image.custom_stats)
    assert features["filename"].string_stats.unique == 120
    assert features["label_name"].string_stats.unique == 3
    schema = tfdv.infer_schema(stats)
    assert tfdv.get_feature(schema, "image").WhichOneof("domain_info") == "image_domain"
