"""Custom TFX components (spec / executor / component, one folder each) and TFMA/resolver plug-ins."""

import common  # noqa: F401  (sets TF_USE_LEGACY_KERAS before TensorFlow loads)
