"""Copies of a failing component's findings that survive the failure.

TFX's launcher deletes every output folder of an executor that raises
(``outputs_utils.remove_output_dirs``), so a report written into the output
artifact before raising is gone when the user reads the error that names it.
A component that stops the run on purpose first copies what explains the stop
here: ``<pipeline root>/<node>/failed/<execution id>/``, next to its outputs.
"""

from __future__ import annotations

import os
from typing import Iterable

import tensorflow as tf


def keep_after_failure(paths: Iterable[str], artifact_uri: str) -> str:
    """Copies ``paths`` (files) out of ``artifact_uri``'s reach; returns the folder they are in."""
    node_dir = os.path.dirname(os.path.dirname(artifact_uri.rstrip("/")))
    folder = os.path.join(node_dir, "failed", os.path.basename(artifact_uri.rstrip("/")))
    tf.io.gfile.makedirs(folder)
    for path in paths:
        tf.io.gfile.copy(path, os.path.join(folder, os.path.basename(path)), overwrite=True)
    return folder
