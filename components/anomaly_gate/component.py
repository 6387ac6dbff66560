"""AnomalyGate component: Transform waits for it (``add_upstream_node``)."""

from __future__ import annotations

import json
from typing import Sequence

from tfx import types
from tfx.dsl.components.base import base_component, executor_spec

from components.anomaly_gate.executor import Executor
from components.anomaly_gate.spec import (ANOMALIES_KEY, CODE_VERSION_KEY, MODEL_FEATURES_KEY, POLICIES, POLICY_KEY,
                                          RESULT_KEY, AnomalyGateResult, AnomalyGateSpec)


class AnomalyGate(base_component.BaseComponent):
    """Fails the run when ExampleValidator's anomalies hit what the policy protects."""

    SPEC_CLASS = AnomalyGateSpec
    EXECUTOR_SPEC = executor_spec.ExecutorClassSpec(Executor)

    def __init__(self, anomalies: types.BaseChannel, policy: str = "model-features",
                 model_features: Sequence[str] = (), code_version: str = ""):
        if policy not in POLICIES:
            raise ValueError(f"--block-anomalies must be one of {POLICIES}, got {policy!r}")
        super().__init__(spec=AnomalyGateSpec(**{
            ANOMALIES_KEY: anomalies,
            POLICY_KEY: policy,
            MODEL_FEATURES_KEY: json.dumps(list(model_features)),
            CODE_VERSION_KEY: code_version,
            RESULT_KEY: types.Channel(type=AnomalyGateResult),
        }))
