"""Compile the pipeline for Kubeflow Pipelines 2.x / Vertex AI (KubeflowV2DagRunner).

    python kubeflow_runner.py --data gs://bucket/prepared --labels labels.txt \
        --pipeline-root gs://bucket/tfx --image REGISTRY/image-tfx:TAG

Writes a pipeline spec file (default ``outputs/kubeflow/<pipeline>.json``) to
upload to Kubeflow Pipelines or Vertex AI Pipelines.  Uses the same
configuration (pipeline/configs.py) and pipeline definition as local_runner.py.
"""

from __future__ import annotations

import os
import sys
import warnings

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
# 3: TensorFlow's C++ start-up lines ("Unable to register cuFFT/cuDNN/cuBLAS factory", logged as errors
# on every CPU-only import) stay off the console; real failures still arrive as Python exceptions.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "0" if "--verbose" in sys.argv else "3")
warnings.filterwarnings("ignore", category=FutureWarning)

from runners.kubeflow import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
