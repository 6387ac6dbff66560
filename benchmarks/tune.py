"""``make benchmark ARGS=tune``: ``--tune`` against the untuned default, in one run, on data nobody tuned for.

Each set runs the default and the same with ``--tune`` (default budget), fresh each time, and records the
eval metric, the blessing, the Tuner's and the whole run's time, and the trials: the CIFAR-10 subset from
``../shared`` (skipped when absent) and the embedded digits.
"""

from __future__ import annotations

import os
import tempfile
import time
from typing import Dict

from benchmarks.run_benchmarks import SHARED, _run

SETS = {"cifar": ["--data", str(SHARED / "cifar10-tfx-subset"), "--min-accuracy", "0"], "digits": []}


def measure() -> Dict[str, dict]:
    results: Dict[str, dict] = {}
    with tempfile.TemporaryDirectory(prefix="bench-tune-") as tmp:
        for name, args in SETS.items():
            if name == "cifar" and not SHARED.is_dir():
                continue
            results[name] = {}
            for variant, extra in (("default", []), ("tuned", ["--tune"])):
                seconds, peak_mb, summary = _run([*args, *extra], os.path.join(tmp, f"out-{name}-{variant}"))
                tuner = next((c["wall_seconds"] for c in summary["components"] if c["node_id"] == "Tuner"), None)
                results[name][variant] = {
                    "sparse_categorical_accuracy": summary["metrics"].get("sparse_categorical_accuracy"),
                    "blessed": summary["blessed"], "seconds": round(seconds, 1), "tuner_seconds": tuner,
                    "trials": summary.get("tuning", {}).get("trials", []), "peak_rss_mb": round(peak_mb)}
                print(f"  {name} {variant}: {results[name][variant]['sparse_categorical_accuracy']:.4f} in "
                      f"{seconds:.0f} s", flush=True)
            tuned, default = (results[name][v]["sparse_categorical_accuracy"] or 0 for v in ("tuned", "default"))
            results[name]["targets_met"] = {"tuned_at_least_default": tuned >= default}
    results["date"] = time.strftime("%Y-%m-%d %H:%M:%S")
    return results
