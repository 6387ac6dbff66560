"""Like for like against TFX's own CIFAR-10 image pipeline (``../shared/anchors/tfx-cifar10``).

Same work on both sides: the same 256 CIFAR-10 PNGs, MobileNet v1 at 224 px
from random weights, 160 training steps of batch 32 in the anchor's schedule
(120 with the backbone frozen, then 40 with its top 10% trained), a TFLite
model beside the SavedModel.  Ours runs without augmentation, which lets its
frozen phase compute the backbone features once (the anchor augments with
flips and crops; eval accuracy is compared to show that costs nothing).

The two alternate, A B A B, in one benchmark run (machines here differ 3× in
speed), each in a fresh folder; every figure is quoted as ours / anchor.
Memory is sampled from the process tree (Beam's multi-processing workers
included): the largest single process and the whole tree.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Dict, List, Optional, Tuple

ROOT = Path(__file__).resolve().parent.parent
ANCHOR = ROOT.parent / "shared" / "anchors" / "tfx-cifar10"
CIFAR = ROOT.parent / "shared" / "datasets" / "cifar10-tfx-subset"
ANCHOR_PIPELINE = "cifar10_native_keras"
OUR_ARGS = ["--data", str(CIFAR), "--backbone", "mobilenet", "--image-size", "224", "--batch-size", "32",
            "--train-steps", "160", "--head-steps-fraction", "0.75", "--fine-tune-fraction", "0.1",
            "--no-augmentation", "--min-accuracy", "0", "--seed", "0"]
#: Components both pipelines run (ours adds ImageValidator, LabelInspector, reports, ...).
SHARED_COMPONENTS = ("ImportExampleGen", "StatisticsGen", "SchemaGen", "ExampleValidator", "Transform", "Trainer",
                     "Evaluator", "Pusher")


def missing() -> Optional[str]:
    """Why the comparison cannot run here (None when it can)."""
    for path in (ANCHOR / "run.sh", CIFAR):
        if not path.exists():
            return f"{path} not present (the anchor and its data live in ../shared)"
    return None


class TreeMemory(threading.Thread):
    """Samples the RSS of a process and all its descendants every ``interval`` seconds."""

    def __init__(self, pid: int, interval: float = 0.2):
        super().__init__(daemon=True)
        self.pid, self.interval = pid, interval
        self.peak_tree = self.peak_process = 0
        #: (unix time, RSS of the tree): which component held the memory (see peak_rss_by_component).
        self.timeline: List[Tuple[float, int]] = []
        self._halt = threading.Event()

    def run(self) -> None:
        import psutil

        try:
            root = psutil.Process(self.pid)
        except psutil.NoSuchProcess:
            return
        while not self._halt.is_set():
            try:
                processes = [root, *root.children(recursive=True)]
            except psutil.NoSuchProcess:
                return
            sizes = []
            for process in processes:
                try:
                    sizes.append(process.memory_info().rss)
                except psutil.Error:
                    pass
            if sizes:
                self.timeline.append((time.time(), sum(sizes)))
                self.peak_tree = max(self.peak_tree, sum(sizes))
                self.peak_process = max(self.peak_process, max(sizes))
            self._halt.wait(self.interval)

    def stop(self) -> None:
        self._halt.set()
        self.join()


def run_measured(command: List[str], cwd: Path, env: Dict[str, str]) -> dict:
    """Wall seconds, peak RSS (MB) of the largest process and of the tree, exit code, output tail."""
    started = time.monotonic()
    with tempfile.TemporaryFile("w+") as output:
        process = subprocess.Popen(command, cwd=cwd, env=env, stdout=output, stderr=subprocess.STDOUT, text=True)
        memory = TreeMemory(process.pid)
        memory.start()
        code = process.wait()
        seconds = time.monotonic() - started
        memory.stop()
        output.seek(0)
        tail = output.read()[-3000:]
    if code not in (0, 3):
        raise RuntimeError(f"{' '.join(command[:3])} ... failed ({code}):\n{tail}")
    return {"wall_seconds": round(seconds, 1), "peak_rss_mb_largest_process": round(memory.peak_process / 2 ** 20),
            "peak_rss_mb_process_tree": round(memory.peak_tree / 2 ** 20), "exit_code": code, "output_tail": tail,
            "rss_timeline": memory.timeline}


def peak_rss_by_component(metadata_path: str, pipeline_name: str, timeline: List[Tuple[float, int]]
                          ) -> Dict[str, int]:
    """Peak RSS (MB) of the process tree while each component of the newest run executed (ML Metadata's
    start and end times against the sampled timeline): which component a memory figure belongs to."""
    sys.path.insert(0, str(ROOT))
    from reporting import mlmd

    _, nodes = mlmd.run_nodes(metadata_path, pipeline_name)
    peaks = {}
    for name, node in nodes.items():
        start = node.execution.create_time_since_epoch / 1000
        end = node.execution.last_update_time_since_epoch / 1000
        inside = [rss for when, rss in timeline if start <= when <= end]
        if inside:
            peaks[name] = round(max(inside) / 2 ** 20)
    if nodes:  # what the runner does around the pipeline: data preparation before, the reports after
        first = min(node.execution.create_time_since_epoch for node in nodes.values()) / 1000
        last = max(node.execution.last_update_time_since_epoch for node in nodes.values()) / 1000
        for name, inside in (("(before the pipeline: data preparation)", [r for t, r in timeline if t < first]),
                             ("(after the pipeline: reports)", [r for t, r in timeline if t > last])):
            if inside:
                peaks[name] = round(max(inside) / 2 ** 20)
    return peaks


def component_seconds(metadata_path: str, pipeline_name: str) -> Dict[str, float]:
    """Each component's execution time in the newest run, from ML Metadata (the same clock for both)."""
    sys.path.insert(0, str(ROOT))
    from reporting import mlmd

    _, nodes = mlmd.run_nodes(metadata_path, pipeline_name)
    return {name: round((node.execution.last_update_time_since_epoch - node.execution.create_time_since_epoch)
                        / 1000, 1) for name, node in nodes.items()}


