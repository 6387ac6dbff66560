"""kill -9 in the middle of a run, then run again: the rerun resumes from the cache and pushes exactly once."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from components.atomic_pusher.executor import PAUSE_ENV, PUSHED_FROM, STAGING_PREFIX
from ingest import embedded

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[1]


def _command(data, output, *extra):
    return [sys.executable, str(ROOT / "local_runner.py"), "--data", str(data), "--output-dir", str(output),
            "--image-size", "16", "--train-steps", "120", "--validation-batches", "2", "--no-flip",
            "--min-accuracy", "0", "--max-accuracy-drop", "1", *extra]


def _temp_env(command):
    """The runs' temp folder: a sibling of the output, inside the test's own folder (not the system's)."""
    scratch = Path(command[command.index("--output-dir") + 1]).parent / "tmp"
    scratch.mkdir(exist_ok=True)
    return {**os.environ, "TMPDIR": str(scratch)}


def _kill_when(command, marker, delay, env=None):
    """Starts the runner, waits for ``marker`` in its progress output, waits ``delay`` s, then SIGKILLs it."""
    proc = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                            start_new_session=True, env={**_temp_env(command), **(env or {})})
    seen = []
    for line in proc.stdout:
        seen.append(line)
        if marker in line:
            time.sleep(delay)
            os.killpg(proc.pid, signal.SIGKILL)
            break
    proc.wait(timeout=60)
    assert proc.returncode == -signal.SIGKILL, "".join(seen[-20:])
    return seen


def _finish(command):
    env = _temp_env(command)
    proc = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=900, env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    # The killed run could not remove its scratch folder; this run did, and its own.
    assert not os.listdir(env["TMPDIR"])
    return proc


def _states(output):
    summary = json.loads((Path(output) / "reports" / "latest" / "run_summary.json").read_text())
    return {c["node_id"]: c["state"] for c in summary["components"]}, summary


def test_killed_trainer_and_killed_push_resume_and_publish_each_model_once(tmp_path):
    data = embedded.write_digits_pngs(tmp_path / "digits", limit_per_class=12)
    output = tmp_path / "outputs"
    serving = output / "serving_model" / "image-classification"

    _kill_when(_command(data, output), "Trainer ...", delay=4)
    assert not serving.exists() or not [v for v in os.listdir(serving) if v.isdigit()]
    _finish(_command(data, output))
    states, summary = _states(output)
    assert all(states[n] == "CACHED" for n in ("ImportExampleGen", "ImageValidator", "StatisticsGen", "Transform"))
    assert states["Trainer"] == "COMPLETE" and summary["pushed_model"]
    first_versions = sorted(v for v in os.listdir(serving) if v.isdigit())
    assert len(first_versions) == 1

    # A new model (other learning rate); the push is killed between its staged copy and the rename.
    retrain = _command(data, output, "--learning-rate", "0.001")
    _kill_when(retrain, "Pusher ...", delay=6, env={PAUSE_ENV: "60"})
    assert sorted(v for v in os.listdir(serving) if v.isdigit()) == first_versions  # nothing half-published
    assert [v for v in os.listdir(serving) if v.startswith(STAGING_PREFIX)]
    _finish(retrain)
    states, summary = _states(output)
    assert states["Trainer"] == "CACHED" and states["Pusher"] == "COMPLETE"
    versions = sorted(v for v in os.listdir(serving) if v.isdigit())
    assert len(versions) == 2 and not [v for v in os.listdir(serving) if v.startswith(STAGING_PREFIX)]
    origins = [(serving / v / PUSHED_FROM).read_text().strip() for v in versions]
    assert len(set(origins)) == 2 and all((serving / v / "saved_model.pb").is_file() for v in versions)

    _finish(retrain)  # unchanged: fully cached, nothing pushed again
    states, _ = _states(output)
    assert all(state == "CACHED" for node, state in states.items() if node != "latest_blessed_model_resolver")
    assert sorted(v for v in os.listdir(serving) if v.isdigit()) == versions
