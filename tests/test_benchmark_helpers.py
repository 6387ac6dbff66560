"""Helpers of ``make benchmark`` that read a run's outputs: cheap checks, so a format change breaks a test
rather than a ten-minute benchmark at its end (BCCD's did: Transform's output became plain TFRecords and
the benchmark still read it as GZIP)."""

import importlib.util
import os
from pathlib import Path

import pytest
import tensorflow as tf

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def run_benchmarks():
    spec = importlib.util.spec_from_file_location("run_benchmarks", ROOT / "benchmarks" / "run_benchmarks.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("suffix, options", [("", None), (".gz", "GZIP")])
def test_transformed_bytes_reads_plain_and_gzip_transform_outputs(tmp_path, run_benchmarks, suffix, options):
    records = {"train": [b"a" * 100, b"b" * 300], "eval": [b"c" * 200]}
    for split, values in records.items():
        os.makedirs(tmp_path / f"Split-{split}")
        with tf.io.TFRecordWriter(str(tmp_path / f"Split-{split}" / f"transformed_examples-00000-of-00001{suffix}"),
                                  options=options) as writer:
            for value in values:
                writer.write(value)
    summary = {"components": [{"node_id": "Transform", "outputs": {"transformed_examples": [str(tmp_path)]}}]}
    per_example, on_disk = run_benchmarks._transformed_bytes(summary)
    assert per_example == 200.0
    files = [tmp_path / f"Split-{s}" / f"transformed_examples-00000-of-00001{suffix}" for s in records]
    assert on_disk == sum(os.path.getsize(f) for f in files) / 3
