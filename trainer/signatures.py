"""Serving signatures: raw image bytes or serialized tf.Examples in, class probabilities out.

Both signatures run the Transform graph (``tft_layer``) and then the model, so
serving repeats exactly the decoding and resizing that produced the training
data — the no-skew test in ``signatures_test.py`` checks it.
"""

from __future__ import annotations

from typing import Callable, Dict

import tensorflow as tf
import tensorflow_transform as tft

from trainer import features, image_ops
from trainer.keras_lib import keras
from trainer.task_config import TrainerConfig

RAW_BYTES_SIGNATURE = "serving_default"
EXAMPLES_SIGNATURE = "serving_examples"
#: TFMA reads this output of the examples signature.
PREDICTION_KEY = "probabilities"


def make_signatures(
    model: keras.Model, tf_transform_output: tft.TFTransformOutput, config: TrainerConfig
) -> Dict[str, Callable]:
    """Builds both signatures; attaches the Transform layer to the model so it is saved with it."""
    model.tft_layer = tf_transform_output.transform_features_layer()
    # The raw image feature as the Transform graph expects it (scalar, [1] or
    # sparse, depending on the schema), so both signatures feed it identically.
    image_spec = tf_transform_output.raw_feature_spec()[config.image_key]
    class_names = tf.constant(config.class_names or [str(i) for i in range(model.output_shape[-1])])

    def predict(raw_features: Dict[str, tf.Tensor]) -> Dict[str, tf.Tensor]:
        transformed = model.tft_layer(raw_features)
        pixels = image_ops.bytes_to_pixels(transformed[features.TRANSFORMED_IMAGE_KEY], config.image_size)
        probabilities = model(tf.cast(pixels, tf.float32), training=False)
        class_id = tf.argmax(probabilities, axis=-1)
        return {
            PREDICTION_KEY: probabilities,
            "class_id": class_id,
            "class_name": tf.gather(class_names, class_id),
        }

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="image_bytes")])
    def serve_image_bytes(image_bytes):
        return predict({config.image_key: _as_raw_feature(image_bytes, image_spec)})

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="examples")])
    def serve_tf_examples(serialized_examples):
        return predict(tf.io.parse_example(serialized_examples, {config.image_key: image_spec}))

    return {
        RAW_BYTES_SIGNATURE: serve_image_bytes.get_concrete_function(),
        EXAMPLES_SIGNATURE: serve_tf_examples.get_concrete_function(),
    }


def _as_raw_feature(values: tf.Tensor, spec) -> tf.Tensor:
    """Shapes a ``[N]`` batch of image bytes like the schema's raw feature."""
    if isinstance(spec, tf.io.FixedLenFeature):
        return tf.reshape(values, [-1] + list(spec.shape))
    return tf.sparse.from_dense(tf.reshape(values, [-1, 1]))


def export_model(
    model: keras.Model, tf_transform_output: tft.TFTransformOutput, config: TrainerConfig, export_dir: str
) -> None:
    """Saves a Keras-2 SavedModel with both serving signatures."""
    signatures = make_signatures(model, tf_transform_output, config)
    model.save(export_dir, save_format="tf", signatures=signatures)
