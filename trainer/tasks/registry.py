"""Task by name: the only module that knows every task."""

from __future__ import annotations

from typing import Dict

from trainer.tasks.base import Task
from trainer.tasks.classification import Classification
from trainer.tasks.detection import Detection
from trainer.tasks.segmentation import Segmentation

TASKS: Dict[str, Task] = {task.name: task for task in (Classification(), Segmentation(), Detection())}


def get_task(name: str) -> Task:
    if name not in TASKS:
        raise ValueError(f"unknown task {name!r}; choose one of {sorted(TASKS)}")
    return TASKS[name]
