"""tf.distribute strategies by name, so the Trainer scales by configuration alone.

``none`` — the default strategy (one device); ``mirrored`` — synchronous data
parallelism over all local GPUs, or over the logical CPUs when there is no
GPU; ``multi_worker_mirrored`` — the same across machines, with the cluster
given by ``TF_CONFIG`` (as Kubeflow's training operators and Vertex AI set it).
"""

from __future__ import annotations

import tensorflow as tf

from trainer.config import DISTRIBUTIONS as STRATEGIES


def make_strategy(name: str) -> tf.distribute.Strategy:
    if name in ("", "none"):
        return tf.distribute.get_strategy()
    if name == "mirrored":
        devices = tf.config.list_logical_devices("GPU") or tf.config.list_logical_devices("CPU")
        return tf.distribute.MirroredStrategy(devices=[d.name for d in devices])
    if name == "multi_worker_mirrored":
        return tf.distribute.MultiWorkerMirroredStrategy()
    raise ValueError(f"distribution strategy {name!r} is not one of {STRATEGIES}")
