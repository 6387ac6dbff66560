"""Names and small helpers every other package shares; it imports nothing of the project.

Importing any project package imports this one first (each package's
``__init__`` does), which pins Keras 2 (``tf_keras``): TFX 1.16's Transform,
Trainer and TFMA exchange Keras-2 SavedModels, and TF 2.16's default Keras 3
cannot write them.  Setting the variable here covers every process that runs
project code, Beam workers and Kubeflow containers included.
"""

import os

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")

import warnings  # noqa: E402

# Google's client libraries (pulled in by TFX/TFMA/TFDV) warn on every import that Python 3.10 is
# unsupported and ask for 3.11, which TFX 1.16 cannot use: noise a user can do nothing about.
warnings.filterwarnings("ignore", category=FutureWarning, module=r"google(\.|$)")
