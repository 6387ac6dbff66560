"""Every name the stages of the pipeline must agree on, defined once.

Ingest writes examples with these feature keys, the ImageValidator and TFDV
check them, Transform and the Trainer read them, the serving signatures
rebuild them from raw bytes, TFMA and the IoU metric read the signature
outputs, and the report shows them.  A renamed key or a second ignore value
in one of those places would be a silent wrong answer, so they all import
this module and nothing here imports anything.

Feature keys named ``DEFAULT_*`` are defaults: a user's TFRecords may name
their features otherwise (``--image-key``, ``--label-key``), and the
configured key then travels with the configuration.
"""

# --- raw example features (written by ingest/, read by every later stage) -----
DEFAULT_IMAGE_KEY = "image"
DEFAULT_LABEL_KEY = "label"
DEFAULT_MASK_KEY = "mask"
LABEL_NAME_KEY = "label_name"
#: Detection: one float list per box coordinate, normalised to [0, 1] of the image (xmin, ymin, xmax, ymax),
#: and the class id of each box; an image without objects has empty lists.
BOX_XMIN_KEY = "box_xmin"
BOX_YMIN_KEY = "box_ymin"
BOX_XMAX_KEY = "box_xmax"
BOX_YMAX_KEY = "box_ymax"
BOX_CLASS_KEY = "box_class"
BOX_COORDINATE_KEYS = (BOX_XMIN_KEY, BOX_YMIN_KEY, BOX_XMAX_KEY, BOX_YMAX_KEY)
FILENAME_KEY = "filename"
CLASS_NAMES_KEY = "class_names"

# --- features the ImageValidator adds to quarantined examples ---------------------
QUARANTINE_REASON_KEY = "quarantine_reason"
QUARANTINE_DETAIL_KEY = "quarantine_detail"

# --- transformed features (Transform output, Trainer input) ----------------------
#: Resized image as raw uint8 pixels (H*W*3 bytes, a serialized tensor).
TRANSFORMED_IMAGE_KEY = "image_pixels"
#: Class id (classification), passed through unchanged.
TRANSFORMED_LABEL_KEY = "label"
#: Segmentation mask resized nearest-neighbour, raw uint8 class ids (H*W bytes).
TRANSFORMED_MASK_KEY = "mask_pixels"
#: Detection boxes in the model's input frame (after the resize policy), one serialized float32
#: ``[n, 5]`` tensor per example: xmin, ymin, xmax, ymax (normalised), class id.
TRANSFORMED_BOXES_KEY = "boxes"
#: Boxes per image the detector trains on (the rest of a crowded image is dropped, with a warning at prep).
MAX_BOXES = 64

# --- segmentation labels ----------------------------------------------------------
#: Mask value meaning "no class here": excluded from the loss, the IoU and pixel counts.
#: Also the fill value of padded mask borders (augmentation, batched serving masks).
IGNORE_LABEL = 255

# --- splits -----------------------------------------------------------------------
TRAIN_SPLIT = "train"
EVAL_SPLIT = "eval"
#: The one split of a --predict run: new, unlabelled images.
PREDICT_SPLIT = "predict"

# --- model and signatures -----------------------------------------------------------
#: Name of the Keras model's image input and of its softmax output layer.
MODEL_INPUT_NAME = "image"
PROBABILITIES_KEY = "probabilities"
#: ``serving_default``: a batch of encoded image bytes in.
RAW_BYTES_SIGNATURE = "serving_default"
#: Serialized tf.Examples in (TF Serving, TFMA for classification).
EXAMPLES_SIGNATURE = "serving_examples"
#: Segmentation: examples with masks in, predicted and true class ids out (TFMA's IoU).
EVALUATION_SIGNATURE = "evaluation"
#: Classification: ``image_bytes`` in; ``embedding`` (the pooled backbone features) and ``probabilities`` out.
#: Read by the LabelInspector (out-of-sample probabilities for confident learning) and by users for search.
EMBEDDINGS_SIGNATURE = "serving_embeddings"
#: ``examples`` in; the numeric outputs of ``serving_examples`` out (TFX's BulkInferrer cannot log string
#: outputs such as ``class_name``); used by ``--predict``.
BULK_INFERENCE_SIGNATURE = "bulk_inference"
#: float32 pixels ``[N, S, S, 3]`` in [0, 255] at model resolution in, the model's output out: the model
#: without decoding; the float TFLite file is converted from it.
PIXELS_SIGNATURE = "serving_pixels"
EMBEDDING_KEY = "embedding"
#: Outputs of the evaluation signature, read by components/iou_metric.py.
PREDICTED_MASK_KEY = "predicted_mask"
#: Segmentation serving output: the class mask at each input's own size (``height``/``width`` say how much
#: of a padded batch row is real).
SERVED_MASK_KEY = "mask"
#: Detection outputs (serving: boxes in the input image's pixels; evaluation: normalised to the image), padded to
#: the detector's maximum; ``num_detections`` says how many rows are real.
DETECTION_BOXES_KEY = "boxes"
DETECTION_SCORES_KEY = "scores"
DETECTION_CLASSES_KEY = "class_ids"
DETECTION_CLASS_NAMES_KEY = "class_names"
NUM_DETECTIONS_KEY = "num_detections"
#: The detection blessing metric: COCO mean average precision at IoU 0.5.
MAP_50 = "map_50"
#: TFMA model names of the TFLite files in the TfliteEvaluator's evaluation (components/tflite_evaluator/).
TFLITE_FLOAT_MODEL = "tflite"
TFLITE_INT8_MODEL = "tflite_int8"
LABEL_MASK_KEY = "label_mask"

