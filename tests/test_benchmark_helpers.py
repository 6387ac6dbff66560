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


@pytest.fixture(scope="module")
def scale():
    from benchmarks import scale

    return scale


def test_prepared_split_reads_the_runs_prepared_records(tmp_path, scale):
    split_dir = tmp_path / "data" / "images-1a2b" / "eval"
    split_dir.mkdir(parents=True)
    with tf.io.TFRecordWriter(str(split_dir / "data-00000-of-00001.tfrecord.gz"), options="GZIP") as writer:
        for value in (b"x", b"yy"):
            writer.write(value)
    assert scale._prepared_split(tmp_path, "eval") == [b"x", b"yy"]
    assert scale._prepared_split(tmp_path, "train") == []


def test_validator_checks_rate_runs_the_real_checks(scale):
    import io

    import numpy as np
    from PIL import Image

    from ingest.example_format import make_image_example

    buffer = io.BytesIO()
    Image.fromarray(np.zeros((16, 16, 3), np.uint8)).save(buffer, format="PNG")
    records = [make_image_example(buffer.getvalue(), 0, "a", f"{i}.png").SerializeToString() for i in range(8)]
    assert scale.validator_checks(records) > 0


def test_bounds_compare_the_unskippable_work_with_each_budget(scale):
    # 30,000 added images, 6,000 of them eval; the model call with decoding at 2,500/s: 500 + 400 µs.
    limits = scale.bounds({"Evaluator": 1000.0}, loop=20000.0, forward_with_decoding=2500.0, checks=5000.0,
                          added_images=30000, added_eval=6000)
    assert limits["evaluator_framework_microseconds_per_image"] == 600  # 1,000 µs an image, 400 the model's
    assert limits["evaluator_microseconds_per_image_left_for_the_framework_at_2000"] == 100
    assert limits["image_validator_checks_alone_share_of_loop"] == 0.25
    assert limits["non_training_forward_pass_seconds_for_the_added_images"] == 16.8  # 42,000 forward passes
    assert limits["non_training_budget_seconds_at_3000"] == 10.0
    assert limits["reachable_here"] == {"image_validator_marginal_at_least_0.3_of_the_loop": False,
                                        "data_components_marginal_at_least_3000": False}
    fast = scale.bounds({}, loop=10000.0, forward_with_decoding=10000.0, checks=5000.0, added_images=30000,
                        added_eval=6000)
    assert fast["reachable_here"] == {"image_validator_marginal_at_least_0.3_of_the_loop": True,
                                      "data_components_marginal_at_least_3000": True}
    assert fast["evaluator_framework_microseconds_per_image"] is None
