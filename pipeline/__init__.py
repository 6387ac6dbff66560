"""Pipeline definition, configuration and data preparation, shared by both runners."""

import os

# Keras 2 everywhere (see trainer/keras_lib.py); set before TensorFlow is imported.
os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
