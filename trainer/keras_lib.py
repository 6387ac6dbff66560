"""The Keras the project uses: Keras 2 via ``tf_keras``, never Keras 3.

Why a module: ``tf.keras`` resolves to Keras 2 or 3 depending on an
environment variable read at first use; importing ``tf_keras`` directly makes
the choice explicit and identical in every process, and the check below turns
a silent Keras-3 fallback in TFX/TFMA into an immediate, explained failure.
"""

import os

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")

import tensorflow as tf  # noqa: E402
import tf_keras as keras  # noqa: E402

if os.environ.get("TF_USE_LEGACY_KERAS") not in ("1", "true", "True"):
    raise RuntimeError(
        "TF_USE_LEGACY_KERAS is set to something other than 1: TFX 1.16 needs Keras 2 "
        "SavedModels. Unset it or set TF_USE_LEGACY_KERAS=1."
    )

__all__ = ["keras", "tf"]
