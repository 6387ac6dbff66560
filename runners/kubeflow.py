"""Compile the image pipeline into a Kubeflow Pipelines 2.x / Vertex AI Pipelines spec.

Every step runs in its own pod from --image, so everything a step reads must
be where every pod can reach it: the pipeline root, the prepared data
(TFRecords under train/ and eval/) and a curated schema on object storage
(gs://, s3://).  Without --data the embedded dataset is used: pass
--upload-embedded-data to prepare it here and copy it to <pipeline root>/data.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import tempfile
from typing import Optional, Sequence

from common import names
from pipeline import configs
from runners import kubeflow_entrypoint

DEFAULT_IMAGE = "image-tfx-pipeline:latest"
#: Where the Dockerfile puts the project; the curated schemas ship inside the image.
IMAGE_PROJECT_DIR = "/pipeline"
REMOTE_SCHEMES = ("gs://", "s3://", "minio://", "http://", "https://")
#: An OCI image reference (the Docker distribution grammar): [registry[:port]/]path[:tag][@digest].
_IMAGE_REFERENCE = re.compile(
    r"^(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*(?::[0-9]+)?/)?"
    r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*"
    r"(?::[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?(?:@[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,})?$")


def check_image_reference(image: str) -> None:
    """Refuses what a container runtime would refuse, now rather than when the first pod starts."""
    if not image or len(image) > 255 or not _IMAGE_REFERENCE.match(image):
        raise ValueError(f"--image {image!r} is not a container image reference: lower-case "
                         "[registry[:port]/]path[:tag][@digest], e.g. gcr.io/my-project/image-tfx:1.0")


def check_remote(flag: str, value: str, what: str) -> None:
    if not value.startswith(REMOTE_SCHEMES):
        raise ValueError(f"{flag} {value!r} is not object storage; Kubeflow steps run in separate pods and "
                         f"cannot read this machine's files. Copy {what} to gs:// or s3:// and pass that path.")


def copy_tree(source_dir: str, target_uri: str) -> int:
    """Copies every file under ``source_dir`` to ``target_uri`` (any tf.io.gfile location); returns the count."""
    import tensorflow as tf

    copied = 0
    for folder, _, files in os.walk(source_dir):
        relative = os.path.relpath(folder, source_dir)
        target = target_uri.rstrip("/") if relative == "." else f"{target_uri.rstrip('/')}/{relative}"
        tf.io.gfile.makedirs(target)
        for name in files:
            tf.io.gfile.copy(os.path.join(folder, name), f"{target}/{name}", overwrite=True)
            copied += 1
    return copied


def upload_embedded_data(config: configs.PipelineConfig, target_uri: str, log=print) -> int:
    """Prepares the embedded dataset here (TFRecords under train/ and eval/) and copies it to ``target_uri``."""
    from ingest import source
    from ingest.config import DataConfig

    with tempfile.TemporaryDirectory(prefix="image-tfx-upload-") as local:
        data = source.resolve(config.task, DataConfig(), local, config.trainer.class_names, log=log)
        copied = copy_tree(data.input_base, target_uri)
    log(f"uploaded the embedded {config.task} dataset ({copied} files) to {target_uri}")
    return copied


def _data_source(config: configs.PipelineConfig):
    """On Kubeflow the data is prepared TFRecords (train/ + eval/) at a remote location."""
    from tfx.proto import example_gen_pb2

    from ingest.source import DataSource

    if not config.trainer.class_names:
        raise ValueError("--labels FILE is required for Kubeflow (class names in id order, one per line).")
    input_config = example_gen_pb2.Input(splits=[
        example_gen_pb2.Input.Split(name=split, pattern=f"{split}/*") for split in (names.TRAIN_SPLIT, names.EVAL_SPLIT)
    ])
    data_root = config.data.path or ""
    return DataSource(data_root, input_config, None, list(config.trainer.class_names), data_root)


def _use_embedded_dataset(config: configs.PipelineConfig, pipeline_root: str) -> None:
    """No --data: the embedded dataset, prepared and uploaded to <pipeline root>/data, with its class
    names and its curated schema (which ships inside the container image)."""
    from ingest import embedded

    config.data.path = f"{pipeline_root.rstrip('/')}/data"
    if not config.trainer.class_names:
        config.trainer.class_names = embedded.class_names(config.contract.embedded_dataset)
    if not config.quality.schema_file:
        config.quality.schema_file = f"{IMAGE_PROJECT_DIR}/schema/{config.task}/schema.pbtxt"
        config.quality.schema_in_image = True


def compile_pipeline(config: configs.PipelineConfig, image: str, output_file: str) -> str:
    from tfx import v1 as tfx

    from pipeline.pipeline import create_pipeline, runtime_parameter_defaults

    check_remote("--pipeline-root", config.run.output_dir, "nothing; choose a bucket path every step can write")
    check_remote("--data", config.data.path or "", "the prepared TFRecords (train/ and eval/, from "
                 "python -m ingest.data_prep)")
    schema_file = config.resolve_schema_file()
    if schema_file and "://" not in schema_file and not config.quality.schema_in_image:
        raise ValueError(f"--schema {schema_file} is a local file; Kubeflow steps cannot read it. "
                         "Copy it to object storage (gs://, s3://) and pass that path.")
    saved = config.tuning.hyperparameters_file
    if saved and "://" not in saved:
        raise ValueError(f"--hyperparameters {saved} is a local file; Kubeflow steps cannot read it. Copy it into "
                         "a folder of its own in object storage (gs://, s3://) and pass that folder.")
    check_image_reference(image)
    data = _data_source(config)
    tfx_pipeline = create_pipeline(config, data, for_kubeflow=True)
    runner = tfx.orchestration.experimental.KubeflowV2DagRunner(
        # Pipeline spec schema 2.1: what KFP 2.x and its SDK read (typed parameters with defaults).  Each step
        # runs TFX's executor entrypoint through ours, which can load our custom artifact types (see there).
        config=tfx.orchestration.experimental.KubeflowV2DagRunnerConfig(
            default_image=image, default_commands=kubeflow_entrypoint.COMMAND, use_pipeline_spec_2_1=True),
        output_dir=os.path.dirname(os.path.abspath(output_file)),
        output_filename=os.path.basename(output_file),
    )
    runner.run(tfx_pipeline, parameter_values=runtime_parameter_defaults(config, data), write_out=True)
    return output_file


def write_kfp_package(job_file: str) -> str:
    """The bare PipelineSpec next to the PipelineJob: what the KFP UI and ``kfp.Client`` upload."""
    import json

    with open(job_file) as handle:
        job = json.load(handle)
    path = os.path.splitext(job_file)[0] + ".kfp.json"
    with open(path, "w") as handle:
        json.dump(job["pipelineSpec"], handle, indent=2, sort_keys=True)
    return path


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python kubeflow_runner.py", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="example:\n  python kubeflow_runner.py --pipeline-root gs://BUCKET/tfx --data gs://BUCKET/prepared "
               "--labels labels.txt --image REGISTRY/image-tfx:TAG")
    configs.add_cli_flags(parser)
    for action in parser._actions:  # local-only flags: a Kubeflow run's root is --pipeline-root
        if "--output-dir" in action.option_strings:
            action.help = argparse.SUPPRESS
    parser.add_argument("--pipeline-root", default=None,
                        help="required: object storage for every artifact, e.g. gs://BUCKET/tfx")
    parser.add_argument("--image", default=DEFAULT_IMAGE,
                        help="container image every step runs in (built from the Dockerfile; default: %(default)s)")
    parser.add_argument("--spec-file", default=None, help="where to write the spec (default: outputs/kubeflow/NAME.json)")
    parser.add_argument("--upload-embedded-data", action="store_true",
                        help="without --data: prepare the embedded dataset here and copy it to "
                             "<pipeline root>/data, where the spec reads it")
    args = parser.parse_args(argv)
    try:
        if not args.pipeline_root:
            raise ValueError("--pipeline-root is required: object storage every step can reach, e.g. "
                             "python kubeflow_runner.py --pipeline-root gs://BUCKET/tfx --upload-embedded-data")
        config = configs.from_cli(args)
        config.run.output_dir = args.pipeline_root
        check_remote("--pipeline-root", args.pipeline_root, "nothing; choose a bucket path every step can write")
        check_image_reference(args.image)
        if config.data.path is None:
            _use_embedded_dataset(config, args.pipeline_root)
            if not args.upload_embedded_data:
                raise ValueError(f"no --data: the spec reads the embedded dataset from {config.data.path}, which "
                                 "nothing has put there. Add --upload-embedded-data to prepare and copy it now, or "
                                 "pass --data with your prepared TFRecords on object storage.")
            upload_embedded_data(config, config.data.path)
        spec = args.spec_file or os.path.join("outputs", "kubeflow", f"{config.pipeline_name}.json")
        os.makedirs(os.path.dirname(os.path.abspath(spec)), exist_ok=True)
        compile_pipeline(config, args.image, spec)
        package = write_kfp_package(spec)
    except (ValueError, FileNotFoundError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(f"wrote {spec} (PipelineJob: Vertex AI Pipelines)")
    print(f"wrote {package} (PipelineSpec: Kubeflow Pipelines 2.x UI / kfp.Client)")
    return 0
