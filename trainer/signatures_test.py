"""Serving signatures on a real Transform graph: raw bytes and tf.Examples, no skew."""

import numpy as np
import pytest
import tensorflow as tf

from ingest.example_format import make_image_example
from common import names
from trainer import image_ops, signatures
from trainer.conftest import IMAGE_SIZE, sample_images
from trainer.keras_lib import keras
from trainer.classifier import build_classifier

pytestmark = pytest.mark.pipeline


@pytest.fixture(scope="module")
def exported(tmp_path_factory, transform_run):
    """(config, transformed rows, in-memory model, reloaded SavedModel, export dir) — exported once."""
    config, rows, tf_transform_output = transform_run
    keras.utils.set_random_seed(0)
    model, _ = build_classifier(config)
    export_dir = str(tmp_path_factory.mktemp("export") / "model")
    signatures.export_model(model, tf_transform_output, config, export_dir)
    return config, rows, model, tf.saved_model.load(export_dir), export_dir


def test_raw_bytes_signature_matches_model_on_transform_output(exported):
    config, rows, model, loaded, _ = exported
    raw = tf.constant([data for _, data, _ in sample_images()])
    served = loaded.signatures[names.RAW_BYTES_SIGNATURE](image_bytes=raw)

    transformed = tf.constant([r[names.TRANSFORMED_IMAGE_KEY] for r in rows])
    direct = model(tf.cast(image_ops.bytes_to_pixels(transformed, IMAGE_SIZE), tf.float32), training=False)

    np.testing.assert_allclose(served["probabilities"].numpy(), direct.numpy(), atol=1e-6)
    assert served["probabilities"].shape == (len(rows), config.num_classes)
    ids = served["class_id"].numpy()
    assert [n.decode() for n in served["class_name"].numpy()] == [config.class_names[i] for i in ids]


def test_examples_signature_equals_raw_bytes_signature(exported):
    _, _, _, loaded, _ = exported
    images = [data for _, data, _ in sample_images()]
    examples = [make_image_example(d, 0, "x", f"f{i}").SerializeToString() for i, d in enumerate(images)]
    by_example = loaded.signatures[names.EXAMPLES_SIGNATURE](examples=tf.constant(examples))
    by_bytes = loaded.signatures[names.RAW_BYTES_SIGNATURE](image_bytes=tf.constant(images))
    np.testing.assert_allclose(by_example["probabilities"].numpy(), by_bytes["probabilities"].numpy(), atol=1e-6)


def test_saved_model_reloads_with_keras(exported):
    _, _, model, _, export_dir = exported
    reloaded = keras.models.load_model(export_dir)
    batch = np.random.RandomState(0).randint(0, 255, (2, IMAGE_SIZE, IMAGE_SIZE, 3)).astype("float32")
    np.testing.assert_allclose(reloaded(batch).numpy(), model(batch).numpy(), atol=1e-6)


def test_embeddings_signature_returns_pooled_features_and_the_same_probabilities(exported):
    config, _, model, loaded, _ = exported
    images = tf.constant([data for _, data, _ in sample_images()])
    embedded = loaded.signatures[names.EMBEDDINGS_SIGNATURE](image_bytes=images)
    served = loaded.signatures[names.RAW_BYTES_SIGNATURE](image_bytes=images)
    np.testing.assert_allclose(embedded[names.PROBABILITIES_KEY].numpy(), served["probabilities"].numpy(), atol=1e-6)
    width = model.get_layer("pool").output.shape[-1]
    assert embedded[names.EMBEDDING_KEY].shape == (len(sample_images()), width)


def test_pixels_signature_is_the_model_and_the_float_tflite_file_is_converted_from_it(exported, tmp_path):
    from trainer import tflite_export

    config, _, model, loaded, export_dir = exported
    pixels = np.random.RandomState(1).randint(0, 255, (3, IMAGE_SIZE, IMAGE_SIZE, 3)).astype("float32")
    served = loaded.signatures[names.PIXELS_SIGNATURE](pixels=tf.constant(pixels))
    np.testing.assert_allclose(served[names.PROBABILITIES_KEY].numpy(), model(pixels).numpy(), atol=1e-6)
    (path,) = tflite_export.export_tflite(model, config, export_dir, from_saved_model=True).values()
    np.testing.assert_allclose(tflite_export.predict(path, pixels), model(pixels).numpy(), atol=1e-5)
