"""Object detection: boxes move with the image; a CenterNet head (trainer/centernet.py) finds them."""

from __future__ import annotations

from typing import Dict, List

import tensorflow as tf

from common import names
from trainer import augmentation, centernet, image_ops
from trainer.config import TrainerConfig, TransformConfig
from trainer.keras_lib import keras
from trainer.tasks.base import Task

#: A box keeps at least this share of its area after an augmentation crop, or it is dropped.
MIN_VISIBLE_SHARE = 0.4


def raw_boxes(inputs: Dict) -> tf.Tensor:
    """``[N, M, 5]`` (xmin, ymin, xmax, ymax, class id) from the raw box features, padded with class -1."""
    columns = []
    for key in names.BOX_COORDINATE_KEYS + (names.BOX_CLASS_KEY,):
        value = inputs[key]
        ragged = (tf.RaggedTensor.from_sparse(value) if isinstance(value, tf.SparseTensor)
                  else tf.RaggedTensor.from_tensor(value))
        columns.append(tf.cast(ragged, tf.float32).to_tensor(default_value=-1.0))
    return tf.stack(columns, axis=-1)


def to_frame(boxes: tf.Tensor, frame: tf.Tensor) -> tf.Tensor:
    """Normalised image boxes ``[N, M, 5]`` into the model input frame (``[N, 4]`` from image_ops.box_frame)."""
    scale = tf.tile(frame[:, None, 0:2], [1, 1, 2])
    offset = tf.tile(frame[:, None, 2:4], [1, 1, 2])
    coords = boxes[..., :4] * scale + offset
    return tf.concat([tf.where(boxes[..., 4:5] >= 0, coords, 0.0), boxes[..., 4:5]], axis=-1)


def from_frame(boxes: tf.Tensor, frame: tf.Tensor) -> tf.Tensor:
    """Inverse of :func:`to_frame` for ``[N, K, 4]`` boxes, clipped to the image."""
    scale = tf.tile(frame[:, None, 0:2], [1, 1, 2])
    offset = tf.tile(frame[:, None, 2:4], [1, 1, 2])
    return tf.clip_by_value((boxes - offset) / scale, 0.0, 1.0)


def image_frames(encoded: tf.Tensor, config: TransformConfig, sizes=None) -> tf.Tensor:
    """``[N, 4]`` frames (see image_ops.box_frame) of a batch of encoded images under the resize policy.

    ``sizes`` (``[N, 2]`` from image_ops.image_sizes), when the caller has them, saves decoding again;
    ``squash`` needs no sizes at all.
    """
    if config.resize_policy == "squash":
        return tf.tile(tf.constant([[1.0, 1.0, 0.0, 0.0]]), [tf.shape(encoded)[0], 1])
    sizes = image_ops.image_sizes(encoded) if sizes is None else sizes
    return tf.map_fn(lambda hw: image_ops.box_frame(hw[0], hw[1], config.image_size, config.resize_policy),
                     sizes, fn_output_signature=tf.TensorSpec([4], tf.float32))


def pad_boxes(boxes: tf.Tensor, count: int = names.MAX_BOXES) -> tf.Tensor:
    """``[B, M, 5]`` -> ``[B, count, 5]``: the first ``count`` boxes, padded with class -1."""
    boxes = boxes[:, :count]
    missing = count - tf.shape(boxes)[1]
    padding = tf.concat([tf.zeros([tf.shape(boxes)[0], missing, 4]), -tf.ones([tf.shape(boxes)[0], missing, 1])], -1)
    return tf.ensure_shape(tf.concat([boxes, padding], axis=1), [None, count, 5])


def augment_boxes(boxes: tf.Tensor, crops: tf.Tensor) -> tf.Tensor:
    """Boxes ``[B, M, 5]`` after ``crop_and_resize`` with ``crops`` ``[B, 4]`` (y1, x1, y2, x2; x ends swapped =
    flipped): x' = (x - x1) / (x2 - x1).  A box left with under MIN_VISIBLE_SHARE of its area is dropped."""
    y1, x1, y2, x2 = [crops[:, None, i] for i in range(4)]
    xa, xb = (boxes[..., 0] - x1) / (x2 - x1), (boxes[..., 2] - x1) / (x2 - x1)
    ya, yb = (boxes[..., 1] - y1) / (y2 - y1), (boxes[..., 3] - y1) / (y2 - y1)
    moved = tf.stack([tf.minimum(xa, xb), tf.minimum(ya, yb), tf.maximum(xa, xb), tf.maximum(ya, yb)], axis=-1)
    clipped = tf.clip_by_value(moved, 0.0, 1.0)
    area = lambda b: tf.maximum(b[..., 2] - b[..., 0], 0.0) * tf.maximum(b[..., 3] - b[..., 1], 0.0)  # noqa: E731
    keep = (boxes[..., 4] >= 0) & (area(clipped) >= MIN_VISIBLE_SHARE * tf.maximum(area(moved), 1e-9))
    return tf.concat([tf.where(keep[..., None], clipped, 0.0), tf.where(keep, boxes[..., 4], -1.0)[..., None]], -1)


