"""The staged Transform executor: Do() on real examples with the real preprocessing_fn, against TFX's own."""

import io
import json
import os

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image
from tfx.components.transform import executor as tfx_transform
from tfx.proto import transform_pb2
from tfx.types import artifact_utils, standard_artifacts
from tfx.utils import proto_utils

from common import names
from common.examples_io import record_dataset
from components.staged_transform import executor as staged
from ingest.example_format import make_image_example
from trainer.config import TrainerConfig

pytestmark = pytest.mark.pipeline

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SPLITS = {names.TRAIN_SPLIT: 300, names.EVAL_SPLIT: 60}


def _png(seed: int, size: int) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(np.random.default_rng(seed).integers(0, 255, (size, size, 3), dtype=np.uint8)).save(
        buffer, format="PNG")
    return buffer.getvalue()


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    root = tmp_path_factory.mktemp("transform")
    examples = standard_artifacts.Examples()
    examples.uri = str(root / "examples")
    examples.split_names = artifact_utils.encode_split_names(list(SPLITS))
    index = 0
    for split, count in SPLITS.items():
        os.makedirs(os.path.join(examples.uri, f"Split-{split}"))
        with tf.io.TFRecordWriter(os.path.join(examples.uri, f"Split-{split}", "data_tfrecord-00000-of-00001")) as w:
            for _ in range(count):
                # Sizes at, below and above the model's 16 px: resized, upsampled and passed through.
                w.write(make_image_example(_png(index, (12, 16, 20)[index % 3]), index % 10, str(index % 10),
                                           f"{index}.png").SerializeToString())
                index += 1
    schema = standard_artifacts.Schema()
    schema.uri = str(root / "schema")
    os.makedirs(schema.uri)
    with open(os.path.join(ROOT, "schema", "classification", "schema.pbtxt")) as source:
        open(os.path.join(schema.uri, "schema.pbtxt"), "w").write(source.read())
    config = TrainerConfig(image_size=16, class_names=[str(i) for i in range(10)])
    properties = {
        "preprocessing_fn": "trainer.preprocessing.preprocessing_fn",
        "custom_config": json.dumps(config.transform_config().to_dict()),
        "splits_config": proto_utils.proto_to_json(transform_pb2.SplitsConfig(
            analyze=[names.EVAL_SPLIT], transform=[names.TRAIN_SPLIT, names.EVAL_SPLIT])),
        "disable_statistics": 1,
        "force_tf_compat_v1": 0,
    }
    return root, {"examples": [examples], "schema": [schema]}, properties


def _transform(executor_class, root, input_dict, properties, name):
    outputs = {}
    for key, artifact_type in (("transform_graph", standard_artifacts.TransformGraph),
                               ("transformed_examples", standard_artifacts.Examples)):
        artifact = artifact_type()
        artifact.uri = str(root / name / key)
        outputs[key] = [artifact]
    executor_class().Do(input_dict, outputs, dict(properties))
    return outputs["transformed_examples"][0]


def _records(artifact, split):
    """(files, every example serialized deterministically, sorted): equal lists mean equal examples."""
    files = sorted(tf.io.gfile.glob(os.path.join(artifact_utils.get_split_uri([artifact], split), "*")))
    examples = [tf.train.Example.FromString(r.numpy()) for r in record_dataset(files)]
    return files, sorted(e.SerializeToString(deterministic=True) for e in examples)


def test_the_same_transformed_examples_as_tfx_in_its_file_names(inputs):
    root, input_dict, properties = inputs
    ours = _transform(staged.Executor, root, input_dict, properties, "staged")
    theirs = _transform(tfx_transform.Executor, root, input_dict, properties, "tfx")
    assert tfx_transform.TransformProcessor is staged._TFXProcessor  # the swap is undone
    for split, count in SPLITS.items():
        our_files, our_examples = _records(ours, split)
        their_files, their_examples = _records(theirs, split)
        assert len(our_examples) == count and our_examples == their_examples
        assert all(os.path.basename(f).startswith("transformed_examples-") for f in our_files + their_files)
        # Ours uncompressed (the Trainer and TFX's readers tell it from the suffix), TFX's GZIP.
        assert not any(f.endswith(".gz") for f in our_files) and all(f.endswith(".gz") for f in their_files)
        pixels = tf.train.Example.FromString(our_examples[0]).features.feature[names.TRANSFORMED_IMAGE_KEY]
        assert tf.io.parse_tensor(pixels.bytes_list.value[0], tf.uint8).shape == (16, 16, 3)
