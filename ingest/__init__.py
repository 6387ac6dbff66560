"""Turning users' data into the TFRecords ImportExampleGen reads; runs before TFX.

Each module does one job and the preparation steps are usable alone as CLIs
(``python -m ingest.data_prep``, ``python -m ingest.segmentation_prep``).
Nothing here imports the pipeline, the trainer or the components.
"""

import common  # noqa: F401  (sets TF_USE_LEGACY_KERAS before TensorFlow loads)
