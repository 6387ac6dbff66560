"""The Kubeflow spec is the local pipeline, and its steps run from the spec the way the KFP launcher runs them.

Issue [13] items 6 and 7.  ``tests/test_kubeflow_compile.py`` checks that the spec is well formed; these
tests check what it *says* and that a pod could *run* it:

* For the same command-line flags, every component of the compiled PipelineJob has the executor, exec
  properties, Beam args, input wiring and output types of the pipeline ``local_runner.py`` builds.  The
  few differences that belong to the environment (where the data, the schema and the pushed models live;
  the baseline resolver) are normalised explicitly, each with its reason, so that everything else has to
  match: an embedded default that trains without flips locally but with flips on Kubeflow fails here.
* A custom step (ImageValidator) and a standard one (StatisticsGen) run from their compiled container
  command line, in a fresh process outside the repository, with a KFP v2 executor input in place of
  ``{{$}}``: module paths, parameters and custom artifact types resolve as they must inside the image.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, Dict, List, Mapping, Optional, Sequence, Tuple

import pytest
from google.protobuf import json_format
from google.protobuf import message as proto_message

from runners import kubeflow as kubeflow_compile
from runners import kubeflow_entrypoint
from common import names
from common.examples_io import record_dataset
from runners import local as local_runner

if TYPE_CHECKING:
    from tfx.dsl.components.base.base_node import BaseNode
    from tfx.orchestration.pipeline import Pipeline

ROOT_DIR = Path(__file__).resolve().parents[1]
IMAGE = "gcr.io/example/image-tfx:1.0"
PIPELINE_ROOT = "gs://example-bucket/tfx"
REMOTE_DATA = "gs://example-bucket/prepared"
RESOLVER = names.BASELINE_RESOLVER
#: The node ids the KFP v2 compiler gives TFX's LatestBlessedModelStrategy resolver (two query tasks).
COMPILED_RESOLVER_TASKS = (f"{RESOLVER}-model-blessing-resolver", f"{RESOLVER}-model-resolver")
DATA_PLACEHOLDER = "<data root>"


# --------------------------------------------------------------------------------------------------------------
# Item 6: the compiled pipeline is the local pipeline.
# --------------------------------------------------------------------------------------------------------------

@dataclasses.dataclass
class Node:
    """What one component is configured to do, read from either pipeline in the same shape."""

    executor: str
    parameters: Dict[str, Any]
    #: input key -> (producer node id, producer output key)
    inputs: Dict[str, Tuple[str, str]]
    #: output key -> artifact type name (the KFP schema title: tfx.Examples, image_tfx.ImageValidationReport)
    outputs: Dict[str, str]
    #: Beam pipeline args the executor gets (Beam components only; None for the others)
    beam_args: Optional[List[str]]
    #: Upstream nodes by id (data dependencies and explicit ``add_upstream_node`` edges).
    upstream: List[str]


class _Captured(Exception):
    """Raised by the stand-in LocalDagRunner once it holds the pipeline: nothing is run."""


def _local_pipeline(monkeypatch: pytest.MonkeyPatch, output_dir: Path, flags: Sequence[str]) -> Pipeline:
    """The tfx Pipeline ``python local_runner.py FLAGS`` hands to LocalDagRunner, built by the runner itself.

    Why through ``runners.local.main``: the flags, the config defaults (``embedded_data_defaults``), the data
    resolution and ``create_pipeline`` are then exactly the local runner's, not a re-implementation of them.
    """
    from tfx import v1 as tfx

    captured = []

    class CapturingRunner:
        def run(self, pipeline: Pipeline) -> None:
            captured.append(pipeline)
            raise _Captured()

    monkeypatch.setattr(tfx.orchestration, "LocalDagRunner", CapturingRunner)
    code = local_runner.main([*flags, "--output-dir", str(output_dir)])
    assert len(captured) == 1, f"local_runner.main exited {code} before it ran a pipeline"
    assert code == local_runner.EXIT_FAILED  # the stand-in runner's _Captured, reported as a failed run
    return captured[0]


def _compiled_job(monkeypatch: pytest.MonkeyPatch, spec_file: Path, flags: Sequence[str]) -> Dict[str, Any]:
    """The PipelineJob ``python kubeflow_runner.py FLAGS`` writes (with the embedded data's upload stubbed out)."""
    uploads: List[str] = []
    monkeypatch.setattr(kubeflow_compile, "upload_embedded_data", lambda config, target: uploads.append(target) or 0)
    extra = [] if "--data" in flags else ["--upload-embedded-data"]
    code = kubeflow_compile.main([*flags, "--pipeline-root", PIPELINE_ROOT, "--image", IMAGE,
                                  "--spec-file", str(spec_file), *extra])
    assert code == 0
    assert uploads == ([] if "--data" in flags else [f"{PIPELINE_ROOT}/data"])
    return json.loads(spec_file.read_text())


def _type_title(artifact_type: type) -> str:
    """The KFP schema title of a TFX artifact type: ``tfx.<Name>`` for TFX's own, the TYPE_NAME for ours."""
    name = artifact_type.TYPE_NAME
    return name if "." in name else f"tfx.{name}"


def _local_nodes(pipeline: Pipeline) -> Dict[str, Node]:
    """Each component of the local pipeline as a Node, read from the objects LocalDagRunner would run."""
    from tfx.dsl.components.base import executor_spec

    nodes = {}
    for component in pipeline.components:
        spec = component.executor_spec
        executor = getattr(spec, "executor_class", None)
        nodes[component.id] = Node(
            executor=f"{executor.__module__}.{executor.__qualname__}" if executor else type(spec).__name__,
            # TFX leaves unset (None) exec properties out of the compiled spec.
            parameters={k: v for k, v in component.exec_properties.items() if v is not None},
            # (The resolver's own inputs are ResolvedChannels, without a producer: its node is compared apart.)
            inputs={key: (channel.producer_component_id, channel.output_key)
                    for key, channel in component.inputs.items() if hasattr(channel, "producer_component_id")},
            outputs={key: _type_title(channel.type) for key, channel in component.outputs.items()},
            beam_args=(list(spec.beam_pipeline_args) if isinstance(spec, executor_spec.BeamExecutorSpec) else None),
            upstream=sorted(node.id for node in component.upstream_nodes),
        )
    return nodes


def _schema_title(artifact_type: Mapping[str, Any]) -> str:
    """The type name a compiled artifact declares (what the launcher records and TFX's entrypoint imports)."""
    if "schemaTitle" in artifact_type:
        return artifact_type["schemaTitle"]
    match = re.search(r"^title: (\S+)$", artifact_type["instanceSchema"], re.M)
    assert match, artifact_type
    return match.group(1)


def _split_container_args(args: Sequence[str]) -> Tuple[Dict[str, str], List[str]]:
    """``--executor_class_path X --json_serialized_invocation_args {{$}} ... <beam args>`` -> (flags, beam args)."""
    flags, rest = {}, list(args)
    while rest and rest[0] in ("--executor_class_path", "--json_serialized_invocation_args",
                               "--json_serialized_inputs_spec_args"):
        flags[rest[0]] = rest[1]
        rest = rest[2:]
    return flags, rest


def _compiled_nodes(job: Mapping[str, Any]) -> Dict[str, Node]:
    """Each task of the PipelineJob as a Node; a runtime parameter counts with the default the job runs with."""
    spec = job["pipelineSpec"]
    runtime_values = job["runtimeConfig"]["parameterValues"]
    executors = spec["deploymentSpec"]["executors"]
    nodes = {}
    for task_id, task in spec["root"]["dag"]["tasks"].items():
        component = spec["components"][task["componentRef"]["name"]]
        executor = executors[component["executorLabel"]]
        if "container" not in executor:
            nodes[task_id] = Node(executor="resolver", parameters={}, inputs={}, outputs={}, beam_args=None,
                                  upstream=[])
            continue
        flags, beam_args = _split_container_args(executor["container"]["args"])
        parameters = {}
        for key, value in task.get("inputs", {}).get("parameters", {}).items():
            if "componentInputParameter" in value:  # a runtime parameter: the run uses its compiled default
                parameters[key] = runtime_values[value["componentInputParameter"]]
            else:
                parameters[key] = value["runtimeValue"]["constant"]
        inputs = {key: (value["taskOutputArtifact"]["producerTask"], value["taskOutputArtifact"]["outputArtifactKey"])
                  for key, value in task.get("inputs", {}).get("artifacts", {}).items()}
        outputs = {key: _schema_title(value["artifactType"])
                   for key, value in component.get("outputDefinitions", {}).get("artifacts", {}).items()}
        nodes[task_id] = Node(executor=flags["--executor_class_path"], parameters=parameters, inputs=inputs,
                              outputs=outputs, beam_args=beam_args, upstream=sorted(task.get("dependentTasks", [])))
    return nodes


def _canonical(component: BaseNode, key: str, value: Any) -> Any:
    """One form for an exec property from either side: protos parsed (JSON field-name style and float32
    rounding differ between the two serialisations), JSON strings parsed, numbers as floats (the compiled
    spec writes every number as a JSON double)."""
    declared = component.spec.PARAMETERS.get(key) if hasattr(component, "spec") else None
    proto_type = getattr(declared, "type", None)
    if isinstance(proto_type, type) and issubclass(proto_type, proto_message.Message) and isinstance(value, str):
        parsed = json_format.Parse(value, proto_type())
        return json_format.MessageToDict(parsed, preserving_proto_field_name=True)
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        try:
            decoded = json.loads(value)
        except ValueError:
            return value
        return decoded if isinstance(decoded, (dict, list)) or decoded is None else value
    return value


def _differences(where: str, local: Any, compiled: Any) -> List[str]:
    """Every leaf where the two differ, with its path (a changed flag shows as one line, not a dict dump)."""
    if isinstance(local, dict) and isinstance(compiled, dict):
        lines = []
        for key in sorted(set(local) | set(compiled), key=str):
            if key not in compiled:
                lines.append(f"{where}.{key}: only local ({local[key]!r})")
            elif key not in local:
                lines.append(f"{where}.{key}: only compiled ({compiled[key]!r})")
            else:
                lines += _differences(f"{where}.{key}", local[key], compiled[key])
        return lines
    return [] if local == compiled else [f"{where}: local {local!r} != compiled {compiled!r}"]


def _replace_environment_values(local: Dict[str, Node], compiled: Dict[str, Node], pipeline: Pipeline,
                                job: Mapping[str, Any], task: str, output_dir: Path, local_data: Optional[Path],
                                remote_data: str) -> None:
    """Puts one placeholder where a value legitimately differs between this machine and the cluster.

    Each value is checked on both sides before it is replaced, so a wrong value in either environment still
    fails; only the *difference* is accepted, and only for these reasons:

    * the data location: locally ImportExampleGen reads prepared TFRecords on this disk (the embedded set is
      prepared under ``<output dir>/data``); the compiled spec reads the ``data-root`` runtime parameter
      (``--data``, or ``<pipeline root>/data`` where ``--upload-embedded-data`` puts the embedded set).  The
      Trainer's ``lineage`` (a hash of task, class names and data location, read only by the local baseline
      resolver) and the model card's ``data_source`` name that location too.
    * the split patterns: for prepared data the local runner knows the shard suffix (``train/*.tfrecord.gz``);
      the compiled spec reads every file of each split folder (``train/*``), because TFRecords on object
      storage may carry any suffix.  Same folders, hence the same shards.
    * the curated schema: a local run imports a content-addressed copy of ``schema/<task>/schema.pbtxt`` (so
      that editing it invalidates the cache); the compiled spec imports the same file from inside the image.
    * the push destination: ``<output dir>/serving_model/<name>`` here, ``<pipeline root>/serving_model/<name>``
      on the cluster.
    * the baseline resolver (README): KubeflowV2DagRunner compiles only TFX's built-in strategies, so the spec
      has LatestBlessedModelStrategy's two query tasks where the local pipeline has our
      LatestBlessedBaselineStrategy (latest blessed model of the same lineage).
    """
    name = pipeline.pipeline_info.pipeline_name
    # -- the data location
    local_gen, compiled_gen = local["ImportExampleGen"].parameters, compiled["ImportExampleGen"].parameters
    if local_data is None:
        assert Path(local_gen["input_base"]).parent == (output_dir / "data").resolve(), local_gen["input_base"]
    else:
        assert local_gen["input_base"] == str(local_data.resolve())
    assert compiled_gen["input_base"] == job["runtimeConfig"]["parameterValues"]["data-root"] == remote_data
    local_gen["input_base"] = compiled_gen["input_base"] = DATA_PLACEHOLDER
    for parameters in (local_gen, compiled_gen):
        for split in parameters["input_config"]["splits"]:
            folder, _, files = split["pattern"].partition("/")
            assert files in ("*", "*.tfrecord.gz"), split
            split["pattern"] = f"{folder}/*"
    for nodes, data_source in ((local, str(local_data.resolve()) if local_data else f"the embedded {task} dataset"),
                               (compiled, remote_data)):
        trainer_config = nodes["Trainer"].parameters["custom_config"]
        assert re.fullmatch(r"[0-9a-f]{16}", trainer_config["lineage"]), trainer_config["lineage"]
        trainer_config["lineage"] = "<hash of task, class names and data location>"
        card = nodes["ModelCardGen"].parameters["config"]
        assert card["data_source"] == data_source
        card["data_source"] = DATA_PLACEHOLDER
    # -- the curated schema (imported for the embedded datasets; inferred by SchemaGen for the user's data)
    assert ("ImportSchemaGen" in local) is (local_data is None)
    if local_data is None:
        repo_schema = Path("schema") / task / "schema.pbtxt"
        assert Path(local["ImportSchemaGen"].parameters["schema_file"]).read_bytes() == \
            (ROOT_DIR / repo_schema).read_bytes()
        assert compiled["ImportSchemaGen"].parameters["schema_file"] == \
            f"{kubeflow_compile.IMAGE_PROJECT_DIR}/{repo_schema}"
        local["ImportSchemaGen"].parameters["schema_file"] = str(repo_schema)
        compiled["ImportSchemaGen"].parameters["schema_file"] = str(repo_schema)
    # -- the push destination
    for nodes, root in ((local, str(output_dir.resolve())), (compiled, PIPELINE_ROOT)):
        filesystem = nodes["Pusher"].parameters["push_destination"]["filesystem"]
        assert filesystem["base_directory"] == f"{root}/serving_model/{name}", filesystem
        filesystem["base_directory"] = f"<output root>/serving_model/{name}"
    # -- the baseline resolver
    by_id = {component.id: component for component in pipeline.components}
    assert by_id[RESOLVER].exec_properties["resolver_class"].__name__ == "LatestBlessedBaselineStrategy"
    lineage = json.loads(by_id["Trainer"].exec_properties["custom_config"])["lineage"]
    assert local[RESOLVER].parameters["source_uri"] == {"lineage": lineage}  # the Trainer's own, not a stale one
    del local[RESOLVER]
    executors = job["pipelineSpec"]["deploymentSpec"]["executors"]
    queries = json.dumps([executors[f"{task_id}_executor"] for task_id in COMPILED_RESOLVER_TASKS])
    assert 'schema_title=\\"tfx.ModelBlessing\\"' in queries and "metadata.blessed.number_value=1" in queries
    for task_id in COMPILED_RESOLVER_TASKS:
        del compiled[task_id]
    for node in compiled.values():
        node.inputs = {key: (RESOLVER if producer in COMPILED_RESOLVER_TASKS else producer, output)
                       for key, (producer, output) in node.inputs.items()}
        node.upstream = sorted({RESOLVER if task_id in COMPILED_RESOLVER_TASKS else task_id
                                for task_id in node.upstream})


def _own_tfrecords(root: Path) -> Path:
    """A prepared-TFRecords folder as ``python -m ingest.data_prep`` leaves it (nothing reads the shards here)."""
    for split in ("train", "eval"):
        (root / split).mkdir(parents=True)
        (root / split / "data-00000-of-00001.tfrecord.gz").write_bytes(b"")
    (root / "labels.txt").write_text("cat\ndog\n")
    return root


#: Flag sets compiled both ways.  ``{data}``: a local folder locally, REMOTE_DATA for Kubeflow.
CASES: Dict[str, Tuple[str, ...]] = {
    # What `make run` trains, and what the README's Kubeflow quick start compiles.
    "embedded-default": (),
    # Another task, its task defaults overridden, the blessing bar, the gate, TFLite and per-component Beam args.
    "segmentation-with-flags": (
        "--task", "segmentation", "--image-size", "48", "--train-steps", "7", "--validation-batches", "3",
        "--learning-rate", "0.01", "--batch-size", "4", "--min-mean-iou", "0.5", "--block-anomalies", "all",
        "--max-bad-fraction", "0.2", "--tflite", "int8", "--beam-workers", "2",
        "--component-beam-arg=Transform=--direct_num_workers=3"),
    # --tune: TFX's Tuner before the Trainer, which reads its best hyperparameters.
    "tuned-embedded": ("--tune", "--tune-trials", "3", "--tune-steps", "40"),
    # The user's own prepared data: no curated schema (SchemaGen infers one), flips on, another backbone.
    "own-data-classification": (
        "--data", "{data}", "--labels", "{labels}", "--backbone", "squeezenet", "--weights", "none",
        "--resize", "crop", "--label-issues", "stop", "--min-accuracy", "0.5", "--seed", "7"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_compiled_components_are_configured_as_the_local_ones(case: str, tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """Same flags, same pipeline: executor, exec properties, Beam args, wiring and output types per component.

    Why: the README promises that ``kubeflow_runner.py`` "compiles the same pipeline"; a default applied on
    one path only (the embedded digits' ``--no-flip`` once was) silently trains a different model on the
    cluster than the one tried on a laptop.
    """
    own = _own_tfrecords(tmp_path / "own") if "{data}" in CASES[case] else None
    labels = str(own / "labels.txt") if own else ""
    local_flags = [f.format(data=str(own), labels=labels) for f in CASES[case]]
    compiled_flags = [f.format(data=REMOTE_DATA, labels=labels) for f in CASES[case]]
    pipeline = _local_pipeline(monkeypatch, tmp_path / "outputs", local_flags)
    job = _compiled_job(monkeypatch, tmp_path / "spec.json", compiled_flags)
    task = "segmentation" if "segmentation" in CASES[case] else "classification"

    components = {component.id: component for component in pipeline.components}
    local, compiled = _local_nodes(pipeline), _compiled_nodes(job)
    assert {"ImportExampleGen", "ImageValidator", "StatisticsGen", "ExampleValidator", "AnomalyGate", "Transform",
            "Trainer", "Evaluator", "ModelCardGen", "Pusher"} <= set(local)
    for nodes in (local, compiled):
        for node_id, node in nodes.items():
            if node_id in components:
                node.parameters = {key: _canonical(components[node_id], key, value)
                                   for key, value in node.parameters.items()}
    _replace_environment_values(local, compiled, pipeline, job, task, tmp_path / "outputs", own,
                                REMOTE_DATA if own else f"{PIPELINE_ROOT}/data")
    # Non-Beam executors get the pipeline's Beam args as extra flags in the container; locally they have none
    # to compare, so only check that they are the pipeline's.
    for node_id, node in compiled.items():
        if node_id in local and local[node_id].beam_args is None:
            assert node.beam_args == list(pipeline.beam_pipeline_args), node_id
            node.beam_args = None

    assert sorted(compiled) == sorted(local)
    differences = []
    for node_id in sorted(local):
        for field in dataclasses.fields(Node):
            differences += _differences(f"{node_id}.{field.name}", getattr(local[node_id], field.name),
                                        getattr(compiled[node_id], field.name))
    assert not differences, "the compiled pipeline differs from the local one:\n" + "\n".join(differences)

    # What the comparison covered, so that it cannot pass by comparing nothing.
    trainer = compiled["Trainer"].parameters
    assert trainer["custom_config"]["task"] == task and trainer["run_fn"] == "trainer.run.run_fn"
    assert compiled["Transform"].parameters["preprocessing_fn"] == "trainer.preprocessing.preprocessing_fn"
    assert compiled["Evaluator"].executor == "components.checked_evaluator.executor.Executor"
    assert compiled["ImageValidator"].outputs["report"] == "image_tfx.ImageValidationReport"
    flips = trainer["custom_config"]["augmentation"]["flip_left_right"]
    assert flips is (None if own is not None else False), \
        "embedded datasets train without flips; the user's data leaves them to the data (--flips auto)"
    if "--tune" in CASES[case]:  # the Tuner was compared too, and runs our tuner_fn with the flags' budget
        tuner = compiled["Tuner"].parameters
        assert tuner["tuner_fn"] == "trainer.tuner.tuner_fn" and tuner["custom_config"]["tuning"] == {
            "trials": 3, "steps": 40}
    if case == "segmentation-with-flags":
        assert trainer["train_args"] == {"num_steps": 7} and trainer["custom_config"]["image_size"] == 48
        assert compiled["Transform"].beam_args[-1] == "--direct_num_workers=3"


# --------------------------------------------------------------------------------------------------------------
# Item 7: a compiled step runs from its container command line, outside the local runner.
# --------------------------------------------------------------------------------------------------------------

#: Where the KFP v2 launcher asks the executor to write its output metadata (ExecutorInput.outputs.outputFile).
KFP_OUTPUT_METADATA = "kfp_outputs/output_metadata.json"
#: One subprocess step: a fresh interpreter importing TensorFlow, TFX and Beam, then a tiny Beam job.
STEP_TIMEOUT_S = 240


def _write_examples(uri: Path, per_split: Mapping[str, int], corrupt_in_train: int) -> Dict[str, int]:
    """An Examples artifact as ImportExampleGen leaves it (gzipped tf.Example shards per ``Split-<name>``):
    distinct random PNGs, plus ``corrupt_in_train`` records whose image bytes decode as no image at all."""
    import numpy as np
    import tensorflow as tf

    from ingest.example_format import make_image_example
    from tests.image_fixtures import encode

    rng = np.random.default_rng(0)
    written = {}
    for split, count in per_split.items():
        (uri / f"Split-{split}").mkdir(parents=True)
        path = uri / f"Split-{split}" / "data_tfrecord-00000-of-00001.gz"
        with tf.io.TFRecordWriter(str(path), options="GZIP") as writer:
            for i in range(count):
                png = encode(rng.integers(0, 256, (16, 16, 3), dtype=np.uint8), "PNG")
                writer.write(make_image_example(png, i % 10, str(i % 10), f"{split}_{i}.png").SerializeToString())
            for i in range(corrupt_in_train if split == "train" else 0):
                writer.write(make_image_example(b"not an image", 0, "0", f"corrupt_{i}.png").SerializeToString())
        written[split] = count + (corrupt_in_train if split == "train" else 0)
    return written


def _runtime_artifact(name: str, artifact_type: Mapping[str, Any], uri: str,
                      metadata: Optional[Mapping[str, Any]] = None) -> Dict[str, Any]:
    """One ``RuntimeArtifact`` of an ExecutorInput, in its JSON form."""
    return {"name": name, "type": dict(artifact_type), "uri": uri, "metadata": dict(metadata or {})}


def _run_compiled_step(job: Mapping[str, Any], task_id: str, inputs: Mapping[str, Mapping[str, Any]],
                       work: Path) -> Tuple[Dict[str, Any], Dict[str, str], str]:
    """Runs ``task_id`` as the KFP v2 launcher runs a container step; returns (output metadata, output URIs, log).

    The launcher's part, taken from the spec and done here: the parameter values (compiled constants, runtime
    parameters at their defaults), the input artifacts (``inputs``: uri and metadata, typed by the component's
    input definitions), an output URI per declared output (its parent folder made, as the launcher does), the
    output metadata file, and ``{{$}}`` replaced by the ExecutorInput JSON.  The step itself runs in a fresh
    interpreter whose working directory is not the repository: the project is found on PYTHONPATH, as the
    image finds its installed copy.
    """
    from kfp.pipeline_spec import pipeline_spec_pb2

    spec = job["pipelineSpec"]
    task = spec["root"]["dag"]["tasks"][task_id]
    component = spec["components"][task["componentRef"]["name"]]
    container = spec["deploymentSpec"]["executors"][component["executorLabel"]]["container"]
    runtime_values = job["runtimeConfig"]["parameterValues"]
    parameters = {key: runtime_values[value["componentInputParameter"]] if "componentInputParameter" in value
                  else value["runtimeValue"]["constant"]
                  for key, value in task.get("inputs", {}).get("parameters", {}).items()}
    input_types = component.get("inputDefinitions", {}).get("artifacts", {})
    assert set(inputs) <= set(input_types), f"{task_id} declares no input {sorted(set(inputs) - set(input_types))}"
    input_artifacts = {key: {"artifacts": [_runtime_artifact(artifact["name"], input_types[key]["artifactType"],
                                                             artifact["uri"], artifact.get("metadata"))]}
                       for key, artifact in inputs.items()}
    output_uris, output_artifacts = {}, {}
    for key, definition in component["outputDefinitions"]["artifacts"].items():
        uri = work / "pipeline_root" / task_id / key
        uri.parent.mkdir(parents=True, exist_ok=True)
        output_uris[key] = str(uri)
        output_artifacts[key] = {"artifacts": [_runtime_artifact(f"{task_id}-{key}", definition["artifactType"],
                                                                 str(uri))]}
    output_file = work / task_id / KFP_OUTPUT_METADATA
    executor_input = {"inputs": {"parameterValues": parameters, "artifacts": input_artifacts},
                      "outputs": {"artifacts": output_artifacts, "outputFile": str(output_file)}}
    json_format.ParseDict(executor_input, pipeline_spec_pb2.ExecutorInput())  # what the launcher would send

    argv = [*container["command"], *container["args"]]
    argv = [json.dumps(executor_input) if arg == "{{$}}" else arg for arg in argv]
    assert not [arg for arg in argv if "{{$" in arg], "a placeholder this launcher stand-in does not fill"
    assert argv[0] == "python", argv[:3]  # the image's interpreter; here, this environment's
    pod = work / task_id / "pod"
    pod.mkdir(parents=True)
    # The image sets TF_USE_LEGACY_KERAS; the pod's own temp folder takes what TFX builds there (its sdist).
    env = {**os.environ, "PYTHONPATH": str(ROOT_DIR), "TF_USE_LEGACY_KERAS": "1", "TMPDIR": str(pod)}
    result = subprocess.run([sys.executable, *argv[1:]], cwd=pod, env=env, capture_output=True, text=True,
                            timeout=STEP_TIMEOUT_S)
    log = result.stdout + result.stderr
    assert result.returncode == 0, f"{task_id} exited {result.returncode}:\n{log[-6000:]}"
    assert output_file.is_file(), f"{task_id} wrote no output metadata:\n{log[-3000:]}"
    output = pipeline_spec_pb2.ExecutorOutput()
    json_format.Parse(output_file.read_text(), output)  # strictly: the launcher parses this
    return json_format.MessageToDict(output), output_uris, log


def _tfrecord_count(folder: str) -> int:
    import tensorflow as tf

    files = tf.io.gfile.glob(os.path.join(folder, "*"))
    return sum(1 for _ in record_dataset(files))


@pytest.mark.pipeline
def test_compiled_steps_run_from_their_container_command_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """ImageValidator (ours: a custom artifact type out) then StatisticsGen (TFX's), each from its spec entry.

    Why: a pod has only the image; a module path that resolves only inside the repository, or a custom artifact
    type the TFX container entrypoint cannot turn back into a class, fails there and nowhere else.  The second
    step reads the first one's output metadata, as the launcher hands it on.
    """
    import tensorflow_data_validation as tfdv

    job = _compiled_job(monkeypatch, tmp_path / "spec.json", [])
    spec = job["pipelineSpec"]
    report_type = spec["components"]["ImageValidator"]["outputDefinitions"]["artifacts"]["report"]["artifactType"]
    assert _schema_title(report_type) == "image_tfx.ImageValidationReport"
    # Every step runs the same program, so the two run here stand for all of them ...
    commands = {tuple(executor["container"]["command"])
                for executor in spec["deploymentSpec"]["executors"].values() if "container" in executor}
    assert len(commands) == 1, commands
    # ... and every custom type in the spec is one that program makes loadable (a new type must be added there).
    titles = {_schema_title(artifact["artifactType"]) for component in spec["components"].values()
              for side in ("inputDefinitions", "outputDefinitions")
              for artifact in component.get(side, {}).get("artifacts", {}).values()}
    custom = {title for title in titles if not title.startswith("tfx.")}
    assert custom == {"image_tfx.ImageValidationReport", "image_tfx.AnomalyGateResult", "image_tfx.LabelIssues",
                      "image_tfx.ModelCard", "system.HTML"}
    assert custom <= {t.TYPE_NAME for t in kubeflow_entrypoint.custom_artifact_types()}

    # ImportExampleGen's output, as the launcher hands it on: uri plus the metadata ExampleGen recorded.
    examples_uri = tmp_path / "pipeline_root" / "ImportExampleGen" / "examples"
    # 100 good training images: TFDV's semantic-domain statistics name a feature an image from 100 values on.
    good = {"train": 100, "eval": 10}
    written = _write_examples(examples_uri, good, corrupt_in_train=1)
    examples = {"name": "ImportExampleGen-examples", "uri": str(examples_uri),
                "metadata": {"split_names": '["train", "eval"]', "span": 0.0, "version": 0.0,
                             "file_format": "tfrecords_gzip", "payload_format": "FORMAT_TF_EXAMPLE"}}

    # 1. The custom component: its executor class and its report type resolve in a fresh process.
    output, uris, log = _run_compiled_step(job, "ImageValidator", {"examples": examples}, tmp_path)
    artifacts = {key: value["artifacts"][0] for key, value in output["artifacts"].items()}
    assert set(artifacts) == {"validated_examples", "quarantine", "report"}
    assert {key: artifact["uri"] for key, artifact in artifacts.items()} == uris
    total = sum(written.values())
    assert artifacts["report"]["metadata"]["total"] == total and artifacts["report"]["metadata"]["quarantined"] == 1
    assert json.loads(artifacts["validated_examples"]["metadata"]["split_names"]) == ["train", "eval"]
    report = json.loads((Path(uris["report"]) / "image_validation.json").read_text())
    assert (report["total"], report["good"], report["quarantined"]) == (total, total - 1, 1)
    assert report["config"]["class_names"] == [str(d) for d in range(10)]  # the compiled config arrived
    for split, count in good.items():
        assert _tfrecord_count(os.path.join(uris["validated_examples"], f"Split-{split}")) == count
    assert _tfrecord_count(os.path.join(uris["quarantine"], "Split-train")) == 1
    # The entrypoint built the report artifact as our type (it logs the artifacts it passes to the executor).
    assert 'name: "image_tfx.ImageValidationReport"' in log

    # 2. A standard component, reading the custom one's output the way the next pod would.
    validated = {"name": "ImageValidator-validated_examples", **{k: artifacts["validated_examples"][k]
                                                                  for k in ("uri", "metadata")}}
    output, uris, log = _run_compiled_step(job, "StatisticsGen", {"examples": validated}, tmp_path)
    statistics = output["artifacts"]["statistics"]["artifacts"][0]
    assert statistics["uri"] == uris["statistics"]
    assert json.loads(statistics["metadata"]["split_names"]) == ["train", "eval"]
    datasets = {split: tfdv.load_stats_binary(os.path.join(uris["statistics"], f"Split-{split}",
                                                           "FeatureStats.pb")).datasets[0] for split in good}
    assert {split: dataset.num_examples for split, dataset in datasets.items()} == good
    # The compiled stats options (enable_semantic_domain_stats) arrived: TFDV saw images, not text.
    image = next(f for f in datasets["train"].features if f.path.step == ["image"])
    assert any(s.name == "domain_info" and "image_domain" in s.str for s in image.custom_stats), image.custom_stats
