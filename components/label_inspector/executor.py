"""LabelInspector executor: confident learning (cleanlab) on out-of-sample predicted probabilities.

Why out-of-sample: a model's probabilities on the very examples it was
trained on agree with their labels, wrong ones included, so they cannot
reveal a frog labelled "cat".  The trained model is used only as a feature
extractor (its ``serving_embeddings`` signature, on the raw image bytes); a
logistic regression on those embeddings is fitted K times, each time
predicting the fold it did not see (stratified K-fold over every validated
example, train and eval).  cleanlab then flags the examples whose given
label the out-of-sample probabilities contradict and scores each one
(1 - label quality, self-confidence): the higher, the more suspect.

Outputs, in the ``LabelIssues`` artifact:

* ``label_issues.csv`` — suspects only, highest score first: file, split,
  given label, suggested label, score.
* ``predictions.csv`` — every example: the model's own predicted class and
  confidence, the out-of-sample suggestion and the score (the report's Facets
  Dive shows them).
* ``label_issues.json`` — counts and the decision.

``action="stop"`` fails the run when the suspects exceed ``max_share`` of the
examples; ``"warn"`` (default) only reports them.
"""

from __future__ import annotations

import csv
import dataclasses
import itertools
import json
import logging
import os
from typing import Any, Dict, Iterable, Iterator, List, Optional, Tuple

import numpy as np
import tensorflow as tf
from tfx.dsl.components.base import base_executor
from tfx.types import artifact_utils
from tfx.utils import path_utils

from common import names
from common.examples_io import first_bytes, split_features
from common.json_config import JsonConfig
from common.failure_copies import keep_after_failure
from components.label_inspector.spec import (CONFIG_KEY, EXAMPLES_KEY, ISSUES_FILENAME, LABEL_ISSUES_KEY, MODEL_KEY,
                                             PREDICTIONS_FILENAME, SUMMARY_FILENAME)
ACTIONS = ("warn", "stop")
ISSUE_COLUMNS = ["file", "split", "given_label", "suggested_label", "score"]
PREDICTION_COLUMNS = ["file", "split", "given_label", "predicted_label", "confidence", "suggested_label", "score",
                      "suspect"]


class LabelIssuesFound(RuntimeError):
    """More suspected label errors than ``max_share`` with ``action="stop"``."""


@dataclasses.dataclass
class InspectionConfig(JsonConfig):
    """What the LabelInspector reads and decides; travels as JSON in the component's exec properties."""

    image_key: str = names.DEFAULT_IMAGE_KEY
    label_key: str = names.DEFAULT_LABEL_KEY
    filename_key: str = names.FILENAME_KEY
    class_names: List[str] = dataclasses.field(default_factory=list)
    #: ``warn``: report only; ``stop``: fail the run when suspects exceed ``max_share``.
    action: str = "warn"
    max_share: float = 0.05
    folds: int = 5
    seed: int = 0
    batch_size: int = 64
    #: Hash of this component's code (see pipeline/cache_keys.py).
    code_version: str = ""

    def __post_init__(self) -> None:
        if self.action not in ACTIONS:
            raise ValueError(f"--label-issues must be one of {ACTIONS}, got {self.action!r}")
        if not 0.0 <= self.max_share <= 1.0:
            raise ValueError(f"--max-label-issue-share must be within [0, 1], got {self.max_share}")



def read_examples(examples_uri: str, split: str, config: InspectionConfig) -> Iterator[Tuple[str, bytes, int]]:
    """(file name, encoded image, label) of every example of one split, one at a time."""
    count = 0
    for features in split_features(examples_uri, split):
        filename = (first_bytes(features, config.filename_key) or b"").decode("utf-8", "replace")
        labels = features[config.label_key].int64_list.value if config.label_key in features else []
        image = first_bytes(features, config.image_key)
        if labels and image is not None:
            yield filename or f"{split}#{count}", image, int(labels[0])
            count += 1


def embed(model_dir: str, images: Iterable[bytes], batch_size: int) -> Tuple[np.ndarray, np.ndarray]:
    """(embeddings, probabilities) from the model's ``serving_embeddings`` signature on raw bytes.

    ``images`` is consumed batch by batch, so only one batch of encoded images is in memory at a time:
    what grows with the dataset is the small embedding per example, not its image.
    """
    loaded = tf.saved_model.load(model_dir)
    if names.EMBEDDINGS_SIGNATURE not in loaded.signatures:
        raise ValueError(f"{model_dir}: the model has no '{names.EMBEDDINGS_SIGNATURE}' signature "
                         "(only classification models have one)")
    signature = loaded.signatures[names.EMBEDDINGS_SIGNATURE]
    embeddings, probabilities = [], []
    iterator = iter(images)
    while True:
        batch = list(itertools.islice(iterator, batch_size))
        if not batch:
            break
        out = signature(image_bytes=tf.constant(batch))
        embeddings.append(out[names.EMBEDDING_KEY].numpy())
        probabilities.append(out[names.PROBABILITIES_KEY].numpy())
    if not embeddings:
        return np.zeros((0, 0), np.float32), np.zeros((0, 0), np.float32)
    return np.concatenate(embeddings), np.concatenate(probabilities)


