"""CenterNet: the head fits every backbone, targets decode back to their boxes, and the loss can be learnt."""

import numpy as np
import pytest
import tensorflow as tf

from trainer import centernet
from trainer.config import TrainerConfig

BOXES = np.array([[[0.1, 0.1, 0.3, 0.4, 0], [0.5, 0.5, 0.9, 0.7, 2]] + [[0, 0, 0, 0, -1]] * 3], np.float32)


@pytest.mark.parametrize("backbone, size", [("resnet", 64), ("squeezenet", 96), ("mobilenet_v2", 96)])
def test_the_head_is_at_stride_4_on_every_backbone(backbone, size):
    config = TrainerConfig(task="detection", backbone=backbone, image_size=size, class_names=["a", "b", "c"])
    model, _ = centernet.build_centernet(config)
    assert model.output_shape == (None, size // 4, size // 4, 3 + 4)


def test_a_head_made_from_the_targets_decodes_to_exactly_the_boxes():
    targets = centernet.box_targets(tf.constant(BOXES), 32, 3)
    heat = np.clip(targets["heatmap"].numpy(), 1e-6, 1 - 1e-6)
    sizes, offsets = np.zeros((1, 32, 32, 2), np.float32), np.zeros((1, 32, 32, 2), np.float32)
    for j in range(2):
        index = targets["index"].numpy()[0, j]
        sizes[0, index // 32, index % 32] = targets["log_size"].numpy()[0, j]
        offsets[0, index // 32, index % 32] = targets["offset"].numpy()[0, j]
    head = np.concatenate([np.log(heat / (1 - heat)), sizes, offsets], -1).astype(np.float32)
    found = centernet.decode(tf.constant(head), 3)
    assert found["num_detections"].numpy()[0] == 2
    np.testing.assert_allclose(found["boxes"].numpy()[0, :2], BOXES[0, :2, :4], atol=1e-5)
    assert list(found["class_ids"].numpy()[0, :2]) == [0, 2]
    assert float(centernet.CenterNetLoss(3)(BOXES, head)) < 0.05


@pytest.mark.trains
def test_the_loss_falls_when_fitting_one_scene():
    tf.keras.utils.set_random_seed(0)
    config = TrainerConfig(task="detection", image_size=32, class_names=["a", "b", "c"], decoder_filters=[8, 8, 8])
    model, _ = centernet.build_centernet(config)
    model.compile(optimizer=tf.keras.optimizers.Adam(3e-3), loss=centernet.CenterNetLoss(3))
    images = np.random.default_rng(0).uniform(0, 255, (4, 32, 32, 3)).astype(np.float32)
    history = model.fit(images, np.repeat(BOXES, 4, axis=0), epochs=30, verbose=0)
    assert history.history["loss"][-1] < 0.5 * history.history["loss"][0]
