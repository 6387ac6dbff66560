"""Reading the Evaluator's output back: metrics overall and per class, and the blessing checks that failed.

Here, beside the executor, because the run summary, the HTML report and the
ModelCard component all read the same TFMA files.
"""

from __future__ import annotations

import re
from typing import Dict, List, Optional


def read_evaluation(evaluation_uri: str, label_key: str, class_names: List[str]) -> tuple:
    """(overall metrics, per-class metrics) from a TFMA evaluation artifact.

    Per class, from the overall confusion matrix when the evaluation has one
    (classification): ``example_count`` and ``sparse_categorical_accuracy``
    per class, and ``precision/<class>`` / ``recall/<class>`` overall, all of
    the predicted (top-1) class.  One confusion matrix costs TFMA a fraction
    of per-class slices and binarized metrics, which compute the same counts
    once per class.  Per-label slices, where an evaluation has them, are read too.
    """
    import tensorflow_model_analysis as tfma

    result = tfma.load_eval_result(evaluation_uri)
    overall: Dict[str, float] = {}
    per_class: Dict[str, Dict[str, float]] = {}
    for slice_key, metrics in result.slicing_metrics:
        flat = {}
        for sub_key, values in metrics.get("", {}).items():
            for name, value in values.items():
                if "doubleValue" not in value:
                    continue
                match = re.match(r"classId:(\d+)", sub_key)
                flat[f"{name}/{class_names[int(match.group(1))]}" if match else name] = float(value["doubleValue"])
        if slice_key == ():
            overall.update(flat)
        elif len(slice_key) == 1 and slice_key[0][0] == label_key:
            class_id = int(slice_key[0][1])
            name = class_names[class_id] if class_id < len(class_names) else str(class_id)
            per_class[name] = {k: v for k, v in flat.items() if "/" not in k}
    counts = confusion_counts(result.plots, len(class_names))
    if counts is not None:
        for class_id, name in enumerate(class_names):
            examples, predicted, hits = counts[class_id].sum(), counts[:, class_id].sum(), counts[class_id, class_id]
            overall.setdefault(f"precision/{name}", hits / predicted if predicted else float("nan"))
            overall.setdefault(f"recall/{name}", hits / examples if examples else float("nan"))
            if examples:
                per_class.setdefault(name, {"example_count": float(examples),
                                            "sparse_categorical_accuracy": hits / examples})
    return overall, per_class


def confusion_counts(plots, num_classes: int):
    """``[classes, classes + 1]`` example counts (actual × predicted; the last column: no prediction) of the
    overall slice's ``MultiClassConfusionMatrixPlot``, or None when the evaluation has none."""
    import numpy as np

    for slice_key, by_output in plots or []:
        if slice_key != () or not by_output:  # an evaluation without plots (segmentation, detection) has None
            continue
        for by_sub_key in by_output.values():
            for plot in (by_sub_key or {}).values():
                matrices = plot.get("multiClassConfusionMatrixAtThresholds", {}).get("matrices")
                if not matrices:
                    continue
                counts = np.zeros((num_classes, num_classes + 1))
                for entry in matrices[0].get("entries", []):
                    actual, predicted = int(entry.get("actualClassId", 0)), int(entry.get("predictedClassId", 0))
                    if 0 <= actual < num_classes:
                        column = predicted if 0 <= predicted < num_classes else num_classes
                        counts[actual, column] += float(entry.get("numWeightedExamples", 0.0))
                return counts
    return None


def read_failed_checks(evaluation_uri: str, baseline: Optional[str]) -> List[str]:
    """Each blessing check TFMA failed, with its value and threshold, from the evaluation's validation result."""
    import tensorflow_model_analysis as tfma

    result = tfma.load_validation_result(evaluation_uri)
    lines = []
    for per_slice in result.metric_validations_per_slice:
        for failure in per_slice.failures:
            name = failure.metric_key.name
            value = failure.metric_value.double_value.value
            threshold = failure.metric_threshold
            if failure.metric_key.is_diff:
                allowed = abs(threshold.change_threshold.absolute.value + 1e-10)
                lines.append(f"{name} {abs(value):.4f} below the baseline ({baseline or 'last blessed model'}), "
                             f"allowed {allowed:.4f}")
            elif threshold.value_threshold.HasField("lower_bound") and \
                    value < threshold.value_threshold.lower_bound.value:
                lines.append(f"{name} {value:.4f} < {threshold.value_threshold.lower_bound.value:.4f}")
            else:
                lines.append(f"{name} {value:.4f}: {failure.message}")
    return lines
