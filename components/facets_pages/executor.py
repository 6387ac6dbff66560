"""FacetsPages executor: writes the Facets Overview (train vs eval) and the Facets Dive (every example).

Dive shows one sprite per example — good and quarantined alike — with, per
example: file, split, label, quarantine reason (or ``ok``), width, height,
format and, when the LabelInspector ran, the model's predicted class and
confidence, whether the prediction matches the label, the suspected-label-
error score and whether it is a suspect.  Faceting label against predicted
shows the confusion matrix made of images.
"""

from __future__ import annotations

import csv
import json
import os
import zlib
from typing import Any, Dict, Iterator, List, Optional, Tuple

import tensorflow as tf
from tfx.dsl.components.base import base_executor
from tfx.types import artifact_utils

from common import names
from common.examples_io import first_bytes, split_features
from components.facets_pages import pages
from components.facets_pages.spec import (CONFIG_KEY, DIVE_KEY, EXAMPLES_KEY, LABEL_ISSUES_KEY, OVERVIEW_KEY,
                                          QUARANTINE_KEY, STATISTICS_KEY, VALIDATION_REPORT_KEY)
from components.image_validator.report import load_report
from components.label_inspector.spec import PREDICTIONS_FILENAME


def load_statistics(uri: str, split: str):
    from tensorflow_metadata.proto.v0 import statistics_pb2

    stats = statistics_pb2.DatasetFeatureStatisticsList()
    with tf.io.gfile.GFile(os.path.join(uri, f"Split-{split}", "FeatureStats.pb"), "rb") as handle:
        stats.ParseFromString(handle.read())
    return stats


def read_images(uri: str, split: str, image_key: str, filename_key: str) -> Iterator[Tuple[str, bytes]]:
    """(file name, encoded image) of each example of one split of an Examples artifact, one at a time."""
    for features in split_features(uri, split):
        yield ((first_bytes(features, filename_key) or b"").decode("utf-8", "replace"),
               first_bytes(features, image_key) or b"")


#: Dive shows at most this many examples: every quarantined and suspected one, then an even sample of the
#: rest.  Past it the sprites would be a few pixels wide (one 4096-px texture) and the page hundreds of MB.
MAX_DIVE_EXAMPLES = 20000


def select_for_dive(rows: List[Dict[str, Any]], limit: int = MAX_DIVE_EXAMPLES) -> List[Dict[str, Any]]:
    """All rows when they fit; else the quarantined and suspected ones plus a deterministic sample of the
    rest (a hash of split and file, so reruns show the same examples), in report order."""
    if len(rows) <= limit:
        return rows
    must = [i for i, r in enumerate(rows) if r["quarantine"] != "ok" or r.get("suspect") == "yes"][:limit]
    others = sorted((i for i, r in enumerate(rows) if r["quarantine"] == "ok" and r.get("suspect") != "yes"),
                    key=lambda i: zlib.crc32(f"{rows[i]['split']}/{rows[i]['file']}".encode()))
    chosen = sorted(must + others[:limit - len(must)])
    return [rows[i] for i in chosen]


def read_predictions(uri: Optional[str]) -> Dict[Tuple[str, str], Dict[str, str]]:
    if not uri:
        return {}
    path = os.path.join(uri, PREDICTIONS_FILENAME)
    if not tf.io.gfile.exists(path):
        return {}
    with tf.io.gfile.GFile(path) as handle:
        return {(row["split"], row["file"]): row for row in csv.DictReader(handle)}


def dive_rows(report: Dict[str, Any], predictions: Dict[Tuple[str, str], Dict[str, str]],
              class_names: List[str]) -> List[Dict[str, Any]]:
    """One Dive item per example of the validation report, in report order."""
    rows = []
    for example in report.get("examples", []):
        label = example.get("label")
        row = {
            "file": example["filename"], "split": example["split"],
            "label": class_names[label] if isinstance(label, int) and label < len(class_names) else
            ("" if label is None else str(label)),
            "quarantine": example.get("reason") or "ok",
            "width": example.get("width", 0), "height": example.get("height", 0),
            "format": example.get("format", ""),
        }
        if "ignored_fraction" in example and report.get("config", {}).get("mask_key"):
            row["ignored_share"] = round(float(example["ignored_fraction"]), 4)
        predicted = predictions.get((example["split"], example["filename"]))
        if predictions:
            row.update(predicted=predicted["predicted_label"] if predicted else "",
                       confidence=float(predicted["confidence"]) if predicted else 0.0,
                       correct=("yes" if predicted["predicted_label"] == row["label"] else "no") if predicted else "",
                       label_issue_score=float(predicted["score"]) if predicted else 0.0,
                       suspect=("yes" if predicted["suspect"] == "True" else "no") if predicted else "")
        rows.append(row)
    return rows


