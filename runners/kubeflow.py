"""Compiles the shared pipeline definition into a Kubeflow Pipelines 2.x spec."""

from __future__ import annotations

import argparse
import os
import sys
from typing import Optional, Sequence

from common import names
from pipeline import configs

DEFAULT_IMAGE = "image-tfx-pipeline:latest"
#: Where the Dockerfile puts the project; the curated schemas ship inside the image.
IMAGE_PROJECT_DIR = "/pipeline"
DEFAULT_PIPELINE_ROOT = "gs://YOUR_BUCKET/tfx-pipeline-root"
REMOTE_SCHEMES = ("gs://", "s3://", "minio://", "http://", "https://")


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
        config.trainer.class_names = embedded.class_names(config.task)
    if not config.quality.schema_file:
        config.quality.schema_file = f"{IMAGE_PROJECT_DIR}/schema/{config.task}/schema.pbtxt"
        config.quality.schema_in_image = True


def compile_pipeline(config: configs.PipelineConfig, image: str, output_file: str) -> str:
    from tfx import v1 as tfx

    from pipeline.pipeline import create_pipeline, runtime_parameter_defaults

    if not config.run.output_dir.startswith(REMOTE_SCHEMES):
        raise ValueError(
            f"--pipeline-root {config.run.output_dir!r} is not object storage; Kubeflow steps run in "
            f"separate pods and need a shared root such as gs://bucket/path or s3://bucket/path."
        )
    schema_file = config.resolve_schema_file()
    if schema_file and "://" not in schema_file and not config.quality.schema_in_image:
        raise ValueError(f"--schema {schema_file} is a local file; Kubeflow steps cannot read it. "
                         "Copy it to object storage (gs://, s3://) and pass that path.")
    if not image or any(c.isspace() for c in image):
        raise ValueError(f"--image {image!r} is not a container image reference (e.g. gcr.io/project/image:tag).")
    data = _data_source(config)
    tfx_pipeline = create_pipeline(config, data, for_kubeflow=True)
    runner = tfx.orchestration.experimental.KubeflowV2DagRunner(
        # Pipeline spec schema 2.1: what KFP 2.x and its SDK read (typed parameters with defaults).
        config=tfx.orchestration.experimental.KubeflowV2DagRunnerConfig(default_image=image, use_pipeline_spec_2_1=True),
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
    parser = argparse.ArgumentParser(prog="python kubeflow_runner.py", description=__doc__)
    configs.add_cli_flags(parser)
    parser.add_argument("--pipeline-root", default=DEFAULT_PIPELINE_ROOT,
                        help="object-storage root for artifacts (default: %(default)s)")
    parser.add_argument("--image", default=DEFAULT_IMAGE, help="container image for every step (default: %(default)s)")
    parser.add_argument("--spec-file", default=None, help="where to write the spec (default: outputs/kubeflow/NAME.json)")
    args = parser.parse_args(argv)
    try:
        config = configs.from_cli(args)
        config.run.output_dir = args.pipeline_root
        if config.data.path is None:
            _use_embedded_dataset(config, args.pipeline_root)
        spec = args.spec_file or os.path.join("outputs", "kubeflow", f"{config.pipeline_name}.json")
        os.makedirs(os.path.dirname(os.path.abspath(spec)), exist_ok=True)
        compile_pipeline(config, args.image, spec)
        package = write_kfp_package(spec)
    except ValueError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(f"wrote {spec} (PipelineJob: Vertex AI Pipelines)")
    print(f"wrote {package} (PipelineSpec: Kubeflow Pipelines 2.x UI / kfp.Client)")
    return 0
