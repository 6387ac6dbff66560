"""Evaluator executor that refuses to run with an EvalConfig that has no blessing threshold.

Why: on Kubeflow the EvalConfig is a runtime parameter (``eval-config``), a
JSON string anyone starting a run may replace.  An EvalConfig without a value
threshold blesses every model, so a typo would silently push anything.  This
executor checks the EvalConfig it actually received, then runs TFX's own
Evaluator, its record batches capped (``components/evaluator_batches.py``).
"""

from __future__ import annotations

import tensorflow_model_analysis as tfma
from google.protobuf import json_format
from tfx.components.evaluator import executor as tfx_evaluator
from tfx.types import standard_component_specs

from components.evaluator_batches import capped_record_batches


class MissingBlessingThreshold(ValueError):
    """The EvalConfig would bless models unconditionally."""


def value_thresholds(eval_config: tfma.EvalConfig):
    """(metric class name, lower bound) of every value threshold on the overall slice."""
    found = []
    for spec in eval_config.metrics_specs:
        for metric in spec.metrics:
            thresholds = [metric.threshold] if metric.HasField("threshold") else []
            thresholds += [t.threshold for t in metric.per_slice_thresholds
                           if any(not s.feature_keys and not s.feature_values for s in t.slicing_specs)]
            for threshold in thresholds:
                if threshold.HasField("value_threshold"):
                    bound = threshold.value_threshold
                    found.append((metric.class_name, bound.lower_bound.value if bound.HasField("lower_bound")
                                  else None))
    return found


def check_eval_config(eval_config: tfma.EvalConfig) -> None:
    """Raises when no metric has a value threshold with a lower bound on the overall slice."""
    bounded = [(name, bound) for name, bound in value_thresholds(eval_config) if bound is not None]
    if not bounded:
        raise MissingBlessingThreshold(
            "the EvalConfig has no value threshold with a lower bound on the overall slice, so every model "
            "would be blessed and pushed. Keep the compiled eval-config's thresholds (e.g. "
            "SparseCategoricalAccuracy >= 0.9) when overriding it.")


class Executor(tfx_evaluator.Executor):
    """See the module docstring."""

    def Do(self, input_dict, output_dict, exec_properties) -> None:
        text = exec_properties.get(standard_component_specs.EVAL_CONFIG_KEY)
        eval_config = tfma.EvalConfig()
        if text:
            json_format.Parse(text, eval_config)
        check_eval_config(eval_config)
        # Batches of at most 64 records: memory that does not grow with the eval split (evaluator_batches.py).
        with capped_record_batches():
            super().Do(input_dict, output_dict, exec_properties)