def write_page(uri: str, page: str) -> str:
    """Writes ``page`` as the file at ``uri`` (replacing the empty folder the orchestrator may have made)."""
    if tf.io.gfile.isdir(uri):
        if tf.io.gfile.listdir(uri):
            raise FileExistsError(f"{uri} is a folder that is not empty; refusing to replace it with a page")
        tf.io.gfile.rmtree(uri)
    tf.io.gfile.makedirs(os.path.dirname(uri))
    with tf.io.gfile.GFile(uri, "w") as handle:
        handle.write(page)
    return uri


class Executor(base_executor.BaseExecutor):
    """See the module docstring."""

    def Do(self, input_dict, output_dict, exec_properties) -> None:
        config = json.loads(exec_properties[CONFIG_KEY])
        image_key, filename_key = config["image_key"], config.get("filename_key", names.FILENAME_KEY)
        class_names = list(config.get("class_names", []))
        statistics = artifact_utils.get_single_instance(input_dict[STATISTICS_KEY])
        examples = artifact_utils.get_single_instance(input_dict[EXAMPLES_KEY])
        quarantine = artifact_utils.get_single_instance(input_dict[QUARANTINE_KEY])
        report_artifact = artifact_utils.get_single_instance(input_dict[VALIDATION_REPORT_KEY])
        issues = input_dict.get(LABEL_ISSUES_KEY) or []
        splits = artifact_utils.decode_split_names(statistics.split_names)

        overview = pages.overview_page(
            "Facets Overview: " + " vs ".join(splits),
            [(" vs ".join(splits), pages.combine([(s, load_statistics(statistics.uri, s)) for s in splits]))],
            intro="<p class=note>TFDV statistics of the validated examples, split by split.</p>")
        write_page(artifact_utils.get_single_uri(output_dict[OVERVIEW_KEY]), overview)

        report = load_report(report_artifact.uri)
        every = dive_rows(report, read_predictions(issues[0].uri if issues else None), class_names)
        rows = select_for_dive(every)
        position = {(r["split"], r["file"]): i for i, r in enumerate(rows)}

        def images() -> Iterator[Tuple[int, bytes]]:  # streamed into the atlas: no image is kept
            for split in artifact_utils.decode_split_names(examples.split_names):
                for source in (examples, quarantine):
                    for name, data in read_images(source.uri, split, image_key, filename_key):
                        if (split, name) in position:
                            yield position[(split, name)], data

        atlas, sprite = pages.streamed_sprite_atlas(len(rows), images())
        has_predictions = bool(rows) and "predicted" in rows[0]
        shown = (f"all {len(rows)} examples" if len(rows) == len(every) else
                 f"{len(rows)} of {len(every)} examples (every quarantined and suspected one, and an even sample "
                 f"of the rest; Dive shows at most {MAX_DIVE_EXAMPLES})")
        dive = pages.dive_page(
            f"Facets Dive: {shown}", rows, atlas, sprite,
            vertical="label" if any(r["label"] for r in rows) else "quarantine",
            horizontal="predicted" if has_predictions else "split",
            intro=(f"<p class=note>Every example, good and quarantined ({len(rows)}). " if len(rows) == len(every) else
                   f"<p class=note>{shown[0].upper()}{shown[1:]}. ")
                  + ("Rows: given label; columns: the model's prediction. Facet by <code>suspect</code> (suspected "
                     "label error, out-of-sample confident learning) or <code>quarantine</code> to see those. "
                     if has_predictions else "")
                  + "Click an image for its fields; change the facets above the grid.</p>")
        write_page(artifact_utils.get_single_uri(output_dict[DIVE_KEY]), dive)
