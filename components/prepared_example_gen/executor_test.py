"""The prepared-data ImportExampleGen executor: Do() on real TFRecord shards in a temp dir."""

import json
import os
import pytest

import tensorflow as tf
from tfx.components.util import examples_utils
from tfx.proto import example_gen_pb2
from tfx.types import artifact_utils, standard_artifacts
from tfx.utils import proto_utils

from common import names
from components.prepared_example_gen import executor as prepared

SPLITS = {"train": 7, "eval": 3}


def _example(index: int) -> bytes:
    return tf.train.Example(features=tf.train.Features(feature={
        names.FILENAME_KEY: tf.train.Feature(bytes_list=tf.train.BytesList(value=[f"img_{index:03d}.png".encode()])),
        names.DEFAULT_LABEL_KEY: tf.train.Feature(int64_list=tf.train.Int64List(value=[index % 2])),
    })).SerializeToString()


def _prepared(root, record_order=names.SHUFFLED_RECORD_ORDER, shards=2):
    """A prepared dataset as ingest/shards.py lays it out; returns {split: records in file order}."""
    written, index = {}, 0
    for split, count in SPLITS.items():
        os.makedirs(root / split)
        records = [_example(index + i) for i in range(count)]
        index += count
        for shard in range(shards):
            path = root / split / f"data-{shard:05d}-of-{shards:05d}{names.TFRECORD_SUFFIX}"
            with tf.io.TFRecordWriter(str(path), tf.io.TFRecordOptions(compression_type="GZIP")) as writer:
                for record in records[shard::shards]:
                    writer.write(record)
        written[split] = records
    manifest = {"format_version": 4}
    if record_order:
        manifest[names.RECORD_ORDER_KEY] = record_order
    (root / names.MANIFEST_FILENAME).write_text(json.dumps(manifest))
    return written


def _run(tmp_path, input_base, output_config=None):
    examples = standard_artifacts.Examples()
    examples.uri = str(tmp_path / "examples")
    input_config = example_gen_pb2.Input(splits=[
        example_gen_pb2.Input.Split(name=split, pattern=f"{split}/*{names.TFRECORD_SUFFIX}") for split in SPLITS])
    if output_config is not None:
        input_config = example_gen_pb2.Input(splits=[
            example_gen_pb2.Input.Split(name="single", pattern=f"*/*{names.TFRECORD_SUFFIX}")])
    properties = {
        "input_base": str(input_base),
        "input_config": proto_utils.proto_to_json(input_config),
        "output_config": proto_utils.proto_to_json(output_config or example_gen_pb2.Output()),
        "output_data_format": example_gen_pb2.FORMAT_TF_EXAMPLE,
        "output_file_format": example_gen_pb2.FORMAT_TFRECORDS_GZIP,
    }
    prepared.Executor().Do({}, {"examples": [examples]}, properties)
    return examples


def _records(examples, split):
    pattern = os.path.join(artifact_utils.get_split_uri([examples], split), "*")
    files = sorted(tf.io.gfile.glob(pattern))
    assert files and all(path.endswith(".gz") for path in files), files
    return [bytes(r.numpy()) for r in tf.data.TFRecordDataset(files, compression_type="GZIP")], files


def test_prepared_shuffled_shards_are_copied_byte_for_byte(tmp_path):
    data = tmp_path / "data"
    written = _prepared(data)
    examples = _run(tmp_path, data)
    assert sorted(artifact_utils.decode_split_names(examples.split_names)) == ["eval", "train"]
    assert examples.get_string_custom_property(prepared.RECORD_ORDER_PROPERTY) == prepared.COPIED
    assert examples_utils.get_payload_format(examples) == example_gen_pb2.FORMAT_TF_EXAMPLE
    for split, records in written.items():
        got, files = _records(examples, split)
        # The shards themselves, in order: the records keep the prepared (seeded shuffled) order.
        sources = sorted(tf.io.gfile.glob(str(data / split / "*")))
        assert [os.path.basename(f) for f in files] == ["data_tfrecord-00000-of-00002.gz",
                                                        "data_tfrecord-00001-of-00002.gz"]
        assert [open(f, "rb").read() for f in files] == [open(f, "rb").read() for f in sources]
        assert sorted(got) == sorted(records)


@pytest.mark.pipeline
def test_data_without_a_recorded_shuffled_order_is_shuffled_by_tfx(tmp_path):
    """A user's own TFRecords (no manifest, or an older one): TFX's path, every record kept."""
    for record_order, name in ((None, "older"), ("sorted-by-name", "other")):
        data = tmp_path / name
        written = _prepared(data, record_order=record_order)
        examples = _run(tmp_path / f"out-{name}", data)
        assert examples.get_string_custom_property(prepared.RECORD_ORDER_PROPERTY) == prepared.SHUFFLED_BY_TFX
        for split, records in written.items():
            assert sorted(_records(examples, split)[0]) == sorted(records)
    bare = tmp_path / "bare"
    written = _prepared(bare)
    os.remove(bare / names.MANIFEST_FILENAME)
    examples = _run(tmp_path / "out-bare", bare)
    assert examples.get_string_custom_property(prepared.RECORD_ORDER_PROPERTY) == prepared.SHUFFLED_BY_TFX
    assert sorted(_records(examples, "train")[0]) == sorted(written["train"])


@pytest.mark.pipeline
def test_a_hash_split_of_one_input_goes_through_tfx(tmp_path):
    data = tmp_path / "data"
    written = _prepared(data)
    output_config = example_gen_pb2.Output(split_config=example_gen_pb2.SplitConfig(splits=[
        example_gen_pb2.SplitConfig.Split(name="train", hash_buckets=4),
        example_gen_pb2.SplitConfig.Split(name="eval", hash_buckets=1)]))
    examples = _run(tmp_path, data, output_config)
    assert examples.get_string_custom_property(prepared.RECORD_ORDER_PROPERTY) == prepared.SHUFFLED_BY_TFX
    everything = _records(examples, "train")[0] + _records(examples, "eval")[0]
    assert sorted(everything) == sorted(written["train"] + written["eval"])
