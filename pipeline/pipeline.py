"""The TFX pipeline definition, shared by the local and the Kubeflow runner.

ImportExampleGen -> ImageValidator -> StatisticsGen / SchemaGen / ExampleValidator -> AnomalyGate
-> Transform -> Trainer -> LabelInspector (tasks with one class per image), (latest blessed model) -> Evaluator,
TfliteEvaluator -> ModelCardGen -> Pusher (the model and its card); FacetsPages beside.
"""

from __future__ import annotations

import dataclasses
import os
from typing import List, Optional

from ml_metadata.proto import metadata_store_pb2
from tfx import v1 as tfx
from tfx.dsl.components.base import executor_spec

from components.anomaly_gate.component import AnomalyGate
from components.atomic_pusher.component import AtomicPusher
from components.checked_evaluator.executor import Executor as CheckedEvaluatorExecutor
from components.facets_pages.component import FacetsPages
from components.id_free_schema.executor import Executor as IdFreeSchemaGenExecutor
from components.baseline_resolver import LatestBlessedBaselineStrategy
from components.image_validator.component import ImageValidator
from components.label_inspector.component import LabelInspector
from components.model_card.component import ModelCardGen
from components.prepared_example_gen.executor import Executor as PreparedExampleGenExecutor
from components.staged_transform.executor import Executor as StagedTransformExecutor
from components.tflite_evaluator.component import TfliteEvaluator
from common import names
from ingest.source import DataSource
from pipeline import cache_keys
from pipeline.component_configs import (absolute, inspection_config, lineage, model_card_config,
                                       statistics_options, validation_config)
from pipeline.configs import PipelineConfig
from pipeline.evaluation import eval_config, tflite_eval_config

PREPROCESSING_FN = "trainer.preprocessing.preprocessing_fn"
RUN_FN = "trainer.run.run_fn"
TUNER_FN = "trainer.tuner.tuner_fn"
#: TFMA hooks for the TfliteEvaluator (custom_eval_shared_model, custom_extractors).
TFLITE_EVALUATION_MODULE = "trainer.tflite_evaluation"


def _runtime_parameters(config: PipelineConfig, data: DataSource) -> dict:
    """What a Kubeflow user changes per run without recompiling.

    ``data-root`` is the data location.  Training steps and blessing
    thresholds live in TFX protos (TrainArgs, EvalConfig), which
    KubeflowV2DagRunner passes as whole JSON strings: ``train-args`` (e.g.
    ``{"num_steps": 1000}``) and ``eval-config`` default to the compiled values.
    """
    from google.protobuf import json_format

    parameter = tfx.dsl.experimental.RuntimeParameter
    return {
        "data-root": parameter(name="data-root", ptype=str, default=data.input_base),
        "train-args": parameter(name="train-args", ptype=str, default=json_format.MessageToJson(
            tfx.proto.TrainArgs(num_steps=config.steps.train_steps), sort_keys=True, indent=None)),
        "eval-config": parameter(name="eval-config", ptype=str, default=json_format.MessageToJson(
            eval_config(config), sort_keys=True, indent=None)),
    }


def runtime_parameter_defaults(config: PipelineConfig, data: DataSource) -> dict:
    """Default value of each Kubeflow runtime parameter (written into the compiled spec's runtimeConfig)."""
    return {name: parameter.default for name, parameter in _runtime_parameters(config, data).items()}


def _baseline_resolver(candidate, for_kubeflow: bool, model_lineage: str) -> tfx.dsl.Resolver:
    """Finds the model to compare against (see components/baseline_resolver.py).

    KubeflowV2DagRunner compiles only TFX's built-in strategies, so the
    compiled pipeline uses LatestBlessedModelStrategy (the latest blessed model of the pipeline name).
    """
    channels = dict(
        model=tfx.dsl.Channel(type=tfx.types.standard_artifacts.Model),
        model_blessing=tfx.dsl.Channel(type=tfx.types.standard_artifacts.ModelBlessing),
    )
    if for_kubeflow:
        return tfx.dsl.Resolver(strategy_class=tfx.dsl.experimental.LatestBlessedModelStrategy,
                                **channels).with_id(names.BASELINE_RESOLVER)
    channels["candidate"] = candidate
    return tfx.dsl.Resolver(strategy_class=LatestBlessedBaselineStrategy, config={"lineage": model_lineage},
                            **channels).with_id(names.BASELINE_RESOLVER)


