"""Serving signatures: raw image bytes or serialized tf.Examples in, predictions out.

Every signature runs the Transform graph (``tft_layer``) and then the model,
so serving repeats exactly the decoding and resizing that produced the
training data — the no-skew tests check it.

* ``serving_default`` — ``image_bytes``: a batch of encoded images.
* ``serving_examples`` — ``examples``: serialized tf.Examples (TF Serving, TFMA for classification).
* ``bulk_inference`` — as ``serving_examples`` without its string outputs
  (TFX's BulkInferrer cannot log those); used by ``--predict``.
* ``serving_pixels`` — float pixels at model resolution; the model alone (the
  float TFLite file is converted from it).
* ``serving_embeddings`` (classification) — ``image_bytes`` in; the pooled
  backbone features (``embedding``) and ``probabilities`` out.
* ``evaluation`` (segmentation) — examples with their masks; returns predicted
  and true class ids on the same grid for the IoU metric in TFMA.
"""

from __future__ import annotations

from typing import Callable, Dict

import tensorflow as tf
import tensorflow_transform as tft

from common import names
from trainer import image_ops
from trainer.config import TrainerConfig
from trainer.keras_lib import keras
from trainer.tasks.registry import get_task


def _as_raw_feature(values: tf.Tensor, spec) -> tf.Tensor:
    """Shapes a ``[N]`` batch of bytes like the schema's raw feature."""
    if isinstance(spec, tf.io.FixedLenFeature):
        return tf.reshape(values, [-1] + list(spec.shape))
    return tf.sparse.from_dense(tf.reshape(values, [-1, 1]))


def make_signatures(
    model: keras.Model, tf_transform_output: tft.TFTransformOutput, config: TrainerConfig
) -> Dict[str, Callable]:
    """Builds the signatures; attaches the Transform layer to the model so it is saved with it."""
    task = get_task(config.task)
    model.tft_layer = tf_transform_output.transform_features_layer()
    raw_spec = tf_transform_output.raw_feature_spec()
    image_spec = raw_spec[config.image_key]

    size = config.image_size

    # One trace of the model, called by every signature (tracing a Keras model is most of an export's time);
    # without AutoGraph, which would convert every layer's call (no layer needs it: MobileNet's trace 8.4 s -> 0.2 s).
    @tf.function(input_signature=[tf.TensorSpec([None, size, size, 3], tf.float32, name="pixels")],
                 autograph=False)
    def predict_pixels(pixels):
        return model(pixels, training=False)

    def transform_and_predict(raw_features):
        transformed = model.tft_layer(raw_features)
        pixels = image_ops.bytes_to_pixels(transformed[names.TRANSFORMED_IMAGE_KEY], size)
        return transformed, predict_pixels(tf.cast(pixels, tf.float32))

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="image_bytes")], autograph=False)
    def serve_image_bytes(image_bytes):
        _, model_output = transform_and_predict({config.image_key: _as_raw_feature(image_bytes, image_spec)})
        return task.serving_outputs(model_output, image_bytes, config)

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="examples")], autograph=False)
    def serve_tf_examples(serialized_examples):
        parsed = tf.io.parse_example(serialized_examples, {config.image_key: image_spec})
        _, model_output = transform_and_predict(parsed)
        return task.serving_outputs(model_output, image_ops.dense_1d(parsed[config.image_key]), config)

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="examples")], autograph=False)
    def bulk_inference(serialized_examples):
        outputs = serve_tf_examples(serialized_examples)
        return {key: value for key, value in outputs.items() if value.dtype != tf.string}

    @tf.function(input_signature=[tf.TensorSpec([None, size, size, 3], tf.float32, name="pixels")], autograph=False)
    def serve_pixels(pixels):
        # A detector's model output is its raw heads (heatmap, sizes, offsets), decoded by serve_image_bytes.
        return {task.model_output_key: predict_pixels(pixels)}

    signatures = {
        names.PIXELS_SIGNATURE: serve_pixels.get_concrete_function(),
        names.RAW_BYTES_SIGNATURE: serve_image_bytes.get_concrete_function(),
        names.EXAMPLES_SIGNATURE: serve_tf_examples.get_concrete_function(),
        names.BULK_INFERENCE_SIGNATURE: bulk_inference.get_concrete_function(),
    }
    if task.embedding_layer:
        model.embedding_model = keras.Model(model.inputs, [model.get_layer(task.embedding_layer).output, model.output])

        @tf.function(input_signature=[tf.TensorSpec([None, size, size, 3], tf.float32)], autograph=False)
        def embed_pixels(pixels):
            return model.embedding_model(pixels, training=False)

        @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="image_bytes")], autograph=False)
        def serve_embeddings(image_bytes):
            transformed = model.tft_layer({config.image_key: _as_raw_feature(image_bytes, image_spec)})
            pixels = image_ops.bytes_to_pixels(transformed[names.TRANSFORMED_IMAGE_KEY], config.image_size)
            embedding, probabilities = embed_pixels(tf.cast(pixels, tf.float32))
            return {names.EMBEDDING_KEY: embedding, names.PROBABILITIES_KEY: probabilities}

        signatures[names.EMBEDDINGS_SIGNATURE] = serve_embeddings.get_concrete_function()
    eval_keys = task.evaluation_raw_keys(config)
    if eval_keys is not None:
        @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="examples")], autograph=False)
        def evaluate_tf_examples(serialized_examples):
            spec = {key: raw_spec[key] for key in [config.image_key] + eval_keys}
            raw = tf.io.parse_example(serialized_examples, spec)
            transformed, model_output = transform_and_predict(raw)
            return task.evaluation_outputs(model_output, transformed, config, raw)

        signatures[names.EVALUATION_SIGNATURE] = evaluate_tf_examples.get_concrete_function()
    return signatures


def export_model(
    model: keras.Model, tf_transform_output: tft.TFTransformOutput, config: TrainerConfig, export_dir: str
) -> None:
    """Saves a Keras-2 SavedModel with the serving signatures.

    ``save_traces=False``: Keras would otherwise trace every layer's call for
    reloading without the code (11 of MobileNet's 14 s of export).  Serving,
    TFMA, the BulkInferrer and ``tf.saved_model.load`` use the signatures and
    do not need them; ``keras.models.load_model`` needs the project's layers
    registered first (``import trainer.backbones``).
    """
    signatures = make_signatures(model, tf_transform_output, config)
    model.save(export_dir, save_format="tf", signatures=signatures, save_traces=False)
