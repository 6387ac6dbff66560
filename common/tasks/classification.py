"""Classification: one class id per image; blessed on accuracy."""

from common import names
from common.tasks.contract import CLASS_ID, Blessing, TaskContract, TaskDefaults, label_target

CONTRACT = TaskContract(
    name="classification",
    summary="one class per image (accuracy)",
    target_kind=CLASS_ID,
    target_keys=label_target,
    defaults=TaskDefaults(image_size=32, batch_size=32, train_steps=500),
    blessing=Blessing(metric="sparse_categorical_accuracy", minimum_field="min_accuracy",
                      max_drop_field="max_accuracy_drop"),
    preparation="class_folders",
    data_help="class folders (DIR/<class>/<image>), split folders (DIR/train/<class>/..., DIR/val/<class>/...), "
              "a CSV manifest (path,label[,split]) or TFRecords",
    prediction_columns=("file", "class_name", "class_id", "confidence", "top_k", names.QUARANTINE_REASON_KEY),
    serving_outputs="class_id, class_name, probabilities out",
    per_class_metric="recall",
    embedded_dataset="digits",
    inspects_labels=True,
    decides_flips_from_data=True,
    # Mirrored digits are other glyphs.
    embedded_without_flips=True,
)