@dataclasses.dataclass
class _Ingested:
    """The data side of the DAG: what later stages read."""

    example_gen: object
    image_validator: ImageValidator
    statistics_gen: object
    schema_gen: object
    example_validator: object
    anomaly_gate: AnomalyGate

    @property
    def examples(self):
        """Only the examples the ImageValidator let through flow on."""
        return self.image_validator.outputs["validated_examples"]

    def components(self) -> List:
        return [self.example_gen, self.image_validator, self.statistics_gen, self.schema_gen,
                self.example_validator, self.anomaly_gate]


def _example_gen(config: PipelineConfig, data: DataSource, runtime: dict):
    example_gen = tfx.components.ImportExampleGen(
        input_base=runtime.get("data-root", data.input_base),
        input_config=data.input_config, output_config=data.output_config,
    )
    # Prepared data is already in a seeded shuffled order: its shards are copied, not reshuffled in memory.
    example_gen.executor_spec = executor_spec.BeamExecutorSpec(PreparedExampleGenExecutor)
    return example_gen


def _schema_gen(config: PipelineConfig, statistics, for_kubeflow: bool):
    """ImportSchemaGen of a curated schema (it states intent: label ids, class names, required images),
    else TFX's inference without enumerating file names (or other per-example ids) as a value domain."""
    schema_file = config.resolve_schema_file()
    if schema_file and not for_kubeflow and "://" not in schema_file:
        # Imported from a copy whose path is its content hash: editing the schema reruns ImportSchemaGen.
        schema_file = cache_keys.content_addressed_copy(schema_file, os.path.join(config.run.output_dir, "schemas"))
    if schema_file:
        return tfx.components.ImportSchemaGen(schema_file=schema_file)
    schema_gen = tfx.components.SchemaGen(statistics=statistics, infer_feature_shape=True)
    schema_gen.executor_spec = executor_spec.ExecutorClassSpec(IdFreeSchemaGenExecutor)
    return schema_gen


def _ingest_and_validate(config: PipelineConfig, data: DataSource, runtime: dict, for_kubeflow: bool) -> _Ingested:
    """ImportExampleGen -> ImageValidator -> StatisticsGen / SchemaGen / ExampleValidator -> AnomalyGate."""
    example_gen = _example_gen(config, data, runtime)
    # Every image is decoded once here; only the good examples flow on.
    image_validator = ImageValidator(examples=example_gen.outputs["examples"], config=validation_config(config))
    statistics_gen = tfx.components.StatisticsGen(examples=image_validator.outputs["validated_examples"],
                                                  stats_options=statistics_options(config))
    schema_gen = _schema_gen(config, statistics_gen.outputs["statistics"], for_kubeflow)
    example_validator = tfx.components.ExampleValidator(
        statistics=statistics_gen.outputs["statistics"], schema=schema_gen.outputs["schema"]
    )
    # Transform waits for the gate: anomalies in what the model reads stop the run here.
    anomaly_gate = AnomalyGate(
        anomalies=example_validator.outputs["anomalies"],
        policy=config.quality.block_anomalies,
        model_features=config.model_features(),
        code_version=config.code_versions["AnomalyGate"],
    )
    return _Ingested(example_gen, image_validator, statistics_gen, schema_gen, example_validator, anomaly_gate)