class Detection(Task):
    name = "detection"
    model_output_key = "raw_heads"

    def transform_targets(self, inputs: Dict, config: TransformConfig) -> Dict:
        if names.BOX_CLASS_KEY not in inputs:
            return {}
        boxes = raw_boxes(inputs)
        boxes = to_frame(boxes, image_frames(image_ops.dense_1d(inputs[config.image_key]), config))
        return {names.TRANSFORMED_BOXES_KEY: tf.map_fn(tf.io.serialize_tensor, boxes, fn_output_signature=tf.string)}

    def parse_targets(self, batch: Dict, config: TrainerConfig):
        serialized = tf.reshape(batch[names.TRANSFORMED_BOXES_KEY], [-1])
        return tf.map_fn(lambda s: pad_boxes(tf.io.parse_tensor(s, tf.float32)[None])[0], serialized,
                         fn_output_signature=tf.TensorSpec([names.MAX_BOXES, 5], tf.float32))

    def augment(self, images, targets, config: TrainerConfig, seed):
        images, crops = augmentation.augment_geometry(images, config.augmentation, seed=seed)
        return images, targets if crops is None else augment_boxes(targets, crops)

    def build_model(self, config: TrainerConfig):
        return centernet.build_centernet(config)

    def compile(self, model, learning_rate, config: TrainerConfig) -> None:
        model.compile(optimizer=keras.optimizers.Adam(learning_rate, clipnorm=10.0),
                      loss=centernet.CenterNetLoss(config.num_classes))

    def detections(self, head, image_bytes, config: TrainerConfig, sizes=None) -> Dict:
        """Detections with boxes normalised to each input image (undoing the resize policy)."""
        found = centernet.decode(head, config.num_classes)
        found["boxes"] = from_frame(found["boxes"], image_frames(image_bytes, config, sizes))
        return found

    def serving_outputs(self, head, image_bytes, config: TrainerConfig) -> Dict:
        """After NMS, top ``MAX_DETECTIONS``: boxes in the input image's own pixels (xmin, ymin, xmax, ymax),
        scores, class ids and names, and how many rows are real."""
        sizes = image_ops.image_sizes(image_bytes)
        found = self.detections(head, image_bytes, config, sizes)
        sizes = tf.cast(sizes, tf.float32)
        scale = tf.stack([sizes[:, 1], sizes[:, 0], sizes[:, 1], sizes[:, 0]], axis=-1)[:, None, :]
        return {names.DETECTION_BOXES_KEY: found["boxes"] * scale, names.DETECTION_SCORES_KEY: found["scores"],
                names.DETECTION_CLASSES_KEY: found["class_ids"],
                names.DETECTION_CLASS_NAMES_KEY: tf.gather(tf.constant(config.class_names), found["class_ids"]),
                names.NUM_DETECTIONS_KEY: found["num_detections"]}

    def evaluation_raw_keys(self, config: TrainerConfig) -> List[str]:
        """The image only: TFMA stacks the true boxes from the example's own features."""
        return []

    def evaluation_outputs(self, head, transformed: Dict, config: TrainerConfig, raw: Dict) -> Dict:
        """TFMA's object-detection format: boxes normalised to each image (as the true boxes are), class ids
        and scores padded to ``MAX_DETECTIONS``, and ``num_detections`` (int32) saying how many are real."""
        found = self.detections(head, image_ops.dense_1d(raw[config.image_key]), config)
        return {names.DETECTION_BOXES_KEY: found["boxes"],
                names.DETECTION_CLASSES_KEY: tf.cast(found["class_ids"], tf.float32),
                names.DETECTION_SCORES_KEY: found["scores"],
                names.NUM_DETECTIONS_KEY: tf.cast(found["num_detections"], tf.int32)}
