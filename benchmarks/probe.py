"""``make benchmark ARGS=probe``: a pretrained backbone's default run against a linear probe on its features.

On every photo set ``../shared`` gives (clothing3; the CIFAR subset written as photo folders), the default
run with SqueezeNet and the shared ImageNet weights is compared, on the eval split, with an independent
logistic regression on the same frozen features and the same split (``run_benchmarks.linear_probe``).  The
run summary's own figures (the probe and the trained model on the validation split, and which was kept)
are recorded beside them.
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path
from typing import Dict

from benchmarks.run_benchmarks import SHARED, SQUEEZENET_WEIGHTS, _run, linear_probe


def cifar_photo_folders(root: Path) -> Path:
    """The CIFAR subset's TFRecords as ``train/<class>/*.png`` and ``val/<class>/*.png`` (its test split)."""
    import tensorflow as tf

    source = SHARED / "cifar10-tfx-subset"
    classes = (source / "labels.txt").read_text().split()
    for split, folder in (("train", "train"), ("test", "val")):
        for path in sorted((source / split).iterdir()):
            for record in tf.data.TFRecordDataset(str(path)):
                feature = tf.train.Example.FromString(record.numpy()).features.feature
                name = classes[feature["label"].int64_list.value[0]]
                target = root / folder / name
                target.mkdir(parents=True, exist_ok=True)
                (target / f"{feature['id'].bytes_list.value[0].decode()}.png").write_bytes(
                    feature["image"].bytes_list.value[0])
    return root


def measure() -> Dict[str, dict]:
    results: Dict[str, dict] = {}
    with tempfile.TemporaryDirectory(prefix="bench-probe-") as tmp:
        sets = {"clothing3": SHARED / "clothing3", "cifar": cifar_photo_folders(Path(tmp) / "cifar")}
        for name, data in sets.items():
            classes = sorted(p.name for p in (data / "train").iterdir() if p.is_dir())
            independent = linear_probe(data, classes, eval_split="val")
            seconds, peak_mb, summary = _run(["--data", str(data), "--backbone", "squeezenet", "--weights",
                                              str(SQUEEZENET_WEIGHTS), "--min-accuracy", "0"],
                                             os.path.join(tmp, f"out-{name}"))
            accuracy = summary["metrics"].get("sparse_categorical_accuracy")
            results[name] = {
                "eval_accuracy": accuracy, "independent_probe_eval_accuracy": independent["sparse_categorical_accuracy"],
                "summary_linear_probe": summary.get("linear_probe", {}), "seconds": round(seconds, 1),
                "peak_rss_mb": round(peak_mb), "examples": summary.get("examples", {}),
                "targets_met": {"at_least_the_probe": (accuracy or 0) >= independent["sparse_categorical_accuracy"]},
            }
            print(f"  {name}: eval accuracy {accuracy:.4f}, independent probe {independent['sparse_categorical_accuracy']:.4f}, "
                  f"summary {summary.get('linear_probe')}", flush=True)
    results["date"] = time.strftime("%Y-%m-%d %H:%M:%S")
    return results