# --- files ---------------------------------------------------------------------------
#: Label vocabulary next to prepared TFRecords: one class name per line, line number = class id.
LABELS_FILENAME = "labels.txt"
#: The data preparation's record of a prepared folder (counts, classes, and the files it left out with why).
MANIFEST_FILENAME = "manifest.json"
#: Prepared TFRecord shards are GZIP-compressed; ImportExampleGen detects this from the suffix.
TFRECORD_SUFFIX = ".tfrecord.gz"
#: The manifest key, and its value, saying that prepared records are in a seeded shuffled order: then
#: ImportExampleGen copies the shards as they are instead of shuffling every record in memory.
RECORD_ORDER_KEY = "record_order"
SHUFFLED_RECORD_ORDER = "seeded-shuffle"
#: Written by the Trainer into its model_run artifact: train / validation example counts, steps, seed.
TRAINING_SPLITS_FILENAME = "training_splits.json"
#: Written by a --predict run into its report folder.
PREDICTIONS_CSV = "predictions.csv"
#: Written by the Trainer into its model_run artifact: images per second of each training phase.
TRAINING_SPEED_FILENAME = "training_speed.json"
#: Written by the Trainer into its model_run artifact: the augmentation in force and the flip decision.
AUGMENTATION_FILENAME = "augmentation.json"
#: Written by the Trainer into its model_run artifact: a few training images as the model saw them, augmented
#: (PNG files ``0.png``, ``1.png``, ...), for the report.
AUGMENTED_SAMPLES_DIRNAME = "augmented_samples"
#: Written by the Trainer into its model_run artifact (pretrained classifiers): the linear probe's validation
#: accuracy, the trained model's, and which of the two the exported model is.
LINEAR_PROBE_FILENAME = "linear_probe.json"
#: Written by the Trainer into its model_run artifact: the hyperparameters the Tuner chose (if it ran).
HYPERPARAMETERS_FILENAME = "hyperparameters.json"
#: The TFX Tuner's outputs (written by TFX's executor): the best values and every trial's score.
BEST_HYPERPARAMETERS_FILENAME = "best_hyperparameters.txt"
TUNER_RESULTS_FILENAME = "tuner_results.json"
TUNER = "Tuner"
#: Node id of the Importer of ``--hyperparameters FILE``.
HYPERPARAMETERS_IMPORTER = "hyperparameters_importer"
#: The Tuner's custom_config key holding the search settings (trials, steps), beside the TrainerConfig's fields.
TUNING_CONFIG_KEY = "tuning"

# --- pipeline node ids (read back from ML Metadata by reporting/) ------------------
LABEL_INSPECTOR = "LabelInspector"
TFLITE_EVALUATOR = "TfliteEvaluator"
MODEL_CARD_GEN = "ModelCardGen"
FACETS_PAGES = "FacetsPages"
BULK_INFERRER = "BulkInferrer"
MODEL_IMPORTER = "model_importer"
IMAGE_VALIDATOR = "ImageValidator"
STATISTICS_GEN = "StatisticsGen"
SCHEMA_GEN = "SchemaGen"
IMPORT_SCHEMA_GEN = "ImportSchemaGen"
EXAMPLE_VALIDATOR = "ExampleValidator"
IMPORT_EXAMPLE_GEN = "ImportExampleGen"
TRANSFORM = "Transform"
TRAINER = "Trainer"
EVALUATOR = "Evaluator"
PUSHER = "Pusher"
BASELINE_RESOLVER = "latest_blessed_model_resolver"
