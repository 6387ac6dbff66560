"""Compiles the shared pipeline definition into a Kubeflow Pipelines 2.x spec."""

from __future__ import annotations

import argparse
import os
import sys
from typing import Optional, Sequence

from pipeline import configs
from pipeline import example_format as ef

DEFAULT_IMAGE = "image-tfx-pipeline:latest"
DEFAULT_PIPELINE_ROOT = "gs://YOUR_BUCKET/tfx-pipeline-root"
REMOTE_SCHEMES = ("gs://", "s3://", "minio://", "http://", "https://")


def _data_source(config: configs.PipelineConfig):
    """On Kubeflow the data is prepared TFRecords (train/ + eval/) at a remote location."""
    from tfx.proto import example_gen_pb2

    from pipeline.data_source import DataSource

    if not config.trainer.class_names:
        raise ValueError("--labels FILE is required for Kubeflow (class names in id order, one per line).")
    input_config = example_gen_pb2.Input(splits=[
        example_gen_pb2.Input.Split(name=split, pattern=f"{split}/*") for split in (ef.TRAIN_SPLIT, ef.EVAL_SPLIT)
    ])
    return DataSource(config.data or "", input_config, None, list(config.trainer.class_names), config.data or "")


def compile_pipeline(config: configs.PipelineConfig, image: str, output_file: str) -> str:
    from tfx import v1 as tfx

    from pipeline.pipeline import create_pipeline

    if not config.output_dir.startswith(REMOTE_SCHEMES):
        raise ValueError(
            f"--pipeline-root {config.output_dir!r} is not object storage; Kubeflow steps run in "
            f"separate pods and need a shared root such as gs://bucket/path or s3://bucket/path."
        )
    schema_file = config.resolve_schema_file()
    if schema_file and "://" not in schema_file:
        raise ValueError(f"--schema {schema_file} is a local file; Kubeflow steps cannot read it. "
                         "Copy it to object storage (gs://, s3://) and pass that path.")
    if not image or any(c.isspace() for c in image):
        raise ValueError(f"--image {image!r} is not a container image reference (e.g. gcr.io/project/image:tag).")
    tfx_pipeline = create_pipeline(config, _data_source(config), for_kubeflow=True)
    runner = tfx.orchestration.experimental.KubeflowV2DagRunner(
        config=tfx.orchestration.experimental.KubeflowV2DagRunnerConfig(default_image=image),
        output_dir=os.path.dirname(os.path.abspath(output_file)),
        output_filename=os.path.basename(output_file),
    )
    runner.run(tfx_pipeline, write_out=True)
    return output_file


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
        config.output_dir = args.pipeline_root
        if config.data is None:
            config.data = f"{args.pipeline_root.rstrip('/')}/data"
        spec = args.spec_file or os.path.join("outputs", "kubeflow", f"{config.pipeline_name}.json")
        os.makedirs(os.path.dirname(os.path.abspath(spec)), exist_ok=True)
        compile_pipeline(config, args.image, spec)
    except ValueError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(f"wrote {spec}")
    return 0
