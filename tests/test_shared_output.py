"""Several pipelines in one --output-dir: each finishes with its own summary and report; reruns stay cached."""

import pytest

from ingest import embedded
from ingest.config import DataConfig
from pipeline.configs import BlessingConfig, PipelineConfig, RunConfig, TrainingLength
from runners import local as local_run
from trainer.config import TrainerConfig

pytestmark = pytest.mark.e2e


def test_classification_and_segmentation_share_an_output_folder(tmp_path):
    output = str(tmp_path / "outputs")
    digits = embedded.write_digits_pngs(tmp_path / "digits", limit_per_class=10)
    shapes = embedded.write_shapes_dataset(tmp_path / "shapes", count=40, size=32)
    (shapes / "labels.txt").write_text("\n".join(embedded.SHAPE_CLASSES) + "\n")
    classification = PipelineConfig(
        trainer=TrainerConfig(image_size=16, steps_per_epoch=20), data=DataConfig(path=str(digits)),
        steps=TrainingLength(train_steps=20), blessing=BlessingConfig(min_accuracy=0.0),
        run=RunConfig(output_dir=output))
    segmentation = PipelineConfig(
        trainer=TrainerConfig(task="segmentation", image_size=32, batch_size=8, steps_per_epoch=10),
        data=DataConfig(path=str(shapes)), steps=TrainingLength(train_steps=10),
        blessing=BlessingConfig(min_mean_iou=0.0), run=RunConfig(output_dir=output))

    first = local_run.run(classification)
    second = local_run.run(segmentation)
    assert first.pipeline_name == "image-classification" and second.pipeline_name == "image-segmentation"
    assert "sparse_categorical_accuracy" in first.metrics and "mean_iou" in second.metrics
    assert first.pushed_model and second.pushed_model and first.pushed_model != second.pushed_model
    # --flips auto: the classifier asked the data after its first epoch, the segmenter mirrors its masks.
    assert first.augmentation["flips"]["decided_by"] == "data" and "accuracy" in first.augmentation["flips"]
    assert second.augmentation["flips"] == {**second.augmentation["flips"], "flips": True, "decided_by": "task"}
    report = open(second.reports["Data report (HTML, offline)"], encoding="utf-8").read()
    assert "image-segmentation" in report and "no previous run with statistics" in report

    third = local_run.run(classification)
    assert third.all_cached and third.pushed_model == first.pushed_model
    report = open(third.reports["Data report (HTML, offline)"], encoding="utf-8").read()
    assert f"compared with run {first.run_id}" in report  # its own previous run, not segmentation's
