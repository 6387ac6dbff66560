"""Task contracts by name: the one registry of vision tasks every layer may import.

``get(name)`` refuses an unknown task by name everywhere, so nothing can fall back to classification.
A new task adds ``common/tasks/<task>.py`` (its :class:`TaskContract`) and registers it here;
tests register their own with :func:`register`.
"""

from __future__ import annotations

from typing import Dict, List

from common.tasks.contract import TaskContract, describe_defaults as _describe

_CONTRACTS: Dict[str, TaskContract] = {}


def register(contract: TaskContract) -> TaskContract:
    """Adds ``contract``; a second contract under a taken name is refused (one task, one meaning)."""
    existing = _CONTRACTS.get(contract.name)
    if existing is not None and existing is not contract:
        raise ValueError(f"task {contract.name!r} is registered already")
    _CONTRACTS[contract.name] = contract
    return contract


def unregister(name: str) -> None:
    """Removes a task (tests that register their own clean up with this)."""
    _CONTRACTS.pop(name, None)


def get(name: str) -> TaskContract:
    """The contract of ``name``; an unknown name is an error that lists the known ones."""
    try:
        return _CONTRACTS[name]
    except KeyError:
        raise ValueError(f"unknown task {name!r}; choose one of {', '.join(task_names())}") from None


def task_names() -> List[str]:
    """Registered task names, in registration order (classification first: the default)."""
    return list(_CONTRACTS)


def contracts() -> List[TaskContract]:
    return list(_CONTRACTS.values())


def describe_defaults(field: str) -> str:
    """Each task's default for ``field``, for ``--help`` (generated, so help and defaults cannot drift)."""
    return _describe(field, contracts()) or "none"


def _register_builtin() -> None:
    from common.tasks import classification, detection, segmentation

    for module in (classification, segmentation, detection):
        register(module.CONTRACT)


_register_builtin()