#: Rows per step when standardising: the float64 work arrays stay ~16 MB whatever the number of examples.
_STANDARDISE_ROWS = 16384


def standardise_in_place(rows: np.ndarray, mean: Optional[np.ndarray] = None,
                         scale: Optional[np.ndarray] = None) -> Tuple[np.ndarray, np.ndarray]:
    """``rows`` to zero mean and unit variance per column, in place; returns the (mean, scale) used.

    Without ``mean``/``scale`` they are computed from ``rows``, in float64, as sklearn's
    ``StandardScaler`` does (a constant column keeps scale 1).  Why not StandardScaler: on float32 input
    it makes whole-array float64 copies to compute the variance: over 127,892 embeddings of 128 the five
    folds' peak was 121 MB above the embeddings with it, 53 MB with this (steps of 16,384 rows).
    """
    if mean is None or scale is None:
        mean = rows.mean(axis=0, dtype=np.float64)
        squares = np.zeros(rows.shape[1], np.float64)
        for start in range(0, len(rows), _STANDARDISE_ROWS):
            squares += np.square(rows[start:start + _STANDARDISE_ROWS] - mean).sum(axis=0)
        scale = np.sqrt(squares / max(len(rows), 1))
        scale[scale < 10 * np.finfo(np.float64).eps] = 1.0
    shift, divisor = mean.astype(rows.dtype), scale.astype(rows.dtype)
    for start in range(0, len(rows), _STANDARDISE_ROWS):
        block = rows[start:start + _STANDARDISE_ROWS]
        block -= shift
        block /= divisor
    return mean, scale


def out_of_sample_probabilities(features: np.ndarray, labels: np.ndarray, num_classes: int, folds: int,
                                seed: int) -> np.ndarray:
    """Stratified K-fold logistic regression: each example's probabilities from a fit that never saw it.

    ``newton-cg``: the same L2-regularised multinomial objective as sklearn's default lbfgs, reached in
    ~10 Newton steps instead of ~300 quasi-Newton ones on real embeddings (8,000 CIFAR-derived images:
    5.1 s -> 2.1 s for the five folds, probabilities within 0.009, the same suspects but 2 of 3,593).
    Each fold after the first starts from the previous fold's solution (the folds share three quarters
    of their examples, so it is close: 13 Newton steps, then 4-5), and the fits run in float32
    (the embeddings' own precision).  On 31,973 CIFAR-derived embeddings: 11.1 s -> 7.1 s, probabilities
    within 0.008 of cold float64 fits, the same suspects but for 0.5% (Jaccard 0.995).
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold

    probabilities = np.zeros((len(labels), num_classes))
    features = np.asarray(features, np.float32)
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    previous = None
    for fit_index, held_out in splitter.split(features, labels):
        # One copy of the fold's rows, standardised in place.
        fit_features = features[fit_index]
        mean, scale = standardise_in_place(fit_features)
        model = LogisticRegression(solver="newton-cg", max_iter=2000, C=0.5, warm_start=True)
        if previous is not None and np.array_equal(previous.classes_, np.unique(labels[fit_index])):
            model.coef_, model.intercept_ = previous.coef_.copy(), previous.intercept_.copy()
        model.fit(fit_features, labels[fit_index])
        del fit_features
        held_out_features = features[held_out]
        standardise_in_place(held_out_features, mean, scale)
        probabilities[np.ix_(held_out, model.classes_)] = model.predict_proba(held_out_features)
        previous = model
    return probabilities


def find_issues(labels: np.ndarray, probabilities: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """(suspect mask, score = 1 - self-confidence label quality) from cleanlab."""
    from cleanlab.filter import find_label_issues
    from cleanlab.rank import get_label_quality_scores

    # n_jobs=1: cleanlab would otherwise fork a process pool inside the TensorFlow/Beam process.
    suspects = find_label_issues(labels, probabilities, filter_by="prune_by_noise_rate", n_jobs=1)
    scores = 1.0 - get_label_quality_scores(labels, probabilities, method="self_confidence")
    return suspects, scores


def inspect(examples_uri: str, splits: List[str], model_dir: str, config: InspectionConfig) -> Dict[str, Any]:
    """Every example's prediction, suggestion and score, and the suspects; nothing written."""
    # One pass over the examples: the model embeds them batch by batch while names and labels are kept.
    rows: List[Tuple[str, str, int]] = []

    def images() -> Iterator[bytes]:
        for split in splits:
            for filename, image, label in read_examples(examples_uri, split, config):
                rows.append((split, filename, label))
                yield image

    embeddings, model_probabilities = embed(model_dir, images(), config.batch_size)
    labels = np.array([label for _, _, label in rows], np.int64)
    num_classes = max(len(config.class_names), int(labels.max()) + 1 if len(labels) else 0)
    counts = np.bincount(labels, minlength=num_classes) if len(labels) else np.zeros(0, np.int64)
    # A class with a single example cannot be held out and fitted at once: it is left out (not scored),
    # rather than turning the inspection off for every other class.
    scored = np.array([counts[label] >= 2 for label in labels], bool)
    kept = counts[counts >= 2]
    folds = int(min(config.folds, kept.min())) if kept.size else 0
    unscored = sorted(int(c) for c in np.where((counts > 0) & (counts < 2))[0])
    if folds < 2 or kept.size < 2:
        return {"examples": len(rows), "skipped": "confident learning needs at least 2 classes with 2 or more "
                                                   "examples each", "rows": [], "suspects": []}
    probabilities = np.zeros((len(rows), num_classes))
    # Every example scored (the usual case): the embeddings as they are, not a copy of them all.
    features = embeddings if scored.all() else embeddings[scored]
    probabilities[scored] = out_of_sample_probabilities(features, labels[scored], num_classes, folds, config.seed)
    del features, embeddings
    suspects, scores = np.zeros(len(rows), bool), np.zeros(len(rows))
    suspects[scored], scores[scored] = find_issues(labels[scored], probabilities[scored])
    name = (lambda i: config.class_names[i] if i < len(config.class_names) else str(i))

    def row(index: int) -> Dict[str, Any]:
        split, filename, label = rows[index]
        predicted = int(model_probabilities[index].argmax())
        return {
            "file": filename, "split": split, "given_label": name(label), "predicted_label": name(predicted),
            "confidence": round(float(model_probabilities[index, predicted]), 4),
            "suggested_label": name(int(probabilities[index].argmax())) if scored[index] else "",
            "score": round(float(scores[index]), 4),
            "suspect": bool(suspects[index]),
        }

    ranked = sorted((row(i) for i in np.flatnonzero(suspects)), key=lambda r: (-r["score"], r["split"], r["file"]))
    # "rows": every example's row, built as it is written (at 128,000 examples a list of them held ~150 MB).
    return {"examples": len(rows), "folds": folds, "rows": (row(i) for i in range(len(rows))), "suspects": ranked,
            "unscored_classes": [name(c) for c in unscored],
            "out_of_sample_accuracy": round(float((probabilities[scored].argmax(1) == labels[scored]).mean()), 4)}


