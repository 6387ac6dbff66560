"""The identifier-free SchemaGen executor: Do() on real TFDV statistics of a small dataset."""

import os

import pandas as pd
import tensorflow_data_validation as tfdv
from tfx.types import artifact_utils, standard_artifacts
from tfx.utils import io_utils

from components.id_free_schema.executor import Executor


def _statistics(root, frames):
    artifact = standard_artifacts.ExampleStatistics()
    artifact.uri = str(root / "statistics")
    artifact.split_names = artifact_utils.encode_split_names(list(frames))
    for split, frame in frames.items():
        os.makedirs(os.path.join(artifact.uri, f"Split-{split}"))
        stats = tfdv.generate_statistics_from_dataframe(frame)
        with open(os.path.join(artifact.uri, f"Split-{split}", "FeatureStats.pb"), "wb") as handle:
            handle.write(stats.SerializeToString())
    return artifact


def _frame(count, offset=0):
    return pd.DataFrame({
        "filename": [f"cat/img_{offset + i:04d}.png" for i in range(count)],
        "sample_id": [f"id-{offset + i}" for i in range(count)],
        "label_name": [["cat", "dog"][i % 2] for i in range(count)],
        "label": [i % 2 for i in range(count)],
    })


def test_identifiers_lose_their_domain_class_names_keep_theirs(tmp_path):
    statistics = _statistics(tmp_path, {"train": _frame(60), "eval": _frame(15, offset=60)})
    schema = standard_artifacts.Schema()
    schema.uri = str(tmp_path / "schema")
    os.makedirs(schema.uri)
    Executor().Do({"statistics": [statistics]}, {"schema": [schema]}, {"infer_feature_shape": 1})
    result = io_utils.SchemaReader().read(os.path.join(schema.uri, "schema.pbtxt"))
    features = {f.name: f for f in result.feature}
    assert not features["filename"].HasField("domain") and not features["sample_id"].HasField("domain")
    assert features["label_name"].HasField("domain")
    domains = {d.name: list(d.value) for d in result.string_domain}
    assert domains[features["label_name"].domain] == ["cat", "dog"]
    assert not any("img_0001" in v for values in domains.values() for v in values)
    # A next run's new files are no anomaly; an unknown class name still is.
    new = tfdv.generate_statistics_from_dataframe(_frame(20, offset=500).assign(label_name="eel"))
    anomalies = tfdv.validate_statistics(new, result)
    assert set(anomalies.anomaly_info) == {"label_name"}


def test_plain_tfx_schema_gen_would_enumerate_the_file_names(tmp_path):
    """The reason for this executor (if TFDV stops doing this, the executor can go)."""
    stats = tfdv.generate_statistics_from_dataframe(_frame(60))
    schema = tfdv.infer_schema(stats)
    feature = next(f for f in schema.feature if f.name == "filename")
    assert feature.HasField("domain")
