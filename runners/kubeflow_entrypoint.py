"""Container entrypoint of every compiled Kubeflow step: TFX's executor entrypoint, able to load our artifact types.

``python -m runners.kubeflow_entrypoint ARGS`` is ``python -m
tfx.orchestration.kubeflow.v2.container.kubeflow_v2_run_executor ARGS`` (same flags, same executor input,
same output metadata) after one preparation.

Why: Kubeflow Pipelines v2 records a custom artifact type by a schema title ``<namespace>.<Name>``
(``image_tfx.ImageValidationReport``; ``system.HTML`` for the Facets pages the KFP UI renders), and TFX's
entrypoint turns a title it does not know back into a class by importing the title as a module path.  No
module ``image_tfx`` or ``system`` exists, so every step that reads or writes one of these artifacts
(ImageValidator, AnomalyGate, LabelInspector, FacetsPages, ModelCardGen, Pusher) failed in its pod with
"No module named 'image_tfx'".  Here each namespace becomes a module holding its classes, for this process
only.  ``tests/test_kubeflow_contract.py`` runs compiled steps through this command line.
"""

from __future__ import annotations

import importlib
import runpy
import sys
import types
from typing import Iterable, Optional, Tuple, Type

#: TFX's container entrypoint for KubeflowV2DagRunner steps (what the spec would run without us).
TFX_ENTRYPOINT = "tfx.orchestration.kubeflow.v2.container.kubeflow_v2_run_executor"
#: The command the compiled spec runs in every step's container (KubeflowV2DagRunnerConfig.default_commands).
COMMAND = ["python", "-m", "runners.kubeflow_entrypoint"]


def custom_artifact_types() -> Tuple[Type, ...]:
    """Every artifact type of ours a compiled step may read or write (TFX's own need no help)."""
    from components.anomaly_gate.spec import AnomalyGateResult
    from components.facets_pages.spec import HTMLPage
    from components.image_validator.spec import ImageValidationReport
    from components.label_inspector.spec import LabelIssues
    from components.model_card.spec import ModelCard

    return (AnomalyGateResult, HTMLPage, ImageValidationReport, LabelIssues, ModelCard)


def register_type_namespaces(artifact_types: Optional[Iterable[Type]] = None) -> None:
    """Makes ``import_class_by_path(TYPE_NAME)`` find each type: ``image_tfx.ImageValidationReport`` etc."""
    for artifact_type in artifact_types or custom_artifact_types():
        namespace, _, name = artifact_type.TYPE_NAME.rpartition(".")
        module = sys.modules.get(namespace)
        if module is None:
            try:
                module = importlib.import_module(namespace)
            except ImportError:
                module = sys.modules[namespace] = types.ModuleType(
                    namespace, f"Kubeflow artifact type namespace {namespace!r} (runners/kubeflow_entrypoint.py)")
        setattr(module, name, artifact_type)


def main() -> None:
    register_type_namespaces()
    runpy.run_module(TFX_ENTRYPOINT, run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main()
