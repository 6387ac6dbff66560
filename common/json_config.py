"""A dataclass config that travels as JSON in a custom component's execution properties."""

from __future__ import annotations

import dataclasses
import json
from typing import Type, TypeVar

C = TypeVar("C", bound="JsonConfig")


class JsonConfig:
    """``to_json`` / ``from_json`` for a dataclass (sorted keys: the same config gives the same cache key)."""

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls: Type[C], text: str) -> C:
        return cls(**json.loads(text))
