"""The record batch cap: real TFXIO Beam sources over a real TFRecord file, batch sizes counted."""

import apache_beam as beam
import pytest
import tensorflow as tf
from tfx_bsl.coders import batch_util
from tfx_bsl.tfxio import tf_example_record

from components.evaluator_batches import MAX_RECORDS_PER_BATCH, capped_record_batches

RECORDS = 3000


@pytest.fixture(scope="module")
def records(tmp_path_factory) -> str:
    path = str(tmp_path_factory.mktemp("records") / "data.tfrecord")
    with tf.io.TFRecordWriter(path) as writer:
        for index in range(RECORDS):
            feature = {"x": tf.train.Feature(int64_list=tf.train.Int64List(value=[index]))}
            writer.write(tf.train.Example(features=tf.train.Features(feature=feature)).SerializeToString())
    return path


def _batch_sizes(path: str, batch_size=None):
    """Every record batch's row count, as TFX's Evaluator reads a split (``tfxio.BeamSource()``)."""
    source = tf_example_record.TFExampleRecord(file_pattern=path)
    counts = path + ".batch_sizes"
    with beam.Pipeline() as pipeline:
        _ = (pipeline | source.BeamSource(batch_size) | beam.Map(lambda batch: batch.num_rows)
             | beam.io.WriteToText(counts, shard_name_template=""))
    with open(counts) as handle:
        return [int(line) for line in handle]


@pytest.mark.pipeline
def test_tuned_batches_grow_past_the_cap_without_it(records):
    # What the cap is for: left alone, Beam's tuning climbs well past 64 records on fast elements.
    sizes = _batch_sizes(records)
    assert sum(sizes) == RECORDS and max(sizes) > MAX_RECORDS_PER_BATCH


@pytest.mark.pipeline
def test_within_the_cap_every_batch_holds_at_most_64_records_and_nothing_is_lost(records):
    with capped_record_batches():
        sizes = _batch_sizes(records)
    assert sum(sizes) == RECORDS and max(sizes) <= MAX_RECORDS_PER_BATCH
    # Still tuned upwards to the cap, not one record at a time. How many batches reach it depends on Beam's
    # timing of each batch (a loaded CI machine once gave 22 full batches of 46 possible), so only that
    # it gets there, and that batches average more than 8 records.
    assert max(sizes) == MAX_RECORDS_PER_BATCH and len(sizes) <= RECORDS // 8


@pytest.mark.pipeline
def test_a_source_that_asks_for_a_size_gets_it_and_the_cap_is_gone_afterwards(records):
    original = batch_util.GetBatchElementsKwargs
    with capped_record_batches(cap=10):
        sizes = _batch_sizes(records, batch_size=500)
    assert sizes.count(500) == RECORDS // 500
    assert batch_util.GetBatchElementsKwargs is original


def test_the_cap_is_lifted_even_when_the_run_fails():
    original = batch_util.GetBatchElementsKwargs
    with pytest.raises(RuntimeError, match="evaluation failed"):
        with capped_record_batches():
            raise RuntimeError("evaluation failed")
    assert batch_util.GetBatchElementsKwargs is original


def test_a_cap_below_one_is_refused():
    with pytest.raises(ValueError, match="at least 1, got 0"):
        with capped_record_batches(cap=0):
            pass
