"""The pipeline: its configuration, the TFX DAG and the evaluation config, shared by both runners."""

import common  # noqa: F401  (sets TF_USE_LEGACY_KERAS before TensorFlow loads)