def _write_csv(path: str, columns: List[str], rows: Iterable[Dict[str, Any]]) -> None:
    with tf.io.gfile.GFile(path, "w") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns, extrasaction="ignore", lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)


class Executor(base_executor.BaseExecutor):
    """See the module docstring."""

    def Do(self, input_dict, output_dict, exec_properties) -> None:
        config = InspectionConfig.from_json(exec_properties[CONFIG_KEY])
        examples = artifact_utils.get_single_instance(input_dict[EXAMPLES_KEY])
        model = artifact_utils.get_single_instance(input_dict[MODEL_KEY])
        output = artifact_utils.get_single_instance(output_dict[LABEL_ISSUES_KEY])
        splits = artifact_utils.decode_split_names(examples.split_names)
        result = inspect(examples.uri, splits, path_utils.serving_model_path(model.uri), config)

        tf.io.gfile.makedirs(output.uri)
        issues_path = os.path.join(output.uri, ISSUES_FILENAME)
        _write_csv(issues_path, ISSUE_COLUMNS, result["suspects"])
        _write_csv(os.path.join(output.uri, PREDICTIONS_FILENAME), PREDICTION_COLUMNS, result["rows"])
        share = len(result["suspects"]) / result["examples"] if result["examples"] else 0.0
        summary = {k: v for k, v in result.items() if k not in ("rows", "suspects")}
        summary.update(suspects=len(result["suspects"]), share=round(share, 4), action=config.action,
                       max_share=config.max_share, top=result["suspects"][:10])
        with tf.io.gfile.GFile(os.path.join(output.uri, SUMMARY_FILENAME), "w") as handle:
            json.dump(summary, handle, indent=1, sort_keys=True)
        output.set_int_custom_property("suspects", len(result["suspects"]))
        output.set_int_custom_property("examples", result["examples"])
        logging.info("LabelInspector: %d of %d examples (%.1f%%) look mislabelled; %s", len(result["suspects"]),
                     result["examples"], 100 * share, issues_path)
        if config.action == "stop" and share > config.max_share:
            # TFX deletes a failed executor's outputs: the suspects are kept beside them for the user.
            kept = keep_after_failure([issues_path, os.path.join(output.uri, SUMMARY_FILENAME)], output.uri)
            raise LabelIssuesFound(
                f"{len(result['suspects'])} of {result['examples']} examples ({share:.1%}) look mislabelled, more "
                f"than the allowed {config.max_share:.1%}; the suspects, highest score first: "
                f"{os.path.join(kept, ISSUES_FILENAME)}. "
                "Fix those labels, raise --max-label-issue-share, or run with --label-issues warn.")
