"""The batch-inference DAG of ``--predict``: new images -> ImageValidator -> BulkInferrer.

ImportExampleGen (one ``predict`` split) -> ImageValidator (bad files are
quarantined with their reason, as in training) -> BulkInferrer, with the
model imported by URI (the latest blessed model of the training pipeline,
found in the same ML Metadata).  The run is recorded in that ML Metadata as
pipeline ``<training pipeline>-predict``.
"""

from __future__ import annotations

import dataclasses
import os
from typing import Optional

from ml_metadata.proto import metadata_store_pb2
from tfx import v1 as tfx

from common import names
from components.image_validator.component import ImageValidator
from pipeline.configs import PipelineConfig
from pipeline.component_configs import absolute, validation_config


def inference_pipeline_name(config: PipelineConfig) -> str:
    return f"{config.pipeline_name}-predict"


def create_inference_pipeline(config: PipelineConfig, input_base: str, model_uri: str,
                              metadata_connection_config: Optional[metadata_store_pb2.ConnectionConfig] = None
                              ) -> tfx.dsl.Pipeline:
    example_gen = tfx.components.ImportExampleGen(
        input_base=input_base,
        input_config=tfx.proto.Input(splits=[tfx.proto.Input.Split(name=names.PREDICT_SPLIT,
                                                                   pattern=f"{names.PREDICT_SPLIT}/*")]),
        # An explicit empty output config keeps the one input split (the default would hash it into train/eval).
        output_config=tfx.proto.Output())
    # Nothing to learn from here, so no share of bad files stops the run: each is reported with its reason.
    checks = dataclasses.replace(validation_config(config), label_key=None, mask_key=None, box_keys=None,
                                 max_bad_fraction=1.0)
    image_validator = ImageValidator(examples=example_gen.outputs["examples"], config=checks)
    model = tfx.dsl.Importer(source_uri=model_uri, artifact_type=tfx.types.standard_artifacts.Model,
                             reimport=False).with_id(names.MODEL_IMPORTER)
    bulk_inferrer = tfx.components.BulkInferrer(
        examples=image_validator.outputs["validated_examples"],
        model=model.outputs["result"],
        data_spec=tfx.proto.DataSpec(example_splits=[names.PREDICT_SPLIT]),
        model_spec=tfx.proto.ModelSpec(model_signature_name=[names.BULK_INFERENCE_SIGNATURE]),
    )
    return tfx.dsl.Pipeline(
        pipeline_name=inference_pipeline_name(config),
        pipeline_root=absolute(os.path.join(os.path.dirname(config.pipeline_root), inference_pipeline_name(config))),
        components=[example_gen, image_validator, model, bulk_inferrer],
        enable_cache=False,  # a folder may change under the same path: always predict afresh
        metadata_connection_config=metadata_connection_config,
        beam_pipeline_args=config.beam_pipeline_args(),
    )
