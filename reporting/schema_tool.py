"""Curated schemas: create or update ``schema/<task>/schema.pbtxt`` from the latest statistics.

Why curate: SchemaGen infers what it saw — an image feature, an integer
label — but not what must hold: that the label is one of the known class ids,
that the class names are exactly these, that every example has an image.  A
curated schema states that; the pipeline imports it (ImportSchemaGen) instead
of re-inferring, so new data is checked against intent, not against itself.

    python -m reporting.schema_tool [--task classification] [--output-dir outputs]
                                   [--schema schema/classification/schema.pbtxt] [--mode update|regenerate] [--yes]

Finds the newest StatisticsGen output of that pipeline through ML Metadata,
infers (``regenerate``) or widens the existing schema to fit it (``update``),
adds the curated parts (domains for image, mask, label and class names), shows
the diff and writes only after confirmation (``--yes`` in scripts).
"""

from __future__ import annotations

import argparse
import difflib
import os
import sys
from pathlib import Path
from typing import List, Optional, Sequence

from google.protobuf import text_format
from tensorflow_metadata.proto.v0 import schema_pb2

from common import names, tasks
from common.tasks.contract import BOXES, CLASS_ID, FeatureKeys
from common.labels import read_labels_file
from reporting import mlmd

ROOT = Path(__file__).resolve().parent.parent
SCHEMA_DIR = ROOT / "schema"


def default_schema_path(task: str) -> Path:
    """The curated schema of the embedded default dataset of ``task``."""
    return SCHEMA_DIR / task / "schema.pbtxt"


def _feature(schema: schema_pb2.Schema, name: str) -> Optional[schema_pb2.Feature]:
    return next((f for f in schema.feature if f.name == name), None)


def _require_one(feature: schema_pb2.Feature) -> None:
    feature.presence.min_fraction = 1.0
    feature.presence.min_count = 1


def _string_domain(schema: schema_pb2.Schema, feature: schema_pb2.Feature, name: str, values: List[str]) -> None:
    feature.ClearField("domain_info")
    feature.domain = name
    for domain in schema.string_domain:
        if domain.name == name:
            del domain.value[:]
            domain.value.extend(values)
            return
    schema.string_domain.add(name=name, value=values)


def _curate_class_id(curated: schema_pb2.Schema, targets: Sequence[str], class_names: Sequence[str]) -> None:
    """One class id per image, in range, and the class-name vocabulary of ``label_name``."""
    label_key = targets[0]
    label = _feature(curated, label_key)
    if label is None:
        raise ValueError(f"the statistics have no '{label_key}' feature (--label-key)")
    _require_one(label)
    label.ClearField("domain_info")
    label.int_domain.min = 0
    label.int_domain.max = len(class_names) - 1
    label.int_domain.is_categorical = True
    label_name = _feature(curated, names.LABEL_NAME_KEY)
    if label_name is not None:
        _string_domain(curated, label_name, names.LABEL_NAME_KEY, list(class_names))


def _curate_boxes(curated: schema_pb2.Schema, targets: Sequence[str], class_names: Sequence[str]) -> None:
    """Every example lists its boxes (possibly none): normalised coordinates, class ids in range."""
    for key in targets:
        feature = _feature(curated, key)
        if feature is None:
            raise ValueError(f"the statistics have no '{key}' feature; is this a detection dataset?")
        _require_one(feature)
        feature.ClearField("shape")
        feature.ClearField("domain_info")
        if key == names.BOX_CLASS_KEY:
            feature.int_domain.min = 0
            feature.int_domain.max = len(class_names) - 1
            feature.int_domain.is_categorical = True
        else:
            feature.float_domain.min = 0.0
            feature.float_domain.max = 1.0


#: What curation adds for each target kind beyond the encoded images (a mask is an encoded image itself).
_TARGET_CURATION = {CLASS_ID: _curate_class_id, BOXES: _curate_boxes}


def curate(schema: schema_pb2.Schema, task: str, class_names: Sequence[str],
           image_key: str = names.DEFAULT_IMAGE_KEY, label_key: str = names.DEFAULT_LABEL_KEY,
           mask_key: str = names.DEFAULT_MASK_KEY) -> schema_pb2.Schema:
    """Adds what inference cannot know: required images, label ids and class-name vocabularies."""
    contract = tasks.get(task)
    keys = FeatureKeys(image_key=image_key, label_key=label_key, mask_key=mask_key)
    curated = schema_pb2.Schema()
    curated.CopyFrom(schema)
    for key in contract.encoded_image_keys(keys):
        feature = _feature(curated, key)
        if feature is None:
            raise ValueError(f"the statistics have no '{key}' feature; is this the right dataset and --image-key?")
        _require_one(feature)
        feature.ClearField("domain_info")
        feature.image_domain.SetInParent()
    curate_target = _TARGET_CURATION.get(contract.target_kind)
    if curate_target is not None:
        curate_target(curated, contract.target_keys(keys), class_names)
    if contract.target_kind != CLASS_ID:
        # Examples without a label_name carry the class-name list instead.
        class_names_feature = _feature(curated, names.CLASS_NAMES_KEY)
        if class_names_feature is not None:
            _string_domain(curated, class_names_feature, names.CLASS_NAMES_KEY, list(class_names))
    return curated


