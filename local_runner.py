"""Run the pipeline on this machine: LocalDagRunner, Beam DirectRunner, ML Metadata in SQLite.

    python local_runner.py                 # embedded digits, outputs under ./outputs
    python local_runner.py --data DIR      # your images / CSV manifest / TFRecords
    python local_runner.py --help          # every option

Prints progress per component and, at the end, each component's wall time
(and whether it came from the cache), the evaluation metrics, whether the
model was blessed, and where the pushed model and the reports are.
"""

from __future__ import annotations

import logging
import os
import sys
import warnings

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
# 3: TensorFlow's C++ start-up lines ("Unable to register cuFFT/cuDNN/cuBLAS factory", logged as errors
# on every CPU-only import) stay off the console; real failures still arrive as Python exceptions.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "0" if "--verbose" in sys.argv else "3")
# Google client libraries warn about Python 3.10 on every import; TFX 1.16 needs 3.10.
warnings.filterwarnings("ignore", category=FutureWarning)

from runners.local import main  # noqa: E402

if __name__ == "__main__":
    code = main(sys.argv[1:])
    # Everything is written and closed by now; TensorFlow's and Beam's leftover threads and exit hooks
    # otherwise kept the process alive ~9 s after the summary.
    sys.stdout.flush()
    sys.stderr.flush()
    logging.shutdown()
    os._exit(code)
