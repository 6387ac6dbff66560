"""Training code that runs inside TFX's Transform and Trainer (and on Beam workers).

Importing the package imports :mod:`common` first, which pins Keras 2
(``tf_keras``) for every process that runs the training code.
"""

import common  # noqa: F401  (sets TF_USE_LEGACY_KERAS before TensorFlow loads)
