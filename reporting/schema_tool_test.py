"""Schema curation: label ids, class names and required images on top of inference."""

import pytest
import tensorflow_data_validation as tfdv
from google.protobuf import text_format
from tensorflow_metadata.proto.v0 import schema_pb2

from reporting import schema_tool


def _stats():
    """Statistics of 4 examples with image bytes, an int label and a label name."""
    import pandas as pd

    frame = pd.DataFrame({"image": [b"\x89PNG..."] * 4, "label": [0, 1, 2, 1], "label_name": ["a", "b", "c", "b"]})
    return tfdv.generate_statistics_from_dataframe(frame)


def test_curate_adds_label_domain_class_names_and_image_presence():
    schema = schema_tool.build_schema(_stats(), "classification", ["a", "b", "c", "d"], None, "regenerate")
    features = {f.name: f for f in schema.feature}
    assert features["label"].int_domain.min == 0 and features["label"].int_domain.max == 3
    assert features["label"].int_domain.is_categorical
    assert features["image"].HasField("image_domain") and features["image"].presence.min_fraction == 1.0
    domain = next(d for d in schema.string_domain if d.name == "label_name")
    assert list(domain.value) == ["a", "b", "c", "d"]


def test_curated_schema_flags_an_unknown_label():
    schema = schema_tool.build_schema(_stats(), "classification", ["a", "b"], None, "regenerate")
    anomalies = tfdv.validate_statistics(_stats(), schema)
    assert "label" in anomalies.anomaly_info  # label 2 is outside the 2 known classes


def test_missing_image_feature_is_a_clear_error():
    with pytest.raises(ValueError, match="no 'picture' feature"):
        schema_tool.curate(schema_pb2.Schema(), "classification", ["a"], image_key="picture")


def test_checked_in_schemas_parse_and_are_curated():
    for task, names in (("classification", [str(d) for d in range(10)]),
                        ("segmentation", ["background", "circle", "square", "triangle"])):
        schema = text_format.Parse(schema_tool.default_schema_path(task).read_text(), schema_pb2.Schema())
        assert schema_tool.schema_text(schema_tool.curate(schema, task, names)) == schema_tool.schema_text(schema)
