"""Detection metrics through real TFMA: COCO mAP agrees with an independent computation, with a baseline too.

The "models" are tf.Modules whose ``evaluation`` signature reads each
example's own true boxes and answers with planted errors, so every number
is known: the candidate misses one box in four and shifts another, the
baseline calls every class-2 object class 1.
"""

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_model_analysis as tfma

from common import names
from components.box_metrics import interpolated_ap, matched_ious
from pipeline.configs import PipelineConfig
from pipeline.evaluation import detection_eval_config
from tests.box_ap import average_precision, mean_average_precision
from trainer.config import TrainerConfig

CLASSES = ["a", "b", "c"]
K = 8


def _examples(count=24, seed=0):
    """(boxes, classes, scores): the scores the models will give, distinct and 0.005 apart over the whole
    set, because TFMA buckets scores (1,000 thresholds) and counts a tie as one block."""
    rng = np.random.default_rng(seed)
    rows = []
    for _ in range(count):
        n = int(rng.integers(1, 4))
        xy = rng.uniform(0, 0.6, (n, 2))
        wh = rng.uniform(0.1, 0.35, (n, 2))
        rows.append((np.concatenate([xy, xy + wh], 1).astype(np.float32), rng.integers(0, 3, n)))
    ranks = iter(rng.permutation(sum(len(b) for b, _ in rows)))
    return [(b, c, np.array([0.3 + 0.005 * next(ranks) for _ in c])) for b, c in rows]


def _write(path, rows):
    with tf.io.TFRecordWriter(path) as writer:
        for boxes, classes, scores in rows:
            feature = {key: tf.train.Feature(float_list=tf.train.FloatList(value=boxes[:, i].tolist()))
                       for i, key in enumerate(names.BOX_COORDINATE_KEYS)}
            feature["planted_score"] = tf.train.Feature(float_list=tf.train.FloatList(value=scores.tolist()))
            feature[names.BOX_CLASS_KEY] = tf.train.Feature(int64_list=tf.train.Int64List(value=classes.tolist()))
            writer.write(tf.train.Example(features=tf.train.Features(feature=feature)).SerializeToString())


def _planted(boxes, classes, scores, baseline):
    """(boxes [n, 4], class ids, scores) a model answers for one example: the planted errors."""
    boxes, classes = boxes.copy(), classes.copy()
    if baseline:
        classes = np.where(classes == 2, 1, classes)
    else:
        if len(boxes) >= 2:
            boxes[1, [0, 2]] += 0.6 * (boxes[1, 2] - boxes[1, 0])  # IoU 0.25: a miss plus a false positive
        if len(boxes) == 3:
            boxes, classes, scores = boxes[:2], classes[:2], scores[:2]  # a missed box
    return boxes, classes, scores


class _Detector(tf.Module):
    def __init__(self, baseline):
        super().__init__()
        self.baseline = baseline

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="examples")])
    def evaluation(self, examples):
        return tf.numpy_function(self._answer, [examples], [tf.float32, tf.float32, tf.float32, tf.int32],
                                 stateful=False)

    def _answer(self, examples):
        out_boxes, out_classes, out_scores, counts = [], [], [], []
        for serialized in examples:
            feature = tf.train.Example.FromString(serialized).features.feature
            boxes = np.stack([feature[k].float_list.value for k in names.BOX_COORDINATE_KEYS], 1)
            boxes, classes, scores = _planted(boxes, np.array(feature[names.BOX_CLASS_KEY].int64_list.value),
                                              np.array(feature["planted_score"].float_list.value), self.baseline)
            pad = K - len(boxes)
            out_boxes.append(np.pad(boxes, [(0, pad), (0, 0)]))
            out_classes.append(np.pad(classes.astype(np.float32), [(0, pad)]))
            out_scores.append(np.pad(scores, [(0, pad)], constant_values=0.99))  # padding must be ignored
            counts.append(len(boxes))
        return (np.stack(out_boxes).astype(np.float32), np.stack(out_classes).astype(np.float32),
                np.stack(out_scores).astype(np.float32), np.array(counts, np.int32))


def _save(path, baseline):
    module = _Detector(baseline)

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="examples")])
    def evaluation(examples):
        boxes, classes, scores, count = module.evaluation(examples)
        return {names.DETECTION_BOXES_KEY: tf.reshape(boxes, [-1, K, 4]),
                names.DETECTION_CLASSES_KEY: tf.reshape(classes, [-1, K]),
                names.DETECTION_SCORES_KEY: tf.reshape(scores, [-1, K]),
                names.NUM_DETECTIONS_KEY: tf.reshape(count, [-1])}

    tf.saved_model.save(module, path, signatures={names.EVALUATION_SIGNATURE: evaluation})