def _transform(config: PipelineConfig, ingested: _Ingested):
    transform = tfx.components.Transform(
        examples=ingested.examples,
        schema=ingested.schema_gen.outputs["schema"],
        preprocessing_fn=PREPROCESSING_FN,
        # Only what changes Transform's output: a new learning rate must not re-decode every image.
        custom_config=config.trainer.transform_config().to_dict(),
        # StatisticsGen already profiles the raw data; Transform's own pre/post
        # statistics would decode every image twice more.
        disable_statistics=True,
        # preprocessing_fn has no analyzers (trainer/preprocessing_test.py holds it to that), so TFT's
        # analysis pass computes nothing from the data, yet TFX reads and decodes the analyze split for it:
        # the eval split, not the four-times-larger train split, is what that read costs.
        splits_config=tfx.proto.SplitsConfig(analyze=[names.EVAL_SPLIT],
                                             transform=[names.TRAIN_SPLIT, names.EVAL_SPLIT]),
    )
    # TFX's Transform; its output is written a batch at a time by the C++ writer (see the executor's docstring).
    transform.executor_spec = executor_spec.BeamExecutorSpec(StagedTransformExecutor)
    transform.add_upstream_node(ingested.anomaly_gate)
    return transform


def _tuner(config: PipelineConfig, transform, schema):
    """``--tune``: TFX's Tuner, searching on the transformed training split (trainer/tuner.py); None without."""
    if not config.tuning.tune:
        return None
    return tfx.components.Tuner(
        tuner_fn=TUNER_FN,
        examples=transform.outputs["transformed_examples"],
        transform_graph=transform.outputs["transform_graph"],
        schema=schema,
        # The budget (trials, steps per trial) travels in custom_config, the one place trainer/tuner.py reads it.
        custom_config={**config.trainer.to_dict(), names.TUNING_CONFIG_KEY: config.tuning.custom_config()},
    )


def _saved_hyperparameters(config: PipelineConfig):
    """``--hyperparameters FILE``: an Importer of a folder holding only that file (TFX's Trainer reads the one
    file of its hyperparameters artifact), content-addressed so an edited file is a new artifact."""
    path = config.tuning.hyperparameters_file
    if not path:
        return None
    folder = path if "://" in path else os.path.dirname(
        cache_keys.content_addressed_copy(path, os.path.join(config.run.output_dir, "hyperparameters")))
    return tfx.dsl.Importer(source_uri=folder, artifact_type=tfx.types.standard_artifacts.HyperParameters
                            ).with_id(names.HYPERPARAMETERS_IMPORTER)


def _trainer(config: PipelineConfig, transform, schema, runtime: dict, model_lineage: str, hyperparameters=None):
    """The validation split that picks the best epoch is carved from train inside the Trainer
    (``--validation-batches`` in its custom_config): TFX's EvalArgs would suggest the eval split, which
    only the Evaluator reads.  ``hyperparameters``: the Tuner's best, or the imported ``--hyperparameters``."""
    return tfx.components.Trainer(
        run_fn=RUN_FN,
        examples=transform.outputs["transformed_examples"],
        transform_graph=transform.outputs["transform_graph"],
        schema=schema,
        hyperparameters=hyperparameters,
        train_args=runtime.get("train-args", tfx.proto.TrainArgs(num_steps=config.steps.train_steps)),
        custom_config=dataclasses.replace(config.trainer, lineage=model_lineage).to_dict(),
    )


def _evaluator(config: PipelineConfig, examples, model, baseline_model, runtime: dict):
    evaluator = tfx.components.Evaluator(
        examples=examples, model=model, baseline_model=baseline_model,
        eval_config=runtime.get("eval-config", eval_config(config)),
    )
    # TFX's Evaluator, refusing an eval-config (a runtime parameter on Kubeflow) that has no blessing threshold.
    evaluator.executor_spec = executor_spec.BeamExecutorSpec(CheckedEvaluatorExecutor)
    return evaluator


def _tflite_evaluator(config: PipelineConfig, examples, model) -> Optional[TfliteEvaluator]:
    """What the TFLite conversion (and int8 quantisation) loses, measured on the same eval split."""
    if config.trainer.tflite == "none":
        return None
    return TfliteEvaluator(examples=examples, model=model, eval_config=tflite_eval_config(config),
                           module_path=TFLITE_EVALUATION_MODULE, code_version=config.code_versions[names.TFLITE_EVALUATOR])


def _label_inspector(config: PipelineConfig, examples, model) -> Optional[LabelInspector]:
    """Suspected label errors, from out-of-sample probabilities on the trained model's embeddings."""
    if not config.contract.inspects_labels:
        return None
    return LabelInspector(examples=examples, model=model, config=inspection_config(config))


