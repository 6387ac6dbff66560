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
import heapq
import json
import os
import zlib
from typing import Any, Dict, Iterable, Iterator, List, Optional, Tuple

import tensorflow as tf
from tfx.dsl.components.base import base_executor
from tfx.types import artifact_utils

from common import names
from common.examples_io import first_bytes, split_features
from components.facets_pages import pages
from components.facets_pages.spec import (CONFIG_KEY, DIVE_KEY, EXAMPLES_KEY, LABEL_ISSUES_KEY, OVERVIEW_KEY,
                                          QUARANTINE_KEY, STATISTICS_KEY, VALIDATION_REPORT_KEY)
from components.image_validator.report import iter_rows, load_report
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


def select_for_dive(rows: Iterable[Dict[str, Any]],
                    limit: int = MAX_DIVE_EXAMPLES) -> Tuple[List[Dict[str, Any]], int]:
    """(chosen rows in report order, how many rows there were), holding at most ``limit`` rows at a time.

    All rows when they fit; else the quarantined and suspected ones plus a deterministic sample of the
    rest (a hash of split and file, so reruns show the same examples).  A row's place in the report is
    its ``_order`` (the report's sort key) or its position; only the chosen rows are kept, so memory does
    not grow with the dataset.
    """
    counted = [0]

    def keyed():
        for position, row in enumerate(rows):
            counted[0] += 1
            must = row["quarantine"] != "ok" or row.get("suspect") == "yes"
            spread = 0 if must else zlib.crc32(f"{row['split']}/{row['file']}".encode())
            yield (0 if must else 1, spread, row.get("_order", (position,))), row

    chosen = heapq.nsmallest(limit, keyed(), key=lambda pair: pair[0])
    chosen.sort(key=lambda pair: pair[0][2])
    return [row for _, row in chosen], counted[0]


def predictions_path(uri: Optional[str]) -> Optional[str]:
    """The LabelInspector's per-example predictions file in its artifact, or None (no inspection ran)."""
    path = os.path.join(uri, PREDICTIONS_FILENAME) if uri else None
    return path if path and tf.io.gfile.exists(path) else None


def prediction_rows(path: Optional[str]) -> Iterator[Dict[str, str]]:
    """The rows (file, split, predicted_label, confidence, score, suspect, ...) of a predictions file, one at a
    time; none for None."""
    if path:
        with tf.io.gfile.GFile(path) as handle:
            yield from csv.DictReader(handle)


def shown_fields(row: Dict[str, Any]) -> Dict[str, Any]:
    """``row`` without the keys the selection used (its report order; the suspect flag before predictions)."""
    return {k: v for k, v in row.items() if k not in ("suspect", "_order")}


def dive_row(example: Dict[str, Any], class_names: List[str], mask_share: bool = False) -> Dict[str, Any]:
    """The Dive item of one row of the validation report (without the model's prediction)."""
    label = example.get("label")
    row = {
        "file": example["filename"], "split": example["split"],
        "label": class_names[label] if isinstance(label, int) and label < len(class_names) else
        ("" if label is None else str(label)),
        "quarantine": example.get("reason") or "ok",
        "width": example.get("width", 0), "height": example.get("height", 0),
        "format": example.get("format", ""),
    }
    if mask_share and "ignored_fraction" in example:
        row["ignored_share"] = round(float(example["ignored_fraction"]), 4)
    return row


def with_prediction(row: Dict[str, Any], predicted: Optional[Dict[str, str]]) -> Dict[str, Any]:
    """``row`` plus the model's prediction fields (blank for an example the LabelInspector did not score)."""
    row = shown_fields(row)
    row.update(predicted=predicted["predicted_label"] if predicted else "",
               confidence=float(predicted["confidence"]) if predicted else 0.0,
               correct=("yes" if predicted["predicted_label"] == row["label"] else "no") if predicted else "",
               label_issue_score=float(predicted["score"]) if predicted else 0.0,
               suspect=("yes" if predicted["suspect"] == "True" else "no") if predicted else "")
    return row


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

        # Streamed: the report's rows and the predictions are read one at a time and only the rows Dive
        # shows are kept (at 32,000 images holding them all cost ~190 MB; the report file holds every row).
        report = load_report(report_artifact.uri, with_rows=False)
        mask_share = bool(report.get("config", {}).get("mask_key"))
        predictions = predictions_path(issues[0].uri if issues else None)
        suspects = {(p["split"], p["file"]) for p in prediction_rows(predictions) if p["suspect"] == "True"}

        def candidates() -> Iterator[Dict[str, Any]]:
            for example in iter_rows(report_artifact.uri):
                row = dive_row(example, class_names, mask_share)
                row["suspect"] = "yes" if (row["split"], row["file"]) in suspects else "no"
                row["_order"] = (example["split"], example["filename"], example["index"])
                yield row

        rows, total = select_for_dive(candidates())
        position = {(r["split"], r["file"]): i for i, r in enumerate(rows)}
        scored = {(p["split"], p["file"]): p for p in prediction_rows(predictions)
                  if (p["split"], p["file"]) in position}
        rows = [with_prediction(r, scored.get((r["split"], r["file"]))) if predictions else shown_fields(r)
                for r in rows]

        def images() -> Iterator[Tuple[int, bytes]]:  # streamed into the atlas: no image is kept
            for split in artifact_utils.decode_split_names(examples.split_names):
                for source in (examples, quarantine):
                    for name, data in read_images(source.uri, split, image_key, filename_key):
                        if (split, name) in position:
                            yield position[(split, name)], data

        atlas, sprite = pages.streamed_sprite_atlas(len(rows), images())
        has_predictions = bool(rows) and "predicted" in rows[0]
        shown = (f"all {len(rows)} examples" if len(rows) == total else
                 f"{len(rows)} of {total} examples (every quarantined and suspected one, and an even sample "
                 f"of the rest; Dive shows at most {MAX_DIVE_EXAMPLES})")
        dive = pages.dive_page(
            f"Facets Dive: {shown}", rows, atlas, sprite,
            vertical="label" if any(r["label"] for r in rows) else "quarantine",
            horizontal="predicted" if has_predictions else "split",
            intro=(f"<p class=note>Every example, good and quarantined ({len(rows)}). " if len(rows) == total else
                   f"<p class=note>{shown[0].upper()}{shown[1:]}. ")
                  + ("Rows: given label; columns: the model's prediction. Facet by <code>suspect</code> (suspected "
                     "label error, out-of-sample confident learning) or <code>quarantine</code> to see those. "
                     if has_predictions else "")
                  + "Click an image for its fields; change the facets above the grid.</p>")
        write_page(artifact_utils.get_single_uri(output_dict[DIVE_KEY]), dive)