def test_matched_ious_pair_each_true_box_once_highest_score_first():
    truth = np.array([[0, 0, 1, 1, 0], [2, 2, 3, 3, 1]], float)
    found = np.array([[0, 0, 1, 0.5, 0, 0.9], [0, 0, 1, 1, 0, 0.8], [2, 2, 3, 3, 0, 0.7], [2, 2, 3, 3, 1, 0.1]], float)
    assert matched_ious(truth, found, 0.5, 0.3) == [0.5]  # the 0.8 box's truth is taken; wrong class; low score
    assert matched_ious(truth, found, 0.5, 0.0) == [0.5, 1.0]


def test_interpolated_ap_follows_coco_on_a_hand_worked_ranking():
    # Ranked hits T F T with 3 true boxes: recall 1/3 at precision 1, 2/3 at 2/3, never 1.
    ap = interpolated_ap(np.array([0.9, 0.8, 0.7]), np.array([True, False, True]), 3)
    points = np.linspace(0, 1, 101)
    assert ap == pytest.approx(np.mean(np.where(points <= 1 / 3, 1.0, np.where(points <= 2 / 3, 2 / 3, 0.0))))
    assert np.isnan(interpolated_ap(np.zeros(0), np.zeros(0, bool), 0))


@pytest.fixture(scope="module")
def evaluated(tmp_path_factory):
    root = tmp_path_factory.mktemp("box_metrics")
    rows = _examples()
    _write(str(root / "eval.tfrecord"), rows)
    for name, baseline in (("candidate", False), ("baseline", True)):
        _save(str(root / name), baseline)
    config = detection_eval_config(PipelineConfig(trainer=TrainerConfig(task="detection", class_names=CLASSES,
                                                                         tflite="none")))
    del config.model_specs[:]
    config.model_specs.add(name="candidate", signature_name=names.EVALUATION_SIGNATURE, model_type="tf_generic")
    config.model_specs.add(name="baseline", signature_name=names.EVALUATION_SIGNATURE, model_type="tf_generic",
                           is_baseline=True)
    config = tfma.utils.update_eval_config_with_defaults(config, has_baseline=True)
    models = [tfma.default_eval_shared_model(str(root / name), model_name=name, eval_config=config)
              for name in ("candidate", "baseline")]
    out = str(root / "evaluation")
    tfma.run_model_analysis(eval_shared_model=models, eval_config=config, data_location=str(root / "eval.tfrecord"),
                            output_path=out)
    metrics = {}
    for per_slice in tfma.load_metrics(out):
        if not per_slice.slice_key.single_slice_keys:
            for entry in per_slice.metric_keys_and_values:
                if entry.value.HasField("double_value"):
                    suffix = " (diff)" if entry.key.is_diff else ""
                    metrics[f"{entry.key.model_name}:{entry.key.name}{suffix}"] = entry.value.double_value.value
    return rows, metrics, tfma.load_validation_result(out)


def _reference(rows, baseline):
    truth = [{"boxes": b, "class_ids": c} for b, c, _ in rows]
    found = []
    for boxes, classes, scores in rows:
        b, c, s = _planted(boxes, classes, scores, baseline)
        found.append({"boxes": b, "class_ids": c, "scores": s})
    return truth, found


@pytest.mark.pipeline
def test_coco_map_equals_an_independent_computation_for_candidate_and_baseline(evaluated):
    rows, metrics, _ = evaluated
    for model, baseline in (("candidate", False), ("baseline", True)):
        truth, found = _reference(rows, baseline)
        expected = mean_average_precision(truth, found, 3)
        assert metrics[f"{model}:{names.MAP_50}"] == pytest.approx(expected, abs=1e-9)
        for i, name in enumerate(CLASSES):
            assert metrics[f"{model}:ap_50/{name}"] == pytest.approx(average_precision(truth, found, i), abs=1e-9)
        # TFMA's own COCO mAP (scores bucketed into 100 thresholds, so only close) runs with a baseline too.
        assert metrics[f"{model}:tfma_map_50"] == pytest.approx(expected, abs=0.05)
    assert metrics["candidate:map_50 (diff)"] == pytest.approx(
        metrics["candidate:map_50"] - metrics["baseline:map_50"], abs=1e-6)
    # The matched boxes are exact, so every IoU threshold up to 0.95 gives the AP of 0.5.
    assert metrics["candidate:map_50_95"] == pytest.approx(metrics["candidate:map_50"], abs=1e-6)
    assert 0.0 < metrics["candidate:mar_50_95"] <= 1.0


@pytest.mark.pipeline
def test_matched_box_iou_is_one_for_exact_boxes_and_the_blessing_checks_map(evaluated):
    _, metrics, validation = evaluated
    assert metrics["baseline:matched_box_iou"] == pytest.approx(1.0)
    assert metrics["candidate:matched_box_iou"] == pytest.approx(1.0)  # the shifted box (IoU 0.25) is no match
    assert validation.validation_ok == (metrics["candidate:map_50"] >= 0.5)
