"""The task contract holds: a fourth task, registered from here, flows through every layer untouched.

The task — the mean brightness of an image, a one-value regression — exists only in this file.  It
registers its contract (``common.tasks``), its data preparation (``ingest.preparations``) and its TFMA
EvalConfig (``pipeline.evaluation``), then goes through the command line, the configuration, data
preparation, the DAG, the eval config, the predictions file and the model card without any product module
knowing its name.  A product module that compared task names would refuse it or treat it as
classification, and these tests would fail.
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from common import names, tasks
from common.tasks.contract import Blessing, TaskContract, TaskDefaults, label_target
from ingest import preparations
from ingest.config import DataConfig
from ingest.shards import DataPrepError, Preparation, shuffled, write_tfrecords
from pipeline import configs
from trainer.config import TrainerConfig

TASK = "brightness"
VALUE_NAME = "brightness"

BRIGHTNESS = TaskContract(
    name=TASK,
    summary="mean brightness of an image, in [0, 1] (mean absolute error)",
    target_kind="value",
    target_keys=label_target,
    defaults=TaskDefaults(image_size=24, batch_size=8, train_steps=77, learning_rate=1e-3, tflite="none"),
    blessing=Blessing(metric="mean_absolute_error", minimum_field="min_accuracy", max_drop_field="max_accuracy_drop"),
    preparation="value_csv",
    data_help="a CSV with path,value rows",
    prediction_columns=("file", "value", names.QUARANTINE_REASON_KEY),
    serving_outputs="the predicted brightness out",
    per_class_metric="within_0.1",
    resize_policies=("squash",),
    resize_reason="brightness is read off the whole image",
    tflite_modes=("none",),
    tflite_reason="this test task exports no TFLite file",
)


@dataclasses.dataclass(frozen=True)
class _Row:
    path: Path
    name: str
    value: float


def _prepare_value_csv(source: Path, cache_root: Path, class_names, data: DataConfig) -> Preparation:
    """The fourth task's own preparation: a CSV of image paths and values -> train/ and eval/ shards."""
    import tensorflow as tf

    with open(source, newline="", encoding="utf-8") as handle:
        rows = [_Row(source.parent / r["path"], r["path"], float(r["value"])) for r in csv.DictReader(handle)]
    ordered = shuffled(rows, data.split_seed)
    held_out = max(1, round(len(rows) * data.held_out_fraction))
    splits = {names.TRAIN_SPLIT: ordered[held_out:], names.EVAL_SPLIT: ordered[:held_out]}

    def to_example(row: _Row) -> tf.train.Example:
        return tf.train.Example(features=tf.train.Features(feature={
            names.DEFAULT_IMAGE_KEY: tf.train.Feature(bytes_list=tf.train.BytesList(value=[row.path.read_bytes()])),
            names.DEFAULT_LABEL_KEY: tf.train.Feature(float_list=tf.train.FloatList(value=[row.value])),
            names.FILENAME_KEY: tf.train.Feature(bytes_list=tf.train.BytesList(value=[row.name.encode()])),
        }))

    dataset = write_tfrecords(splits, [VALUE_NAME], cache_root / "brightness", to_example)
    return Preparation(dataset, reused=False, lines=[f"value CSV: {len(rows)} rows"])


def _eval_config(config):
    import tensorflow_model_analysis as tfma

    threshold = tfma.MetricThreshold(value_threshold=tfma.GenericValueThreshold(upper_bound={"value": 0.1}))
    return tfma.EvalConfig(
        model_specs=[tfma.ModelSpec(signature_name=names.EXAMPLES_SIGNATURE, label_key=config.trainer.label_key,
                                    prediction_key="value", model_type=tfma.constants.TF_GENERIC)],
        slicing_specs=[tfma.SlicingSpec()],
        metrics_specs=[tfma.MetricsSpec(metrics=[
            tfma.MetricConfig(class_name="ExampleCount"),
            tfma.MetricConfig(class_name="MeanAbsoluteError", threshold=threshold)])])


@pytest.fixture(scope="module")
def brightness_task():
    """Registers the fourth task in every registry, from here; removes the contract afterwards."""
    from pipeline import evaluation

    tasks.register(BRIGHTNESS)
    preparations.register(preparations.DataPreparation(
        "value_csv", reads=lambda path: path.suffix == ".csv", prepare=_prepare_value_csv))
    evaluation.register_eval_config(TASK)(_eval_config)
    yield BRIGHTNESS
    tasks.unregister(TASK)


