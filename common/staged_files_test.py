"""The staged Beam writers: every element written once, valid GZIP TFRecords, nothing left in staging."""

import os

import apache_beam as beam
import pytest
import tensorflow as tf
from apache_beam.options.pipeline_options import PipelineOptions

from common import staged_files
from common.examples_io import record_dataset

pytestmark = pytest.mark.pipeline


def _run(build, workers=1):
    mode = "multi_processing" if workers > 1 else "in_memory"
    options = PipelineOptions([f"--direct_running_mode={mode}", f"--direct_num_workers={workers}"])
    with beam.Pipeline(options=options) as pipeline:
        build(pipeline)


def _records(directory):
    files = sorted(tf.io.gfile.glob(os.path.join(directory, "*")))
    return files, [r.numpy() for r in record_dataset(files)]


@pytest.mark.parametrize("gzip", [False, True])
def test_records_are_written_once_each_in_shards(tmp_path, gzip):
    records = [f"record {i}".encode() * (i % 7 + 1) for i in range(2500)]
    lines = [f'{{"n": {i}}}' for i in range(2500)]
    _run(lambda p: (
        (p | "Records" >> beam.Create(records, reshuffle=True) | "Write" >> staged_files.write_tfrecords(
            str(tmp_path / "out"), gzip=gzip)),
        (p | "Lines" >> beam.Create(lines, reshuffle=True) | "WriteLines" >> staged_files.write_lines(
            str(tmp_path / "rows" / "rows.jsonl")))), workers=2)
    files, written = _records(tmp_path / "out")
    assert sorted(written) == sorted(records)
    suffix = ".gz" if gzip else ""
    assert len(files) > 1 and all(os.path.basename(f).startswith("data_tfrecord-") for f in files)
    assert [os.path.basename(f) for f in files] == [f"data_tfrecord-{i:05d}-of-{len(files):05d}{suffix}"
                                                    for i in range(len(files))]
    if gzip:  # really GZIP: read as plain, the first record fails
        with pytest.raises(tf.errors.DataLossError):
            next(iter(tf.data.TFRecordDataset(files[:1])))
    assert sorted((tmp_path / "rows" / "rows.jsonl").read_text().splitlines()) == sorted(lines)
    assert sorted(os.listdir(tmp_path / "out")) == [os.path.basename(f) for f in files]  # no staging left
    assert os.listdir(tmp_path / "rows") == ["rows.jsonl"]


def test_no_elements_leave_one_empty_valid_file(tmp_path):
    _run(lambda p: (
        (p | "Records" >> beam.Create([b"x"]) | beam.Filter(lambda _: False)
         | "Write" >> staged_files.write_tfrecords(str(tmp_path / "none"))),
        # A second writer into the same folder, told to leave nothing when it has nothing.
        (p | "More" >> beam.Create([b"y"]) | "NoMore" >> beam.Filter(lambda _: False)
         | "WriteMore" >> staged_files.write_tfrecords(str(tmp_path / "none"), prefix="more", empty_file=False)),
        (p | "Lines" >> beam.Create(["x"]) | "NoLines" >> beam.Filter(lambda _: False)
         | "WriteLines" >> staged_files.write_lines(str(tmp_path / "rows.jsonl")))))
    files, written = _records(tmp_path / "none")
    assert [os.path.basename(f) for f in files] == ["data_tfrecord-00000-of-00001"] and written == []
    assert sorted(os.listdir(tmp_path / "none")) == ["data_tfrecord-00000-of-00001"]  # no staging left either
    assert (tmp_path / "rows.jsonl").read_text() == ""


def test_batches_of_records_are_written_record_by_record(tmp_path):
    batches = [[f"b{b}r{r}".encode() for r in range(b % 5 + 1)] for b in range(40)]
    _run(lambda p: (p | "Batches" >> beam.Create(batches, reshuffle=True)
                    | "Write" >> staged_files.write_tfrecords(str(tmp_path / "out"), prefix="x", batches=True)),
         workers=2)
    files, written = _records(tmp_path / "out")
    assert sorted(written) == sorted(record for batch in batches for record in batch)
    assert all(os.path.basename(f).startswith("x-") for f in files)
