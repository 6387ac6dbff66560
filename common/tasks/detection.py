"""Object detection: boxes with a class each; blessed on COCO mAP at IoU 0.5."""

from common import names
from common.tasks.contract import BOXES, Blessing, FeatureKeys, TaskContract, TaskDefaults


def _box_features(keys: FeatureKeys):
    """Boxes have fixed feature names (normalised corners and a class id per box)."""
    return (*names.BOX_COORDINATE_KEYS, names.BOX_CLASS_KEY)


CONTRACT = TaskContract(
    name="detection",
    summary="boxes with a class each (COCO mAP@0.5)",
    target_kind=BOXES,
    target_keys=_box_features,
    defaults=TaskDefaults(image_size=128, batch_size=16, train_steps=1500, tflite="none"),
    blessing=Blessing(metric=names.MAP_50, minimum_field="min_map", max_drop_field="max_map_drop"),
    preparation="boxes",
    data_help="a Pascal VOC folder (images + XML annotations, optionally in split folders), a CSV of boxes "
              "(path,xmin,ymin,xmax,ymax,class) or TFRecords",
    prediction_columns=("file", "detections", "boxes", names.QUARANTINE_REASON_KEY),
    serving_outputs="boxes (xmin, ymin, xmax, ymax in the input's pixels), scores, class_ids, class_names and "
                    "num_detections out, after non-maximum suppression",
    per_class_metric="ap_50",
    embedded_dataset="scenes",
    resize_policies=("squash", "letterbox"),
    resize_reason="a crop would cut objects off; detection sees the whole image",
    image_size_multiple=4,
    tflite_modes=("none",),
    tflite_reason="TFLite export of detectors is not done yet (the pushed SavedModel serves detections)",
)
