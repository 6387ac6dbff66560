"""Compiling for Kubeflow Pipelines 2.x: strict proto parse, images, determinism, clear errors."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from google.protobuf import json_format
from kfp import components
from kfp.pipeline_spec import pipeline_spec_pb2

from runners import kubeflow as kubeflow_compile
from runners.kubeflow import REMOTE_SCHEMES

IMAGE = "gcr.io/example/image-tfx:1.0"
ROOT = "gs://example-bucket/tfx"
ROOT_DIR = Path(__file__).resolve().parents[1]


def _compile(tmp_path, name="spec.json", *extra):
    labels = tmp_path / "labels.txt"
    labels.write_text("cat\ndog\n")
    out = tmp_path / name
    code = kubeflow_compile.main(["--data", "gs://example-bucket/data", "--labels", str(labels),
                                  "--pipeline-root", ROOT, "--image", IMAGE, "--spec-file", str(out), *extra])
    assert code == 0
    return out


def test_spec_parses_strictly_and_lists_every_component_with_the_image(tmp_path):
    job = json.loads(_compile(tmp_path).read_text())
    spec = pipeline_spec_pb2.PipelineSpec()
    json_format.ParseDict(job["pipelineSpec"], spec)  # unknown fields raise
    tasks = set(spec.root.dag.tasks)
    assert {"ImportExampleGen", "ImageValidator", "StatisticsGen", "SchemaGen", "ExampleValidator", "AnomalyGate",
            "Transform", "Trainer", "Evaluator", "Pusher"} <= tasks
    executors = spec.deployment_spec["executors"]
    images = {name: e["container"]["image"] for name, e in executors.items() if "container" in e}
    assert images and set(images.values()) == {IMAGE}
    assert job["runtimeConfig"]["gcsOutputDirectory"].startswith(ROOT)
    # Runtime parameters, with the compiled values as defaults a run may override.
    assert set(spec.root.input_definitions.parameters) == {"data-root", "train-args", "eval-config"}
    values = job["runtimeConfig"]["parameterValues"]
    assert values["data-root"] == "gs://example-bucket/data"
    assert json.loads(values["train-args"]) == {"numSteps": 500}
    assert "sparse_categorical_accuracy" in values["eval-config"].lower() or "SparseCategoricalAccuracy" in values["eval-config"]
    trainer_inputs = spec.root.dag.tasks["Trainer"].inputs.parameters
    assert trainer_inputs["train_args"].component_input_parameter == "train-args"
    for name, executor in executors.items():
        if "container" in executor:
            assert executor["container"]["command"] and executor["container"]["args"], name
    # Our executors travel in the spec: the fail-closed Evaluator and the atomic, exactly-once Pusher.
    text = json.dumps(job["pipelineSpec"]["deploymentSpec"])
    for executor_class in ("components.checked_evaluator.executor.Executor",
                           "components.atomic_pusher.executor.Executor"):
        assert executor_class in text
    package = tmp_path / "spec.kfp.json"
    assert json.loads(package.read_text()) == job["pipelineSpec"]
    loaded = components.load_component_from_file(str(package))  # the KFP SDK accepts it
    assert loaded.name == "image-classification"


def test_compiling_twice_gives_identical_output(tmp_path):
    first = _compile(tmp_path, "a.json").read_text()
    second = _compile(tmp_path, "b.json").read_text()
    assert first == second


def test_local_pipeline_root_fails_at_compile_time(tmp_path, capsys):
    (tmp_path / "l.txt").write_text("a\nb\n")
    code = kubeflow_compile.main(["--labels", str(tmp_path / "l.txt"), "--pipeline-root", "/tmp/local",
                                  "--spec-file", str(tmp_path / "x.json")])
    assert code == 2
    assert "not object storage" in capsys.readouterr().err


def test_bad_image_fails_at_compile_time(tmp_path, capsys):
    (tmp_path / "l.txt").write_text("a\nb\n")
    code = kubeflow_compile.main(["--labels", str(tmp_path / "l.txt"), "--pipeline-root", ROOT,
                                  "--image", "not an image", "--spec-file", str(tmp_path / "x.json")])
    assert code == 2 and "not a container image reference" in capsys.readouterr().err


def test_missing_labels_for_own_data_is_a_clear_error(tmp_path, capsys):
    assert kubeflow_compile.main(["--data", "gs://b/d", "--pipeline-root", ROOT,
                                  "--spec-file", str(tmp_path / "x.json")]) == 2
    assert "--labels FILE is required" in capsys.readouterr().err


def test_no_arguments_refuse_and_print_the_command_to_run(tmp_path, capsys):
    assert kubeflow_compile.main(["--spec-file", str(tmp_path / "x.json")]) == 2
    err = capsys.readouterr().err
    assert "--pipeline-root is required" in err and "--upload-embedded-data" in err
    assert not (tmp_path / "x.json").exists()
    # A root but no data: nothing has put the embedded dataset where the spec would read it.
    assert kubeflow_compile.main(["--pipeline-root", ROOT, "--spec-file", str(tmp_path / "x.json")]) == 2
    assert f"reads the embedded dataset from {ROOT}/data, which nothing has put there" in capsys.readouterr().err


@pytest.fixture
def uploads(tmp_path, monkeypatch):
    """--upload-embedded-data with object storage stood in for by a local folder (this machine has no bucket)."""
    copied = {}
    real_copy = kubeflow_compile.copy_tree

    def copy_to_local(source_dir, target_uri):
        assert target_uri.startswith(REMOTE_SCHEMES)
        copied[target_uri] = tmp_path / "bucket"
        return real_copy(source_dir, str(copied[target_uri]))

    monkeypatch.setattr(kubeflow_compile, "copy_tree", copy_to_local)
    return copied


def test_embedded_dataset_is_uploaded_where_the_spec_reads_it_with_the_schema_from_the_image(tmp_path, uploads):
    out = tmp_path / "default.json"
    assert kubeflow_compile.main(["--pipeline-root", ROOT, "--upload-embedded-data", "--spec-file", str(out)]) == 0
    job = json.loads(out.read_text())
    tasks = job["pipelineSpec"]["root"]["dag"]["tasks"]
    assert "ImportSchemaGen" in tasks and "SchemaGen" not in tasks
    schema_file = tasks["ImportSchemaGen"]["inputs"]["parameters"]["schema_file"]
    assert "/pipeline/schema/classification/schema.pbtxt" in json.dumps(schema_file)
    data_root = job["runtimeConfig"]["parameterValues"]["data-root"]
    assert data_root == f"{ROOT}/data" and list(uploads) == [data_root]
    bucket = uploads[data_root]
    for split in ("train", "eval"):  # the layout ImportExampleGen's split patterns read
        assert list((bucket / split).glob("*.tfrecord.gz"))
    assert (bucket / "labels.txt").read_text().split() == [str(d) for d in range(10)]


def test_copy_tree_keeps_the_layout(tmp_path):
    (tmp_path / "src" / "train").mkdir(parents=True)
    (tmp_path / "src" / "train" / "a.gz").write_bytes(b"\x00\x01")
    (tmp_path / "src" / "labels.txt").write_text("x\n")
    assert kubeflow_compile.copy_tree(str(tmp_path / "src"), str(tmp_path / "dst")) == 2
    assert (tmp_path / "dst" / "train" / "a.gz").read_bytes() == b"\x00\x01"


@pytest.mark.parametrize("flag, value, message", [
    ("--data", "/home/me/prepared", "--data '/home/me/prepared' is not object storage"),
    ("--image", "UPPER//bad::@@name", "is not a container image reference"),
    ("--pipeline-root", "gs://YOUR_BUCKET/x", None),
])
def test_what_cannot_run_is_refused_at_compile_time(tmp_path, capsys, flag, value, message):
    (tmp_path / "l.txt").write_text("a\nb\n")
    args = {"--data": "gs://b/prepared", "--pipeline-root": ROOT, "--image": IMAGE, flag: value}
    code = kubeflow_compile.main([*[x for k, v in args.items() for x in (k, v)], "--labels", str(tmp_path / "l.txt"),
                                  "--spec-file", str(tmp_path / "x.json")])
    if message is None:  # a bucket name is not ours to judge; only the placeholder default is gone
        assert code == 0
        return
    assert code == 2 and message in capsys.readouterr().err and not (tmp_path / "x.json").exists()


def test_help_is_written_for_kubeflow_users():
    parser_help = subprocess.run([sys.executable, str(ROOT_DIR / "kubeflow_runner.py"), "--help"],
                                 capture_output=True, text=True, check=True, cwd=ROOT_DIR).stdout
    assert "runs in its own pod" in parser_help and "--upload-embedded-data" in parser_help
    assert "--output-dir" not in parser_help


def test_facets_pages_are_html_artifacts_the_kubeflow_ui_renders(tmp_path):
    """The Facets Overview and Dive of a Kubeflow run are system.HTML outputs (the UI's Visualization tab)."""
    spec = json.loads(_compile(tmp_path).read_text())["pipelineSpec"]
    outputs = spec["components"]["FacetsPages"]["outputDefinitions"]["artifacts"]
    assert set(outputs) == {"overview", "dive"}
    for artifact in outputs.values():
        assert "title: system.HTML" in artifact["artifactType"]["instanceSchema"]
    assert {"LabelInspector", "FacetsPages"} <= set(spec["root"]["dag"]["tasks"])
    text = json.dumps(spec["deploymentSpec"])
    for executor_class in ("components.id_free_schema.executor.Executor",
                           "components.label_inspector.executor.Executor"):
        assert executor_class in text


def test_detection_compiles_with_its_curated_schema_coco_metrics_and_the_model_card(tmp_path, uploads):
    out = tmp_path / "detection.json"
    assert kubeflow_compile.main(["--task", "detection", "--pipeline-root", ROOT, "--upload-embedded-data",
                                  "--spec-file", str(out)]) == 0
    job = json.loads(out.read_text())
    tasks = job["pipelineSpec"]["root"]["dag"]["tasks"]
    assert {"ModelCardGen", "Pusher", "Evaluator"} <= set(tasks) and "LabelInspector" not in tasks
    assert "TfliteEvaluator" not in tasks  # detectors are not exported to TFLite yet
    assert "/pipeline/schema/detection/schema.pbtxt" in json.dumps(tasks["ImportSchemaGen"]["inputs"])
    eval_config = job["runtimeConfig"]["parameterValues"]["eval-config"]
    assert "COCODetectionMetrics" in eval_config and "components.box_metrics" in eval_config
    assert (ROOT_DIR / "schema" / "detection" / "schema.pbtxt").is_file()


def test_tuning_compiles_into_the_spec_and_feeds_the_trainer(tmp_path):
    """--tune: TFX's Tuner runs in the compiled pipeline and the Trainer reads its best hyperparameters."""
    job = json.loads(_compile(tmp_path, "spec.json", "--tune", "--tune-trials", "4", "--tune-steps", "30")
                     .read_text())
    spec = pipeline_spec_pb2.PipelineSpec()
    json_format.ParseDict(job["pipelineSpec"], spec)
    tasks = spec.root.dag.tasks
    assert "Tuner" in tasks
    hyperparameters = tasks["Trainer"].inputs.artifacts["hyperparameters"].task_output_artifact
    assert (hyperparameters.producer_task, hyperparameters.output_artifact_key) == ("Tuner", "best_hyperparameters")
    tuner = tasks["Tuner"].inputs.parameters
    custom = json.loads(tuner["custom_config"].runtime_value.constant.string_value)
    assert custom["tuning"] == {"trials": 4, "steps": 30} and custom["task"] == "classification"
    assert "trainer.tuner.tuner_fn" in tuner["tuner_fn"].runtime_value.constant.string_value
    untuned = json.loads(_compile(tmp_path, "plain.json").read_text())
    assert "Tuner" not in untuned["pipelineSpec"]["root"]["dag"]["tasks"]


def test_saved_hyperparameters_must_be_in_object_storage_for_kubeflow(tmp_path, capsys):
    saved = tmp_path / "best_hyperparameters.txt"
    saved.write_text('{"values": {"learning_rate": 0.001}}')
    labels = tmp_path / "labels.txt"
    labels.write_text("cat\ndog\n")
    code = kubeflow_compile.main(["--data", "gs://example-bucket/data", "--labels", str(labels), "--pipeline-root",
                                  ROOT, "--image", IMAGE, "--spec-file", str(tmp_path / "s.json"),
                                  "--hyperparameters", str(saved)])
    assert code == 2 and "is a local file; Kubeflow steps cannot read it" in capsys.readouterr().err
    job = json.loads(_compile(tmp_path, "remote.json", "--hyperparameters", "gs://example-bucket/hp").read_text())
    trainer = job["pipelineSpec"]["root"]["dag"]["tasks"]["Trainer"]["inputs"]["artifacts"]["hyperparameters"]
    assert trainer["taskOutputArtifact"]["producerTask"] == "hyperparameters_importer"
