"""Skew (train vs eval) and drift (this run vs the previous one) of labels and image statistics.

Label distances come from TFDV's own comparators (L-infinity for categorical
labels, Jensen-Shannon divergence for numeric histograms); image statistics
(brightness, size, format, channels) come from the ImageValidator's per-image
rows and are compared with the L-infinity distance of their histograms.
"""

from __future__ import annotations

import collections
from typing import Any, Dict, List, Optional, Sequence

import numpy as np


def label_distribution(stats, label_key: str) -> Dict[str, float]:
    """Share of each label value from TFDV statistics (numeric or categorical histograms)."""
    for feature in stats.datasets[0].features:
        if feature.path.step and feature.path.step[-1] == label_key:
            if feature.HasField("string_stats"):
                counts = {b.label: b.sample_count for b in feature.string_stats.rank_histogram.buckets}
            else:
                counts = {}
                for histogram in feature.num_stats.histograms:
                    if histogram.type == histogram.STANDARD:
                        for b in histogram.buckets:
                            counts[f"{b.low_value:g}-{b.high_value:g}"] = b.sample_count
            total = sum(counts.values()) or 1
            return {k: v / total for k, v in counts.items()}
    return {}


def tfdv_label_distance(current, other, schema, label_key: str, threshold: float, mode: str) -> Optional[float]:
    """Distance of the label distribution measured by TFDV's own drift/skew comparator.

    L-infinity norm when the statistics hold the label as categorical (rank
    histogram), else Jensen-Shannon divergence over its numeric histogram.
    ``mode`` "drift" compares with a previous run's statistics, "skew" with
    another split's (as serving statistics).  Returns None when TFDV reports
    no measurement (e.g. no schema or no such feature).
    """
    import tensorflow_data_validation as tfdv
    from tensorflow_metadata.proto.v0 import schema_pb2

    if schema is None:
        return None
    probe = schema_pb2.Schema()
    probe.CopyFrom(schema)
    feature = next((f for f in probe.feature if f.name == label_key), None)
    if feature is None:
        return None
    comparator = feature.drift_comparator if mode == "drift" else feature.skew_comparator
    if _is_categorical_in(current, label_key):
        comparator.infinity_norm.threshold = threshold
    else:
        comparator.jensen_shannon_divergence.threshold = threshold
    if mode == "drift":
        anomalies = tfdv.validate_statistics(current, probe, previous_statistics=other)
    else:
        anomalies = tfdv.validate_statistics(current, probe, serving_statistics=other)
    for info in anomalies.drift_skew_info:
        if info.path.step and info.path.step[-1] == label_key:
            measurements = info.drift_measurements if mode == "drift" else info.skew_measurements
            for measurement in measurements:
                return float(measurement.value)
    return None


def _is_categorical_in(stats, name: str) -> bool:
    return any(f.path.step and f.path.step[-1] == name and f.HasField("string_stats")
               for f in stats.datasets[0].features)


def linf(a: Dict[str, float], b: Dict[str, float]) -> float:
    keys = set(a) | set(b)
    return max((abs(a.get(k, 0.0) - b.get(k, 0.0)) for k in keys), default=0.0)


def histogram(values: Sequence[float], bins: np.ndarray) -> Dict[str, float]:
    counts, _ = np.histogram(np.asarray(values, float), bins=bins)
    total = counts.sum() or 1
    return {f"{bins[i]:.1f}": c / total for i, c in enumerate(counts)}


def split_rows(validation: Dict[str, Any], split: str, good_only: bool = True) -> List[Dict[str, Any]]:
    return [r for r in validation.get("examples", []) if r["split"] == split and (r["reason"] is None or not good_only)]


def image_stat_skew(rows_a: List[Dict[str, Any]], rows_b: List[Dict[str, Any]]) -> Dict[str, float]:
    """L-infinity distances between two sets of images: brightness, width, height, format, channels."""
    if not rows_a or not rows_b:
        return {}
    result = {}
    for key, bins in (("brightness", np.linspace(0, 1, 11)),):
        result[key] = linf(histogram([r[key] for r in rows_a], bins), histogram([r[key] for r in rows_b], bins))
    for key in ("width", "height", "format", "channels"):
        a = collections.Counter(str(r[key]) for r in rows_a)
        b = collections.Counter(str(r[key]) for r in rows_b)
        result[key] = linf({k: v / len(rows_a) for k, v in a.items()}, {k: v / len(rows_b) for k, v in b.items()})
    return result


def class_pixel_shares(rows: List[Dict[str, Any]]) -> Dict[str, float]:
    """Segmentation: each class's share of the labelled (not ignored) pixels, from the validator's rows."""
    totals: Dict[str, int] = collections.Counter()
    for row in rows:
        totals.update({k: int(v) for k, v in row.get("class_pixels", {}).items()})
    pixels = sum(totals.values())
    return {k: v / pixels for k, v in sorted(totals.items(), key=lambda kv: int(kv[0]))} if pixels else {}


def ignored_share(rows: List[Dict[str, Any]]) -> Optional[float]:
    """Segmentation: mean share of pixels labelled ignore, over the rows' masks (None without masks)."""
    shares = [r.get("ignored_fraction", 0.0) for r in rows]
    return sum(shares) / len(shares) if shares else None