def eval_accuracy(metadata_path: str, pipeline_name: str) -> Optional[float]:
    """Overall sparse_categorical_accuracy of the run's Evaluator (the anchor's scores its TFLite model)."""
    import tensorflow_model_analysis as tfma

    from reporting import mlmd

    _, nodes = mlmd.run_nodes(metadata_path, pipeline_name)
    result = tfma.load_eval_result(nodes["Evaluator"].uri("evaluation"))
    for slice_key, metrics in result.slicing_metrics:
        if slice_key == ():
            for values in metrics.get("", {}).values():
                value = values.get("sparse_categorical_accuracy", {})
                if "doubleValue" in value:
                    return round(float(value["doubleValue"]), 4)
    return None


def run_anchor(work: Path) -> dict:
    env = {**os.environ, "TF_USE_LEGACY_KERAS": "1"}
    result = run_measured(["bash", str(ANCHOR / "run.sh"), sys.executable, str(work)], ROOT, env)
    metadata = str(work / "tfx" / "metadata" / ANCHOR_PIPELINE / "metadata.db")
    result["components"] = component_seconds(metadata, ANCHOR_PIPELINE)
    result["eval_accuracy"] = eval_accuracy(metadata, ANCHOR_PIPELINE)
    return result


def run_ours(work: Path) -> dict:
    import json

    out = work / "outputs"
    result = run_measured([sys.executable, str(ROOT / "local_runner.py"), "--output-dir", str(out), *OUR_ARGS],
                          ROOT, dict(os.environ))
    summary = json.loads((out / "reports" / "latest" / "run_summary.json").read_text())
    metadata = str(out / "metadata.sqlite")
    result["components"] = component_seconds(metadata, summary["pipeline_name"])
    result["eval_accuracy"] = summary["metrics"].get("sparse_categorical_accuracy")
    result["training_steps"] = summary.get("training_steps")
    return result


def _ratio(ours: Optional[float], anchor: Optional[float]) -> Optional[float]:
    return round(ours / anchor, 3) if ours is not None and anchor else None


def compare(pairs: int = 2) -> dict:
    """``pairs`` alternating runs (anchor first); per-pair ratios and their medians."""
    runs = []
    for pair in range(pairs):
        for side, runner in (("anchor", run_anchor), ("ours", run_ours)):
            with tempfile.TemporaryDirectory(prefix=f"bench-anchor-{side}-") as tmp:
                print(f"pair {pair + 1}/{pairs}: {side} ...", flush=True)
                result = runner(Path(tmp))
                result.pop("output_tail"), result.pop("rss_timeline")
                runs.append({"pair": pair + 1, "side": side, **result})
                print(f"  {side}: {result['wall_seconds']} s, {result['peak_rss_mb_process_tree']} MB tree, "
                      f"accuracy {result['eval_accuracy']}", flush=True)
    ratios = []
    for pair in range(1, pairs + 1):
        anchor = next(r for r in runs if r["pair"] == pair and r["side"] == "anchor")
        ours = next(r for r in runs if r["pair"] == pair and r["side"] == "ours")
        row = {key: _ratio(ours[key], anchor[key]) for key in
               ("wall_seconds", "peak_rss_mb_largest_process", "peak_rss_mb_process_tree")}
        row["components"] = {name: _ratio(ours["components"].get(name), anchor["components"].get(name))
                             for name in SHARED_COMPONENTS}
        row["eval_accuracy"] = {"ours": ours["eval_accuracy"], "anchor": anchor["eval_accuracy"]}
        ratios.append(row)

    def median(key):
        return round(statistics.median(r[key] for r in ratios), 3)

    worst_memory = max(max(r["peak_rss_mb_largest_process"], r["peak_rss_mb_process_tree"]) for r in ratios)
    return {
        "case": "anchor", "work": "cifar10-tfx-subset (128 + 128 PNGs), MobileNet v1 at 224, random init, "
                                  "160 steps (120 frozen + 40 top 10%), batch 32",
        "our_args": OUR_ARGS, "runs": runs, "ratios_ours_over_anchor": ratios,
        "median_ratio": {key: median(key) for key in
                         ("wall_seconds", "peak_rss_mb_largest_process", "peak_rss_mb_process_tree")},
        "targets_met": {
            "wall_at_most_0.6x": max(r["wall_seconds"] for r in ratios) <= 0.6,
            "peak_rss_at_most_1.0x": worst_memory <= 1.0,
            "eval_accuracy_at_least_the_anchors": all(
                (r["eval_accuracy"]["ours"] or 0) >= (r["eval_accuracy"]["anchor"] or 0) for r in ratios),
        },
    }
