"""What the two top-level runners do, importable so tests drive exactly what users run.

``local.py`` runs the pipeline with LocalDagRunner, ``kubeflow.py`` compiles it
for Kubeflow Pipelines; both take their flags from :mod:`pipeline.configs`.
"""

import common  # noqa: F401  (sets TF_USE_LEGACY_KERAS before TensorFlow loads)