def schema_text(schema: schema_pb2.Schema) -> str:
    return text_format.MessageToString(schema)


def build_schema(statistics, task: str, class_names: Sequence[str], existing: Optional[schema_pb2.Schema],
                 mode: str, keys: Optional[dict] = None) -> schema_pb2.Schema:
    """``regenerate``: infer anew; ``update``: widen ``existing`` to accept the statistics. Then curate."""
    import tensorflow_data_validation as tfdv

    if mode == "update" and existing is not None:
        schema = tfdv.update_schema(existing, statistics)
    else:
        schema = tfdv.infer_schema(statistics, infer_feature_shape=True)
    return curate(schema, task, class_names, **(keys or {}))


def latest_statistics(metadata_path: str, pipeline_name: str):
    """Train-split statistics of the newest StatisticsGen execution of the pipeline."""
    import tensorflow_data_validation as tfdv

    _, nodes = mlmd.run_nodes(metadata_path, pipeline_name)
    statistics = nodes.get(names.STATISTICS_GEN)
    if statistics is None or not statistics.outputs.get("statistics"):
        raise LookupError(f"no StatisticsGen output for {pipeline_name} in {metadata_path}; run the pipeline first")
    return tfdv.load_stats_binary(os.path.join(statistics.uri("statistics"), f"Split-{names.TRAIN_SPLIT}",
                                               "FeatureStats.pb"))


def run_feature_keys(metadata_path: str, pipeline_name: str) -> dict:
    """The image/label/mask keys the latest run was configured with (Transform's custom_config)."""
    _, nodes = mlmd.run_nodes(metadata_path, pipeline_name)
    transform = nodes.get(names.TRANSFORM)
    recorded = mlmd.custom_config(transform.execution) if transform else {}
    return {key: recorded[key] for key in ("image_key", "label_key", "mask_key") if key in recorded}


def main(argv: Optional[Sequence[str]] = None) -> int:
    from pipeline import configs

    parser = argparse.ArgumentParser(prog="python -m reporting.schema_tool", description=__doc__.split("\n\n")[0])
    parser.add_argument("--task", choices=tasks.task_names(), default=tasks.task_names()[0])
    parser.add_argument("--output-dir", default="outputs", help="where the pipeline ran (default: %(default)s)")
    parser.add_argument("--pipeline-name", default="", help="default: image-TASK")
    parser.add_argument("--schema", default=None, help="schema file to write (default: schema/TASK/schema.pbtxt)")
    parser.add_argument("--labels", default=None, help="class names, one per line (default: the run's labels.txt)")
    parser.add_argument("--mode", choices=("update", "regenerate"), default="update")
    parser.add_argument("--yes", action="store_true", help="write without asking")
    args = parser.parse_args(argv)
    config = configs.PipelineConfig(trainer=configs.TrainerConfig(task=args.task),
                                    run=configs.RunConfig(pipeline_name=args.pipeline_name, output_dir=args.output_dir))
    path = Path(args.schema) if args.schema else default_schema_path(args.task)
    try:
        statistics = latest_statistics(config.metadata_path, config.pipeline_name)
        class_names = read_labels_file(args.labels) if args.labels else _run_class_names(config)
        existing = None
        if path.exists():
            existing = text_format.Parse(path.read_text(), schema_pb2.Schema())
        keys = run_feature_keys(config.metadata_path, config.pipeline_name)
        schema = build_schema(statistics, args.task, class_names, existing, args.mode, keys)
    except (LookupError, ValueError, OSError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    old, new = (schema_text(existing) if existing else ""), schema_text(schema)
    if old == new:
        print(f"{path}: up to date, nothing to write")
        return 0
    sys.stdout.writelines(difflib.unified_diff(old.splitlines(True), new.splitlines(True),
                                               str(path), f"{path} (new)"))
    if not args.yes:
        if not sys.stdin.isatty():
            print("\nnot written: pass --yes to write without a terminal", file=sys.stderr)
            return 1
        if input(f"\nwrite {path}? [y/N] ").strip().lower() not in ("y", "yes"):
            print("not written")
            return 1
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(new)
    print(f"wrote {path}")
    return 0


def _run_class_names(config) -> List[str]:
    """Class names of the data the latest run used: labels.txt beside its ImportExampleGen input."""
    _, nodes = mlmd.run_nodes(config.metadata_path, config.pipeline_name)
    input_base = mlmd.custom_property(nodes[names.IMPORT_EXAMPLE_GEN].execution, "input_base") or ""
    for candidate in (Path(input_base) / names.LABELS_FILENAME, Path(input_base).parent / names.LABELS_FILENAME):
        if candidate.is_file():
            return read_labels_file(str(candidate))
    raise LookupError(f"no labels.txt next to {input_base!r}; pass --labels FILE")


if __name__ == "__main__":
    sys.exit(main())
