"""A single-stage, anchor-free detector (CenterNet, "Objects as Points") on any backbone.

Why CenterNet rather than an anchor-based SSD/RetinaNet: there is nothing to
tune per dataset — no anchor sizes or aspect ratios, no IoU matching rules —
and its suppression is a 3×3 max-pool over the heat map, which exports as
plain TensorFlow (and TFLite) ops.  Boxes are predicted at stride 4 from the
same multi-scale decoder the segmentation U-Net uses, so every backbone of
:mod:`trainer.backbones` (the small ResNet, SqueezeNet, MobileNetV2, …) works.

Head output, one tensor ``[B, G, G, C + 4]`` with ``G = image_size / 4``:

* ``C`` heat-map logits — a peak at an object's centre cell, per class;
* ``log w, log h`` — the box size in grid cells, at the centre cell;
* ``dx, dy`` — where in its cell the centre lies (0-1).

Training targets are made from the boxes inside the loss (:class:`CenterNetLoss`),
so the input pipeline carries just ``[B, MAX_BOXES, 5]`` boxes.  :func:`decode`
turns the head into at most ``max_detections`` boxes: peaks (the max-pool
NMS), top-k, then class-wise non-maximum suppression
(``tf.image.combined_non_max_suppression``) for overlapping peaks.
"""

from __future__ import annotations

from typing import Dict, Tuple

from common import names
from trainer.backbones import Normalize, build_backbone
from trainer.config import TrainerConfig
from trainer.keras_lib import keras, tf
from trainer.unet import conv_block, multi_scale_layers

#: Output stride of the head.
STRIDE = 4
#: The detector adds strided blocks until its deepest features are at least this coarse.
CONTEXT_STRIDE = 16
#: Gaussian radius factor of the centre heat map (TTFNet's alpha): sigma = ALPHA * box side / 6.
ALPHA = 0.54
#: Detections kept per image after suppression.
MAX_DETECTIONS = 100
#: Candidate peaks per image before suppression.
TOP_K = 100
#: Boxes overlapping more than this (same class) are suppressed.
NMS_IOU = 0.5
#: Detections below this score are dropped (low: average precision wants the whole ranking).
MIN_SCORE = 0.05
_PRIOR_LOGIT = -2.19  # sigmoid = 0.1: the focal-loss prior, so early training is not swamped by negatives


def grid_size(config: TrainerConfig) -> int:
    return config.image_size // STRIDE


def build_centernet(config: TrainerConfig) -> Tuple[keras.Model, keras.Model]:
    """Returns (detector, backbone); output ``[B, G, G, classes + 4]`` (see the module docstring)."""
    if config.image_size % STRIDE:
        raise ValueError(f"detection needs --image-size divisible by {STRIDE}, got {config.image_size}")
    size, grid = config.image_size, grid_size(config)
    backbone, mode = build_backbone(config.backbone, size, config.weights, resnet_stem_stride=2)
    layer_names = multi_scale_layers(backbone, len(config.decoder_filters) + 1)
    encoder = keras.Model(backbone.input, [backbone.get_layer(n).output for n in layer_names], name="encoder")

    inputs = keras.Input((size, size, 3), name=names.MODEL_INPUT_NAME)
    features = encoder(Normalize(mode, name="normalize")(inputs))
    features = features if isinstance(features, list) else [features]
    x, skips = features[0], list(features[1:])
    # Context: a backbone whose deepest features are finer than stride 16 (the small ResNet stops at 4)
    # sees too little of a large object to size it; strided blocks widen the view, the decoder comes back.
    level = 0
    while x.shape[1] > size // CONTEXT_STRIDE:
        skips.insert(0, x)
        x = keras.layers.Conv2D(min(2 * x.shape[-1], 128), 3, strides=2, padding="same", use_bias=False,
                                name=f"context{level}_down")(x)
        x = conv_block(keras.layers.ReLU(name=f"context{level}_relu")(
            keras.layers.BatchNormalization(momentum=0.9, name=f"context{level}_bn")(x)),
            x.shape[-1], name=f"context{level}")
        level += 1
    for i, filters in enumerate(config.decoder_filters):
        if x.shape[1] >= grid:
            break
        x = keras.layers.UpSampling2D(interpolation="bilinear", name=f"decoder{i}_up")(x)
        if i < len(skips) and skips[i].shape[1] == x.shape[1]:
            x = keras.layers.Concatenate(name=f"decoder{i}_concat")([x, skips[i]])
        x = conv_block(x, filters, name=f"decoder{i}")
    if x.shape[1] != grid:
        x = keras.layers.Resizing(grid, grid, interpolation="bilinear", name="to_grid")(x)

    def head(channels: int, name: str, bias: float = 0.0):
        y = keras.layers.Conv2D(64, 3, padding="same", activation="relu", name=f"{name}_conv")(x)
        return keras.layers.Conv2D(channels, 1, name=name,
                                   bias_initializer=keras.initializers.Constant(bias))(y)

    outputs = keras.layers.Concatenate(name="detections_head")([
        head(config.num_classes, "heatmap", _PRIOR_LOGIT), head(2, "log_size"), head(2, "offset")])
    return keras.Model(inputs, outputs, name=f"{config.backbone}_centernet"), backbone


