"""Task by name: the only module that knows every task."""

from __future__ import annotations

from typing import Dict

from common import tasks
from trainer.tasks.base import Task
from trainer.tasks.classification import Classification
from trainer.tasks.detection import Detection
from trainer.tasks.segmentation import Segmentation

TASKS: Dict[str, Task] = {task.name: task for task in (Classification(), Segmentation(), Detection())}


def register_task(task: Task) -> Task:
    """Adds the TensorFlow side of a task whose contract is registered in :mod:`common.tasks`."""
    tasks.get(task.name)  # the contract comes first: every other layer reads it
    TASKS[task.name] = task
    return task


def get_task(name: str) -> Task:
    if name not in TASKS:
        tasks.get(name)  # an unknown task is refused by name
        raise ValueError(f"task {name!r} has no trainer implementation: register one with "
                         "trainer.tasks.registry.register_task")
    return TASKS[name]
