"""Resolver strategy: the latest blessed, *comparable* model that is not the current candidate.

Why not TFX's LatestBlessedModelStrategy:

* it runs before the Trainer, so on a rerun with nothing changed the "baseline"
  it finds is the very model the (cached) Trainer just returned: the Evaluator
  re-evaluates the model against itself and the Pusher pushes it again.  Taking
  the candidate as an input and excluding it keeps an unchanged rerun fully cached;
* it takes the newest blessed model of the pipeline name, even one trained for
  another task, on other classes or on another dataset — a comparison that
  means nothing and can block a good model.  Here a model counts as a baseline
  only if its Trainer ran with the same ``lineage`` (task, class names and data
  source; see ``pipeline.pipeline.lineage``), read from the Trainer execution
  recorded in ML Metadata.  With no comparable model the candidate is judged on
  the absolute thresholds alone.
"""

from __future__ import annotations

import json
import logging
from typing import Dict, List, Optional

from tfx import types
from tfx.dsl.input_resolution.strategies.latest_blessed_model_strategy import LatestBlessedModelStrategy

MODEL_KEY = "model"
MODEL_BLESSING_KEY = "model_blessing"
CANDIDATE_KEY = "candidate"
#: The TrainerConfig field that says what a model is comparable with.
LINEAGE_FIELD = "lineage"


def trainer_lineage(store, model_id: int) -> Optional[str]:
    """The ``lineage`` in the custom_config of the Trainer execution that produced model ``model_id``."""
    from ml_metadata.proto import metadata_store_pb2

    outputs = [e for e in store.get_events_by_artifact_ids([model_id])
               if e.type in (metadata_store_pb2.Event.OUTPUT, metadata_store_pb2.Event.DECLARED_OUTPUT)]
    for execution in store.get_executions_by_id([e.execution_id for e in outputs]):
        config = execution.custom_properties.get("custom_config")
        if config is not None and config.string_value:
            return json.loads(config.string_value).get(LINEAGE_FIELD)
    return None


class LatestBlessedBaselineStrategy(LatestBlessedModelStrategy):
    """Latest blessed Model (and its ModelBlessing) of the same lineage, never the candidate itself."""

    def __init__(self, lineage: str = ""):
        super().__init__()
        self._lineage = lineage

    def resolve_artifacts(self, store, input_dict: Dict[str, List[types.Artifact]]
                          ) -> Optional[Dict[str, List[types.Artifact]]]:
        candidate_ids = {a.id for a in input_dict.get(CANDIDATE_KEY, [])}
        models = [m for m in input_dict.get(MODEL_KEY, []) if m.id not in candidate_ids]
        if self._lineage and store is not None:
            comparable = [m for m in models if trainer_lineage(store, m.id) == self._lineage]
            if len(comparable) < len(models):
                logging.info("baseline: %d of %d earlier models left out (other task, classes or data)",
                             len(models) - len(comparable), len(models))
            models = comparable
        blessings = list(input_dict.get(MODEL_BLESSING_KEY, []))
        result = {MODEL_KEY: [], MODEL_BLESSING_KEY: []}
        if models and blessings:
            result = self._resolve({MODEL_KEY: models, MODEL_BLESSING_KEY: blessings}, MODEL_KEY, MODEL_BLESSING_KEY)
        result[CANDIDATE_KEY] = list(input_dict.get(CANDIDATE_KEY, []))
        return result
