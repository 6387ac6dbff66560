"""Skew (train vs eval) and drift (this run vs the previous one) of labels and image statistics.

Label distances come from TFDV's own comparators (L-infinity for categorical
labels, Jensen-Shannon divergence for numeric histograms); image statistics
(brightness, size, format, channels) come from a digest of the ImageValidator's
per-image rows (components/image_validator/report.py) and are compared with
the L-infinity distance of their histograms.
"""

from __future__ import annotations

import collections
from typing import Any, Dict, Optional, Sequence

from components.image_validator.report import BRIGHTNESS_EDGES


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


def label_distance(current, other, schema, label_key: str, threshold: float, mode: str) -> float:
    """Distance of the label distribution: TFDV's comparator where it measures one, else the L-infinity
    distance of the label shares.

    Why a fallback: TFDV measures nothing without a schema or with the label
    missing from it, and a report that still shows a number beats a blank.
    """
    distance = tfdv_label_distance(current, other, schema, label_key, threshold, mode)
    if distance is None:
        distance = linf(label_distribution(current, label_key), label_distribution(other, label_key))
    return distance


def _is_categorical_in(stats, name: str) -> bool:
    return any(f.path.step and f.path.step[-1] == name and f.HasField("string_stats")
               for f in stats.datasets[0].features)


def linf(a: Dict[str, float], b: Dict[str, float]) -> float:
    keys = set(a) | set(b)
    return max((abs(a.get(k, 0.0) - b.get(k, 0.0)) for k in keys), default=0.0)


def shares(counts: Sequence[int], bins: Sequence[float]) -> Dict[str, float]:
    """Histogram counts as shares, keyed by each bin's lower edge."""
    total = sum(counts) or 1
    return {f"{bins[i]:.1f}": c / total for i, c in enumerate(counts)}


def split_digest(validation: Dict[str, Any], split: str) -> Optional[Dict[str, Any]]:
    """The good images of one split, digested (components/image_validator/report.py); None if it has none."""
    return validation.get("digest", {}).get("splits", {}).get(split)


def merged_digest(validation: Dict[str, Any]) -> Optional[Dict[str, Any]]:
    """Every split's digest added up (the data report's image-property charts cover all good images)."""
    parts = list(validation.get("digest", {}).get("splits", {}).values())
    if not parts:
        return None
    return {"good": sum(p["good"] for p in parts),
            "counts": {field: sum((collections.Counter(p["counts"][field]) for p in parts), collections.Counter())
                       for field in parts[0]["counts"]},
            "brightness": [sum(values) for values in zip(*(p["brightness"] for p in parts))]}


def image_stat_skew(a: Optional[Dict[str, Any]], b: Optional[Dict[str, Any]]) -> Dict[str, float]:
    """L-infinity distances between two digested sets of images: brightness, width, height, format, channels."""
    if not a or not b or not a["good"] or not b["good"]:
        return {}
    result = {"brightness": linf(shares(a["brightness"], BRIGHTNESS_EDGES), shares(b["brightness"], BRIGHTNESS_EDGES))}
    for key in ("width", "height", "format", "channels"):
        result[key] = linf({k: v / a["good"] for k, v in a["counts"][key].items()},
                           {k: v / b["good"] for k, v in b["counts"][key].items()})
    return result


#: The key of the label's distance in :func:`compare` (the others are image statistics).
LABEL = "label distribution"


def compare(current_stats, other_stats, current_digest: Optional[Dict[str, Any]],
            other_digest: Optional[Dict[str, Any]], schema, label_key: Optional[str], threshold: float,
            mode: str) -> Dict[str, float]:
    """Every distance between two sets of examples: the label's first (under :data:`LABEL`, when both
    statistics are there), then the image statistics' (:func:`image_stat_skew`).

    Why one function: skew (train vs eval, ``mode`` "skew") and drift (this run vs the previous one,
    ``mode`` "drift") are the same measurement of different pairs, so they cannot drift apart.
    """
    distances: Dict[str, float] = {}
    if label_key and current_stats is not None and other_stats is not None:
        distances[LABEL] = label_distance(current_stats, other_stats, schema, label_key, threshold, mode)
    distances.update(image_stat_skew(current_digest, other_digest))
    return distances


def class_pixel_shares(digested: Optional[Dict[str, Any]]) -> Dict[str, float]:
    """Segmentation: each class's share of the labelled (not ignored) pixels of a digested split."""
    totals = (digested or {}).get("class_pixels", {})
    pixels = sum(totals.values())
    return {k: v / pixels for k, v in sorted(totals.items(), key=lambda kv: int(kv[0]))} if pixels else {}


def ignored_share(digested: Optional[Dict[str, Any]]) -> Optional[float]:
    """Segmentation: mean share of pixels labelled ignore over a digested split's masks (None without any)."""
    if not digested or not digested["good"]:
        return None
    return digested["ignored_fraction_sum"] / digested["good"]
