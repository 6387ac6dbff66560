"""The data-heavy components on Beam's DirectRunner with 2 worker processes give what 1 gives."""

import json

import pytest
import tensorflow_data_validation as tfdv
from tfx import v1 as tfx

from ingest import embedded as default_data
from ingest import source
from ingest.config import DataConfig
from pipeline.configs import PipelineConfig, RunConfig
from pipeline.pipeline import create_components

pytestmark = pytest.mark.e2e

DATA_COMPONENTS = ("ImportExampleGen", "ImageValidator", "StatisticsGen")


def _run_data_components(root, images, workers):
    config = PipelineConfig(data=DataConfig(path=str(images)),
                            run=RunConfig(output_dir=str(root), beam_workers=workers, enable_cache=False))
    data = source.resolve(config.task, config.data, config.prepared_data_dir, log=lambda *_: None)
    config.trainer.class_names = data.class_names
    components = [c for c in create_components(config, data) if c.id in DATA_COMPONENTS]
    pipeline = tfx.dsl.Pipeline(
        pipeline_name="scale-out", pipeline_root=str(root / "pipeline_root"), components=components,
        metadata_connection_config=tfx.orchestration.metadata.sqlite_metadata_connection_config(str(root / "m.db")),
        beam_pipeline_args=config.beam_pipeline_args(),
    )
    tfx.orchestration.LocalDagRunner().run(pipeline)
    stats_dir = next((root / "pipeline_root" / "StatisticsGen" / "statistics").iterdir())
    validation_dir = next((root / "pipeline_root" / "ImageValidator" / "report").iterdir())
    stats = {split: tfdv.load_stats_binary(str(stats_dir / f"Split-{split}" / "FeatureStats.pb"))
             for split in ("train", "eval")}
    report = json.load(open(validation_dir / "image_validation.json"))
    return config, stats, report


def _numbers(statistics):
    """Per feature: count, missing, and the numeric/bytes/string summary numbers."""
    out = {"num_examples": statistics.datasets[0].num_examples}
    for feature in statistics.datasets[0].features:
        name = feature.path.step[0]
        kind = feature.WhichOneof("stats")
        stats = getattr(feature, kind)
        common = stats.common_stats
        out[name] = {"non_missing": common.num_non_missing, "missing": common.num_missing,
                     "avg_values": round(common.avg_num_values, 9)}
        if kind == "num_stats":
            out[name].update(mean=round(stats.mean, 9), std=round(stats.std_dev, 6), min=stats.min, max=stats.max)
        elif kind == "bytes_stats":
            out[name].update(unique=stats.unique, avg=round(stats.avg_num_bytes, 6))
        elif kind == "string_stats":
            out[name].update(unique=stats.unique, top=sorted((v.value, v.frequency) for v in stats.top_values))
    return out


def test_two_direct_runner_workers_give_the_same_statistics(tmp_path):
    images = default_data.write_digits_pngs(tmp_path / "digits", limit_per_class=20)
    config_1, stats_1, report_1 = _run_data_components(tmp_path / "one", images, workers=1)
    config_2, stats_2, report_2 = _run_data_components(tmp_path / "two", images, workers=2)
    assert "--direct_running_mode=multi_processing" in config_2.beam_pipeline_args()
    assert "--direct_num_workers=2" in config_2.beam_pipeline_args()
    for split in ("train", "eval"):
        assert _numbers(stats_1[split]) == _numbers(stats_2[split])
    assert stats_1["train"].datasets[0].num_examples == 160
    assert report_1 == report_2  # every image's findings, not just the counts
