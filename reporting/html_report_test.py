"""Report pieces that need no pipeline run: charts, skew distances, TFDV comparators."""

import numpy as np
import pandas as pd
import pytest
import tensorflow_data_validation as tfdv

from components.image_validator import report
from reporting import drift, html_report, schema_tool


def _stats(labels):
    return tfdv.generate_statistics_from_dataframe(pd.DataFrame({"image": [b"x"] * len(labels), "label": labels}))


def test_tfdv_label_drift_and_skew_are_measured_by_tfdv():
    before, after = _stats([0, 0, 1, 1] * 5), _stats([0, 1, 1, 1] * 5)
    schema = schema_tool.build_schema(before, "classification", ["a", "b"], None, "regenerate")
    distance = drift.tfdv_label_distance(after, before, schema, "label", 0.1, "drift")
    assert distance is not None and distance > 0.01
    assert drift.tfdv_label_distance(after, before, schema, "label", 0.1, "skew") == pytest.approx(distance)
    assert drift.tfdv_label_distance(before, before, schema, "label", 0.1, "drift") == pytest.approx(0.0, abs=1e-9)


def test_categorical_labels_use_the_l_infinity_norm():
    frame = lambda names: pd.DataFrame({"image": [b"x"] * len(names), "label_name": names})  # noqa: E731
    before, after = tfdv.generate_statistics_from_dataframe(frame(["a", "a", "b", "b"])), \
        tfdv.generate_statistics_from_dataframe(frame(["a", "b", "b", "b"]))
    schema = tfdv.infer_schema(before)
    assert drift.tfdv_label_distance(after, before, schema, "label_name", 0.1, "drift") == pytest.approx(0.25)


def _row(split, brightness, fmt="PNG", channels=1, reason=None, index=0):
    return {"split": split, "brightness": brightness, "width": 8, "height": 8, "format": fmt, "channels": channels,
            "mode": "L", "reason": reason, "filename": f"{split}/{index}.png", "index": index}


def test_image_stat_skew_compares_distributions():
    rows = ([_row("train", 0.1, index=i) for i in range(4)]
            + [_row("eval", 0.9, "JPEG", 3, index=i) for i in range(2)] + [_row("eval", 0.1, index=i) for i in (2, 3)]
            + [_row("eval", 0.5, "GIF", reason="truncated or corrupt image data", index=9)])
    validation = {"digest": report.digest(iter(rows))}
    skew = drift.image_stat_skew(drift.split_digest(validation, "train"), drift.split_digest(validation, "eval"))
    assert skew["brightness"] == pytest.approx(0.5) and skew["format"] == pytest.approx(0.5)
    assert skew["width"] == 0.0
    # The quarantined row is kept as a row, not counted among the good images.
    assert [r["filename"] for r in validation["digest"]["bad"]] == ["eval/9.png"]
    assert drift.split_digest(validation, "eval")["good"] == 4


def test_brightness_bins_are_numpys():
    """The streamed histogram bins a value as numpy.histogram on np.linspace(0, 1, 11) does, edges included."""
    edges = np.linspace(0, 1, 11)
    values = [-0.1, 0.0, 0.1, 0.3, float(edges[3]), np.nextafter(edges[3], 0), 0.55, 0.9999, 1.0, 1.1]
    counts = [0] * 10
    for value in values:
        if report.brightness_bin(value) >= 0:
            counts[report.brightness_bin(value)] += 1
    assert counts == np.histogram(values, bins=edges)[0].tolist()


def test_svg_bars_are_self_contained():
    svg = html_report.svg_bars([("cat", 3.0), ("dog", 1.0)], "per class")
    assert svg.count('class="bar"') == 2 and "http" not in svg.replace("http://www.w3.org/2000/svg", "")


def test_skew_and_drift_are_one_comparison_label_first():
    before, after = _stats([0, 0, 1, 1] * 5), _stats([0, 1, 1, 1] * 5)
    schema = schema_tool.build_schema(before, "classification", ["a", "b"], None, "regenerate")
    rows = [_row("train", 0.1, index=i) for i in range(4)] + [_row("eval", 0.9, "JPEG", 3, index=i) for i in range(4)]
    validation = {"digest": report.digest(iter(rows))}
    digests = drift.split_digest(validation, "train"), drift.split_digest(validation, "eval")
    skew = drift.compare(after, before, *digests, schema, "label", 0.1, "skew")
    drifted = drift.compare(after, before, *digests, schema, "label", 0.1, "drift")
    assert list(skew) == [drift.LABEL, "brightness", "width", "height", "format", "channels"]
    assert skew == pytest.approx(drifted)
    # Without the other side's statistics there is no label distance, but the image statistics still compare.
    assert list(drift.compare(after, None, *digests, schema, "label", 0.1, "drift")) == list(skew)[1:]


def test_distance_table_gives_verdicts_only_with_a_threshold():
    distances = {drift.LABEL: 0.25, "brightness": 0.05}
    skew = html_report._distance_table(distances, "skew", "distance train↔eval")
    assert "TFDV skew comparator" in skew and "verdict" not in skew and "<td>image brightness</td>" in skew
    drifted = html_report._distance_table(distances, "drift", "distance", threshold=0.1)
    assert "TFDV drift comparator" in drifted and 'class="drift"' in drifted
    assert drifted.count("<td>DRIFT</td>") == 1 and drifted.count("<td>ok</td>") == 1