def _facets_pages(config: PipelineConfig, ingested: _Ingested, label_issues) -> FacetsPages:
    """Facets Overview and Dive as offline HTML artifacts (the Kubeflow UI shows them; the local report copies them)."""
    validator = ingested.image_validator
    return FacetsPages(
        statistics=ingested.statistics_gen.outputs["statistics"], examples=ingested.examples,
        quarantine=validator.outputs["quarantine"], validation_report=validator.outputs["report"],
        label_issues=label_issues, image_key=config.trainer.image_key, class_names=config.trainer.class_names,
        code_version=config.code_versions["FacetsPages"])


def _pusher(config: PipelineConfig, model, blessing, model_card) -> AtomicPusher:
    return AtomicPusher(
        model=model,
        model_blessing=blessing,
        # The card is pushed inside the version directory, beside the SavedModel it describes.
        model_card=model_card,
        push_destination=tfx.proto.PushDestination(
            filesystem=tfx.proto.PushDestination.Filesystem(base_directory=absolute(config.serving_model_dir))
        ),
    ).with_id(names.PUSHER)


def create_components(config: PipelineConfig, data: DataSource, for_kubeflow: bool = False) -> List:
    """All components, in topological order."""
    model_lineage = lineage(config)
    runtime = _runtime_parameters(config, data) if for_kubeflow else {}
    ingested = _ingest_and_validate(config, data, runtime, for_kubeflow)
    examples = ingested.examples
    transform = _transform(config, ingested)
    tuner = _tuner(config, transform, ingested.schema_gen.outputs["schema"])
    saved = _saved_hyperparameters(config)
    hyperparameters = (tuner.outputs["best_hyperparameters"] if tuner else saved.outputs["result"] if saved
                       else None)
    trainer = _trainer(config, transform, ingested.schema_gen.outputs["schema"], runtime, model_lineage,
                       hyperparameters)
    model = trainer.outputs["model"]
    label_inspector = _label_inspector(config, examples, model)
    label_issues = label_inspector.outputs["label_issues"] if label_inspector else None
    facets_pages = _facets_pages(config, ingested, label_issues)
    model_resolver = _baseline_resolver(model, for_kubeflow, model_lineage)
    evaluator = _evaluator(config, examples, model, model_resolver.outputs["model"], runtime)
    tflite_evaluator = _tflite_evaluator(config, examples, model)
    model_card = ModelCardGen(
        model=model, model_run=trainer.outputs["model_run"],
        evaluation=evaluator.outputs["evaluation"], blessing=evaluator.outputs["blessing"],
        validation_report=ingested.image_validator.outputs["report"],
        tflite_evaluation=tflite_evaluator.outputs["evaluation"] if tflite_evaluator else None,
        label_issues=label_issues, config=model_card_config(config))
    pusher = _pusher(config, model, evaluator.outputs["blessing"], model_card.outputs["model_card"])
    if label_inspector is not None:
        # --label-issues stop keeps a model off the serving path.
        pusher.add_upstream_node(label_inspector)
    components = [*ingested.components(), transform, *[c for c in (tuner, saved) if c], trainer,
                  *([label_inspector] if label_inspector else []), facets_pages, model_resolver, evaluator,
                  *([tflite_evaluator] if tflite_evaluator else []), model_card, pusher]
    for component in components:
        extra = config.run.component_beam_args.get(component.id)
        if extra:
            component.with_beam_pipeline_args(config.beam_pipeline_args() + extra)
    return components


def create_pipeline(
    config: PipelineConfig,
    data: DataSource,
    metadata_connection_config: Optional[metadata_store_pb2.ConnectionConfig] = None,
    for_kubeflow: bool = False,
) -> tfx.dsl.Pipeline:
    return tfx.dsl.Pipeline(
        pipeline_name=config.pipeline_name,
        pipeline_root=absolute(config.pipeline_root),
        components=create_components(config, data, for_kubeflow),
        enable_cache=config.run.enable_cache,
        metadata_connection_config=metadata_connection_config,
        beam_pipeline_args=config.beam_pipeline_args(),
    )
