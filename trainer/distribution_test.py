"""Training under MirroredStrategy over two logical CPU devices (in a fresh process: devices are fixed at start)."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from trainer.distribution import make_strategy

SCRIPT = r"""
import json, os
os.environ["TF_USE_LEGACY_KERAS"] = "1"
import numpy as np
import tensorflow as tf
cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
from trainer.distribution import make_strategy
from trainer.config import TrainerConfig
from trainer.tasks.registry import get_task
strategy = make_strategy("mirrored")
config = TrainerConfig(image_size=16, class_names=["a", "b", "c"], batch_size=8)
task = get_task("classification")
with strategy.scope():
    model, _ = task.build_model(config)
    task.compile(model, 1e-3, config)
rng = np.random.default_rng(0)
x = rng.uniform(0, 255, (32, 16, 16, 3)).astype("float32")
y = rng.integers(0, 3, 32)
history = model.fit(x, y, batch_size=8, epochs=2, verbose=0)
print(json.dumps({"replicas": strategy.num_replicas_in_sync, "devices": list(strategy.extended.worker_devices),
                  "loss": history.history["loss"], "variables_mirrored": type(model.weights[0]).__name__}))
"""


@pytest.mark.trains
def test_mirrored_strategy_trains_over_two_logical_cpus():
    root = Path(__file__).resolve().parents[1]
    proc = subprocess.run([sys.executable, "-c", SCRIPT], cwd=root, capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(root)}, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result["replicas"] == 2 and len(result["devices"]) == 2
    assert "Mirrored" in result["variables_mirrored"]
    assert all(loss == loss and loss < 10 for loss in result["loss"])


def test_unknown_strategy_is_a_clear_error():
    with pytest.raises(ValueError, match="not one of"):
        make_strategy("tpu-please")
