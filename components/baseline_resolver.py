"""Resolver strategy: the latest blessed model that is not the current candidate.

Why not TFX's LatestBlessedModelStrategy: it runs before the Trainer, so on a
rerun with nothing changed the "baseline" it finds is the very model the
(cached) Trainer just returned.  The Evaluator's inputs then differ from the
previous run, it re-evaluates the model against itself and the Pusher pushes
the same model again under a new version.  Taking the candidate as an input
and excluding it keeps an unchanged rerun fully cached, while a newly trained
model is still compared with the last blessed one.
"""

from __future__ import annotations

from typing import Dict, List, Optional

from tfx import types
from tfx.dsl.input_resolution.strategies.latest_blessed_model_strategy import LatestBlessedModelStrategy

MODEL_KEY = "model"
MODEL_BLESSING_KEY = "model_blessing"
CANDIDATE_KEY = "candidate"


class LatestBlessedBaselineStrategy(LatestBlessedModelStrategy):
    """Latest blessed Model (and its ModelBlessing), never the candidate itself."""

    def resolve_artifacts(self, store, input_dict: Dict[str, List[types.Artifact]]) -> Optional[Dict[str, List[types.Artifact]]]:
        candidate_ids = {a.id for a in input_dict.get(CANDIDATE_KEY, [])}
        models = [m for m in input_dict.get(MODEL_KEY, []) if m.id not in candidate_ids]
        blessings = list(input_dict.get(MODEL_BLESSING_KEY, []))
        result = {MODEL_KEY: [], MODEL_BLESSING_KEY: []}
        if models and blessings:
            result = self._resolve({MODEL_KEY: models, MODEL_BLESSING_KEY: blessings}, MODEL_KEY, MODEL_BLESSING_KEY)
        result[CANDIDATE_KEY] = list(input_dict.get(CANDIDATE_KEY, []))
        return result