def split_head(head: tf.Tensor, num_classes: int) -> Tuple[tf.Tensor, tf.Tensor, tf.Tensor]:
    """(heat-map logits, log sizes, offsets) of the head tensor."""
    return head[..., :num_classes], head[..., num_classes:num_classes + 2], head[..., num_classes + 2:]


def box_targets(boxes: tf.Tensor, grid: int, num_classes: int) -> Dict[str, tf.Tensor]:
    """Training targets from ``[B, M, 5]`` boxes (normalised xmin, ymin, xmax, ymax, class; class < 0 = none).

    Returns the heat map ``[B, G, G, C]`` (Gaussian bumps, exactly 1 at each centre cell), and per box its
    centre cell index ``[B, M]``, log size and offset ``[B, M, 2]``, and validity ``[B, M]``.
    """
    grid_int = grid
    grid = tf.cast(grid, tf.float32)
    classes = tf.cast(boxes[..., 4], tf.int32)
    valid = tf.cast(classes >= 0, tf.float32)
    xy_min, xy_max = boxes[..., 0:2] * grid, boxes[..., 2:4] * grid
    size = tf.maximum(xy_max - xy_min, 1e-3)
    centre = (xy_min + xy_max) / 2.0
    cell = tf.clip_by_value(tf.floor(centre), 0.0, grid - 1.0)
    sigma = tf.maximum(ALPHA * size / 6.0, 0.3)
    coords = tf.range(grid_int, dtype=tf.float32)
    gauss_x = tf.exp(-tf.square(coords[None, None, :] - cell[..., 0:1]) / (2 * tf.square(sigma[..., 0:1])))
    gauss_y = tf.exp(-tf.square(coords[None, None, :] - cell[..., 1:2]) / (2 * tf.square(sigma[..., 1:2])))
    bumps = gauss_y[..., :, None] * gauss_x[..., None, :]  # [B, M, G, G]
    one_hot = tf.one_hot(tf.maximum(classes, 0), num_classes) * valid[..., None]  # [B, M, C]
    heatmap = tf.reduce_max(bumps[..., None] * one_hot[:, :, None, None, :], axis=1)
    index = tf.cast(cell[..., 1] * grid + cell[..., 0], tf.int32)
    return {"heatmap": heatmap, "index": index, "log_size": tf.math.log(size), "offset": centre - cell,
            "valid": valid}


