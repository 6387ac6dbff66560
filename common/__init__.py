"""Names and small helpers every other package shares; it imports nothing of the project.

Importing any project package imports this one first (each package's
``__init__`` does), which pins Keras 2 (``tf_keras``): TFX 1.16's Transform,
Trainer and TFMA exchange Keras-2 SavedModels, and TF 2.16's default Keras 3
cannot write them.  Setting the variable here covers every process that runs
project code, Beam workers and Kubeflow containers included.

It also keeps the console quiet for every entry point, the ``python -m`` CLIs
(``ingest.data_prep``, ``reporting.schema_tool``, ...) as much as the two
runners: TensorFlow's C++ start-up lines ("Unable to register cuFFT factory",
"TF-TRT Warning: Could not find TensorRT", the CPU-instruction note) are
printed on every CPU-only import, and a user can do nothing about them.  Real
failures still arrive as Python exceptions; ``--verbose`` (or setting
``TF_CPP_MIN_LOG_LEVEL`` yourself) brings the lines back.
"""

import os
import sys

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "0" if "--verbose" in sys.argv else "3")

import warnings  # noqa: E402

# Google's client libraries (pulled in by TFX/TFMA/TFDV) warn on every import that Python 3.10 is
# unsupported and ask for 3.11, which TFX 1.16 cannot use: noise a user can do nothing about.
warnings.filterwarnings("ignore", category=FutureWarning, module=r"google(\.|$)")
