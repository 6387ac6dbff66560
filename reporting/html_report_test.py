"""Report pieces that need no pipeline run: charts, skew distances, TFDV comparators."""

import pandas as pd
import pytest
import tensorflow_data_validation as tfdv

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


def test_image_stat_skew_compares_distributions():
    rows_a = [{"brightness": 0.1, "width": 8, "height": 8, "format": "PNG", "channels": 1}] * 4
    rows_b = [{"brightness": 0.9, "width": 8, "height": 8, "format": "JPEG", "channels": 3}] * 2 + rows_a[:2]
    skew = drift.image_stat_skew(rows_a, rows_b)
    assert skew["brightness"] == pytest.approx(0.5) and skew["format"] == pytest.approx(0.5)
    assert skew["width"] == 0.0


def test_svg_bars_are_self_contained():
    svg = html_report.svg_bars([("cat", 3.0), ("dog", 1.0)], "per class")
    assert svg.count('class="bar"') == 2 and "http" not in svg.replace("http://www.w3.org/2000/svg", "")