@pytest.fixture()
def value_csv(tmp_path) -> Path:
    folder = tmp_path / "grey"
    folder.mkdir()
    rng = np.random.default_rng(0)
    with open(folder / "values.csv", "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["path", "value"])
        for index in range(20):
            level = int(rng.integers(0, 256))
            buffer = io.BytesIO()
            Image.fromarray(np.full((16, 16, 3), level, np.uint8)).save(buffer, format="PNG")
            (folder / f"img_{index}.png").write_bytes(buffer.getvalue())
            writer.writerow([f"img_{index}.png", f"{level / 255:.4f}"])
    return folder / "values.csv"


def _parse(argv):
    parser = argparse.ArgumentParser()
    configs.add_cli_flags(parser)
    return parser, parser.parse_args(argv)


def test_the_command_line_offers_the_fourth_task_with_its_generated_defaults(brightness_task):
    parser, _ = _parse([])
    text = parser.format_help()
    assert TASK in text and BRIGHTNESS.summary.split(" (")[0] in " ".join(text.split())
    assert "8 brightness" in " ".join(text.split())  # --batch-size's help lists every task's default


def test_cli_and_python_api_build_the_same_config_for_every_task(brightness_task, value_csv):
    for task in tasks.task_names():
        data = ["--data", str(value_csv)] if task == TASK else []
        _, args = _parse(["--task", task, *data])
        from_cli = configs.from_cli(args)
        in_python = configs.PipelineConfig(trainer=TrainerConfig(task=task),
                                           data=DataConfig(path=str(value_csv) if data else None))
        assert from_cli.trainer == in_python.trainer, task
        assert from_cli.steps == in_python.steps, task
        assert from_cli.trainer == TrainerConfig(**{**dataclasses.asdict(in_python.trainer)}), task
        defaults = tasks.get(task).defaults
        assert (from_cli.trainer.batch_size, from_cli.steps.train_steps) == (defaults.batch_size, defaults.train_steps)


def test_the_fourth_task_is_prepared_built_into_a_dag_and_evaluated(brightness_task, value_csv, tmp_path):
    from ingest import source
    from pipeline import evaluation, pipeline

    _, args = _parse(["--task", TASK, "--data", str(value_csv), "--output-dir", str(tmp_path / "out")])
    config = configs.from_cli(args)
    assert (config.trainer.image_size, config.trainer.tflite) == (24, "none")
    logged = []
    data = source.resolve(config.task, config.data, config.prepared_data_dir, log=logged.append)
    assert data.class_names == [VALUE_NAME]
    assert "value CSV: 20 rows" in logged
    config.trainer.class_names = list(data.class_names)

    validation = pipeline.validation_config(config)  # a kind the validator does not know: the images only
    assert (validation.label_key, validation.mask_key, validation.box_keys) == (None, None, None)
    assert config.model_features() == [names.DEFAULT_IMAGE_KEY, names.DEFAULT_LABEL_KEY]

    components = pipeline.create_components(config, data)
    ids = [c.id for c in components]
    assert names.LABEL_INSPECTOR not in ids and names.TFLITE_EVALUATOR not in ids  # neither is the task's
    assert ids[-1] == names.PUSHER
    evaluator = next(c for c in components if c.id == "Evaluator")
    assert '"MeanAbsoluteError"' in evaluator.exec_properties["eval_config"]  # TFX holds the proto as JSON
    assert evaluation.eval_config(config).model_specs[0].prediction_key == "value"


def test_the_fourth_task_writes_its_own_prediction_columns_and_model_card(brightness_task, tmp_path):
    from components.model_card.card import to_markdown
    from components.model_card.executor import CardConfig, build_sections
    from reporting import predictions

    path = tmp_path / "predictions.csv"
    predictions.write_predictions(str(path), [{"file": "a.png", "value": 0.5}], None, TASK)
    assert path.read_text().splitlines() == ["file,value,quarantine_reason", "a.png,0.5,"]

    facts = {"validation": {}, "metrics": {"within_0.1/dark": 0.2}, "per_class": {}, "model_uri": "m",
             "files": [], "blessed": False, "tflite": {}, "label_issues": {}, "baseline": None,
             "training_splits": {}, "rule": [], "failed": []}
    card = to_markdown("card", build_sections(CardConfig(task=TASK, class_names=[VALUE_NAME]), facts))
    assert BRIGHTNESS.serving_outputs in card
    assert "Weakest class: dark (within_0.1 0.200)" in card  # the contract's per-class metric


@pytest.mark.parametrize("build", [
    lambda: TrainerConfig(task="keypoints"),
    lambda: configs.PipelineConfig(trainer=TrainerConfig(task="keypoints")),
    lambda: tasks.get("keypoints"),
])
def test_an_unknown_task_is_refused_by_name(build):
    with pytest.raises(ValueError, match="unknown task 'keypoints'"):
        build()


def test_an_unknown_task_is_refused_by_the_layers_that_take_a_name(tmp_path):
    from ingest import source
    from reporting import predictions, schema_tool
    from tensorflow_metadata.proto.v0 import schema_pb2
    from trainer.tasks.registry import get_task

    for call in (lambda: source.resolve("keypoints", DataConfig(), str(tmp_path)),
                 lambda: predictions.write_predictions(str(tmp_path / "p.csv"), [], None, "keypoints"),
                 lambda: schema_tool.curate(schema_pb2.Schema(), "keypoints", ["a"]),
                 lambda: get_task("keypoints")):
        with pytest.raises(ValueError, match="unknown task 'keypoints'"):
            call()


def test_a_task_without_an_embedded_dataset_asks_for_data(brightness_task, tmp_path):
    from ingest import source

    with pytest.raises(DataPrepError, match="--task brightness has no embedded dataset: pass --data"):
        source.resolve(TASK, DataConfig(), str(tmp_path))


def test_no_product_module_compares_task_names():
    """What differs per task lives in its contract and its task modules; everything else asks them."""
    import re

    root = Path(__file__).resolve().parents[1]
    pattern = re.compile(r"task\s*(==|!=)|task\s+(not\s+)?in\s*[(\[{]|==\s*\"(classification|segmentation|detection)\"")
    offenders = []
    for package in ("common", "ingest", "pipeline", "components", "trainer", "reporting", "runners"):
        for path in (root / package).rglob("*.py"):
            if path.name.endswith("_test.py") or "tasks" in path.relative_to(root).parts[:-1]:
                continue
            offenders += [f"{path.relative_to(root)}:{n}: {line.strip()}"
                          for n, line in enumerate(path.read_text().splitlines(), 1) if pattern.search(line)]
    assert not offenders, "ask the task contract instead:\n" + "\n".join(offenders)
