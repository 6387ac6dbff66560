"""After a run: everything read back from ML Metadata and shown to people.

``mlmd`` holds every ML Metadata look-up; ``run_summary``, ``tfdv_files``,
``drift``, ``html_report`` and ``schema_tool`` build on it.
"""

import common  # noqa: F401  (sets TF_USE_LEGACY_KERAS before TensorFlow loads)