@keras.utils.register_keras_serializable(package="image_tfx")
class CenterNetLoss(keras.losses.Loss):
    """Penalty-reduced focal loss on the heat map + L1 on log size and offset at the centre cells."""

    def __init__(self, num_classes: int, size_weight: float = 1.0, offset_weight: float = 1.0,
                 name: str = "centernet_loss", **kwargs):
        kwargs["reduction"] = keras.losses.Reduction.NONE
        super().__init__(name=name, **kwargs)
        self.num_classes = num_classes
        self.size_weight = size_weight
        self.offset_weight = offset_weight

    def call(self, y_true, y_pred):
        grid = tf.shape(y_pred)[1]
        targets = box_targets(tf.cast(y_true, tf.float32), grid, self.num_classes)
        logits, log_size, offset = split_head(y_pred, self.num_classes)
        probs = tf.clip_by_value(tf.sigmoid(logits), 1e-4, 1.0 - 1e-4)
        heat = targets["heatmap"]
        positive = tf.cast(heat >= 1.0 - 1e-4, tf.float32)
        focal = (positive * tf.square(1.0 - probs) * tf.math.log(probs)
                 + (1.0 - positive) * tf.pow(1.0 - heat, 4.0) * tf.square(probs) * tf.math.log(1.0 - probs))
        count = tf.maximum(tf.reduce_sum(targets["valid"], axis=1), 1.0)
        heat_loss = -tf.reduce_sum(focal, axis=[1, 2, 3]) / count

        flat = tf.shape(y_pred)[0], grid * grid, 2
        at_centres = lambda maps: tf.gather(tf.reshape(maps, flat), targets["index"], batch_dims=1)  # noqa: E731
        valid = targets["valid"][..., None]
        size_loss = tf.reduce_sum(tf.abs(at_centres(log_size) - targets["log_size"]) * valid, axis=[1, 2]) / count
        offset_loss = tf.reduce_sum(tf.abs(at_centres(offset) - targets["offset"]) * valid, axis=[1, 2]) / count
        return heat_loss + self.size_weight * size_loss + self.offset_weight * offset_loss

    def get_config(self):
        return {**super().get_config(), "num_classes": self.num_classes, "size_weight": self.size_weight,
                "offset_weight": self.offset_weight}


def decode(head: tf.Tensor, num_classes: int, max_detections: int = MAX_DETECTIONS) -> Dict[str, tf.Tensor]:
    """Detections in the model's input frame, normalised: ``boxes [B, K, 4]`` (xmin, ymin, xmax, ymax),
    ``scores [B, K]``, ``class_ids [B, K]`` (int64), ``num_detections [B]``; rows past ``num_detections`` are 0."""
    logits, log_size, offset = split_head(head, num_classes)
    heat = tf.sigmoid(logits)
    peaks = heat * tf.cast(tf.equal(heat, tf.nn.max_pool2d(heat, 3, 1, "SAME")), heat.dtype)
    batch, grid = tf.shape(head)[0], tf.shape(head)[1]
    k = tf.minimum(TOP_K, grid * grid * num_classes)
    scores, flat_index = tf.math.top_k(tf.reshape(peaks, [batch, -1]), k=k)
    cell_index, class_ids = flat_index // num_classes, flat_index % num_classes
    gridf = tf.cast(grid, tf.float32)
    cell_x = tf.cast(cell_index % grid, tf.float32)
    cell_y = tf.cast(cell_index // grid, tf.float32)
    take = lambda maps: tf.gather(tf.reshape(maps, [batch, -1, 2]), cell_index, batch_dims=1)  # noqa: E731
    sizes, offsets = tf.exp(take(log_size)), take(offset)
    centre_x, centre_y = cell_x + offsets[..., 0], cell_y + offsets[..., 1]
    half_w, half_h = sizes[..., 0] / 2.0, sizes[..., 1] / 2.0
    # combined_non_max_suppression wants (y1, x1, y2, x2) and per-class scores.
    yx_boxes = tf.clip_by_value(tf.stack([centre_y - half_h, centre_x - half_w, centre_y + half_h,
                                          centre_x + half_w], axis=-1) / gridf, 0.0, 1.0)
    class_scores = tf.one_hot(class_ids, num_classes) * scores[..., None]
    kept = tf.image.combined_non_max_suppression(
        yx_boxes[:, :, None, :], class_scores, max_output_size_per_class=max_detections,
        max_total_size=max_detections, iou_threshold=NMS_IOU, score_threshold=MIN_SCORE, clip_boxes=True)
    y1, x1, y2, x2 = tf.unstack(kept.nmsed_boxes, axis=-1)
    return {"boxes": tf.stack([x1, y1, x2, y2], axis=-1), "scores": kept.nmsed_scores,
            "class_ids": tf.cast(kept.nmsed_classes, tf.int64), "num_detections": kept.valid_detections}
