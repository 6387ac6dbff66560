"""Reading a TfliteEvaluator evaluation back: overall metrics per TFLite file."""

from __future__ import annotations

from typing import Dict

from common import names


def read_tflite_metrics(evaluation_uri: str) -> Dict[str, Dict[str, float]]:
    """{model name (``tflite``, ``tflite_int8``): {metric name: value}} on the overall slice.

    TFMA stores a lone model under the name ``""``; that is the float file (every export writes it).
    """
    import tensorflow_model_analysis as tfma

    found: Dict[str, Dict[str, float]] = {}
    for metrics in tfma.load_metrics(evaluation_uri):
        if metrics.slice_key.single_slice_keys:
            continue
        for entry in metrics.metric_keys_and_values:
            if not entry.value.HasField("double_value") or entry.key.HasField("sub_key"):
                continue
            model = entry.key.model_name or names.TFLITE_FLOAT_MODEL
            found.setdefault(model, {})[entry.key.name] = entry.value.double_value.value
    return found
