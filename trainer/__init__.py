"""Training code that runs inside TFX's Transform and Trainer (and on Beam workers).

Importing the package pins Keras 2 (tf_keras): TFX 1.16's Transform, Trainer
and TFMA exchange Keras-2 SavedModels, and TF 2.16's default Keras 3 cannot
write them.  Setting the variable here covers every process that imports the
training code, including Beam workers that never ran a runner script.
"""

import os

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
