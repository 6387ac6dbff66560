"""What invalidates what: one place decides which changes rerun which components.

TFX reuses a component's earlier output when its input artifacts and its
execution properties are unchanged.  It does not see the Python code a
component runs, nor the *content* of a schema file whose path stays the same,
so a changed check or a curated schema edit would be served stale from the
cache.  This module turns each into a value that :mod:`pipeline.pipeline`
passes to exactly the components it affects; downstream components then rerun
because their input artifacts are new.

=====================================================  ==============================================
change                                                 reruns
=====================================================  ==============================================
a module the ImageValidator's executor imports         ImageValidator and everything after it
(components/image_validator/, common/)
a module the AnomalyGate's executor imports            AnomalyGate (it re-decides; Transform's inputs are
                                                       unchanged, so Transform stays cached if it passes)
a module ``preprocessing_fn`` or Transform's           Transform, Trainer, Evaluator, Pusher
executor imports (trainer/preprocessing.py,
image_ops.py, tasks/, components/staged_transform/, …)
any other module ``run_fn`` imports (run.py,           Trainer, Evaluator, Pusher — not Transform
inputs.py, signatures.py, …)
a training setting (learning rate, backbone, …)        Trainer, Evaluator, Pusher — not Transform
                                                       (Transform gets TransformConfig only)
components/accuracy_metric.py, iou_metric.py,         Evaluator, Pusher, TfliteEvaluator
box_metrics.py                                         (their config names the code version)
a module the TfliteEvaluator's hooks import             TfliteEvaluator (nothing waits for it)
(trainer/tflite_evaluation.py, trainer/image_ops.py, …)
a module the ModelCardGen's executor imports            ModelCardGen, Pusher
(components/model_card/, …)
the schema file's content                              ImportSchemaGen and everything after it
the embedded data generators (ingest/embedded.py)      the data is regenerated: ImportExampleGen and after
=====================================================  ==============================================

Code versions are hashes of the transitive closure of a module's project
imports (found by parsing, not by importing), so a helper moved between files
or a new import is covered without a list to maintain.
"""

from __future__ import annotations

import ast
import hashlib
import os
import shutil
from pathlib import Path
from typing import Dict, Iterable, Optional, Set

ROOT_DIR = Path(__file__).resolve().parent.parent
PROJECT_PACKAGES = ("common", "ingest", "pipeline", "components", "trainer", "reporting", "runners")

#: Entry module of each component whose code TFX cannot see.
ENTRY_MODULES = {
    "ImageValidator": "components.image_validator.executor",
    "AnomalyGate": "components.anomaly_gate.executor",
    "LabelInspector": "components.label_inspector.executor",
    "FacetsPages": "components.facets_pages.executor",
    "TfliteEvaluator": "trainer.tflite_evaluation",
    "ModelCardGen": "components.model_card.executor",
    # preprocessing_fn, and the executor that materialises its output.
    "Transform": ("trainer.preprocessing", "components.staged_transform.executor"),
    "Trainer": "trainer.run",
    # The custom TFMA metrics (classification accuracy; segmentation IoU; detection: the baseline fix and the
    # matched-box IoU).
    "Evaluator": ("components.accuracy_metric", "components.iou_metric", "components.box_metrics"),
    "embedded data": "ingest.embedded",
}


def _module_path(module: str, root: Path) -> Optional[Path]:
    base = root.joinpath(*module.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def project_imports(path: Path, module: str) -> Set[str]:
    """Project modules a file imports anywhere (function-level and relative imports included)."""
    found: Set[str] = set()
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(parts + ([base] if base else []))
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return {name for name in found if name.split(".")[0] in PROJECT_PACKAGES}


def source_closure(module: str, root: Path = ROOT_DIR) -> Dict[str, Path]:
    """Every project module ``module`` imports, directly or not (package ``__init__`` files included)."""
    seen: Dict[str, Path] = {}
    pending = [module]
    while pending:
        name = pending.pop()
        if name in seen:
            continue
        path = _module_path(name, root)
        if path is None:
            continue
        seen[name] = path
        parts = name.split(".")
        pending.extend(".".join(parts[:i]) for i in range(1, len(parts)))  # parent packages run too
        pending.extend(project_imports(path, name))
    return seen


def _digest(paths: Iterable[Path], root: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(set(paths)):
        digest.update(path.relative_to(root).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


def code_versions(root: Path = ROOT_DIR) -> Dict[str, str]:
    """Code version per entry of :data:`ENTRY_MODULES`."""
    versions = {}
    for component, entry in ENTRY_MODULES.items():
        closure = {}
        for module in ((entry,) if isinstance(entry, str) else entry):
            closure.update(source_closure(module, root))
        versions[component] = _digest(closure.values(), root)
    return versions


def file_version(path: str) -> str:
    with open(path, "rb") as handle:
        return hashlib.sha256(handle.read()).hexdigest()[:16]


def content_addressed_copy(path: str, store_dir: str) -> str:
    """``store_dir/<content hash>/<file name>``: the path changes exactly when the content does.

    ImportSchemaGen's cache key is the schema file's *path*; importing this copy makes an edit of the
    curated schema rerun ImportSchemaGen and everything after it.
    """
    target = os.path.join(os.path.abspath(store_dir), file_version(path), os.path.basename(path))
    if not os.path.isfile(target):
        os.makedirs(os.path.dirname(target), exist_ok=True)
        staging = f"{target}.tmp-{os.getpid()}"
        shutil.copyfile(path, staging)
        os.replace(staging, target)
    return target
