"""Configuration fields that describe their own command-line flag.

Why: each configuration dataclass is the one place that says what a setting
means, its default and its help text.  :func:`option` stores the flag's
description in the field's metadata; :func:`add_flags` turns a dataclass into
argparse flags and :func:`from_args` builds the dataclass back from the parsed
flags, so no runner copies fields by hand and a new setting cannot have a
default in one place and another default in its help text.
"""

from __future__ import annotations

import argparse
import dataclasses
from typing import Any, Callable, Dict, Mapping, Optional, Sequence, Type, TypeVar, Union

T = TypeVar("T")

_FLAG = "flag"


def option(
    default: Any = dataclasses.MISSING,
    *,
    help: Union[str, Callable[[], str]],
    group: str,
    flag: Optional[str] = None,
    default_factory: Any = dataclasses.MISSING,
    choices: Union[None, Sequence[str], Callable[[], Sequence[str]]] = None,
    parse: Optional[Callable[[str], Any]] = None,
    store_false: bool = False,
    store_true: bool = False,
    repeat: bool = False,
    metavar: Optional[str] = None,
    task_default: bool = False,
    minimum: Optional[float] = None,
    maximum: Optional[float] = None,
    above: Optional[float] = None,
):
    """A dataclass field with a command-line flag.

    ``flag`` defaults to ``--field-name``; ``parse`` converts the flag's text
    (a file name, a comma-separated list); ``store_true`` a ``--x`` switch for a boolean that defaults to False; ``store_false`` makes a ``--no-x``
    switch for a boolean that defaults to True; ``repeat`` collects repeated
    flags into a list; ``task_default`` marks a field whose default depends on
    the task (the flag's default is then None and the caller fills it in).
    ``%(default)s`` in ``help`` shows the field's default.  ``help`` and ``choices`` may be functions, called
    when the parser is built: a task registered later (``common.tasks.register``) then has its flag value and
    its defaults in ``--help``, generated from the task contracts rather than written twice.  ``minimum`` / ``maximum`` (inclusive) and
    ``above`` (exclusive) bound a number: a flag outside is refused before anything runs, naming the flag.
    """
    metadata = {_FLAG: dict(help=help, group=group, flag=flag, choices=choices, parse=parse,
                            store_false=store_false, store_true=store_true, repeat=repeat, metavar=metavar, task_default=task_default,
                            minimum=minimum, maximum=maximum, above=above)}
    return dataclasses.field(default=default, default_factory=default_factory, metadata=metadata)


def _flag_fields(cls: type):
    return [f for f in dataclasses.fields(cls) if _FLAG in f.metadata]


def _nested(cls: type):
    """Fields that are themselves configuration dataclasses (their flags are added too)."""
    for f in dataclasses.fields(cls):
        if isinstance(f.default_factory, type) and dataclasses.is_dataclass(f.default_factory):
            yield f


def flag_name(field: dataclasses.Field) -> str:
    spec = field.metadata[_FLAG]
    return spec["flag"] or "--" + field.name.replace("_", "-")


def dest(field: dataclasses.Field) -> str:
    return flag_name(field).lstrip("-").replace("-", "_")


def add_flags(parser: argparse.ArgumentParser, cls: type, groups: Dict[str, Any]) -> None:
    """Adds a flag for every :func:`option` field of ``cls`` (and of its nested config dataclasses)."""
    defaults = cls()
    for field in _flag_fields(cls):
        spec = field.metadata[_FLAG]
        group = groups.get(spec["group"])
        if group is None:
            group = groups[spec["group"]] = parser.add_argument_group(spec["group"])
        default = getattr(defaults, field.name)
        help_text = spec["help"]() if callable(spec["help"]) else spec["help"]
        choices = spec["choices"]() if callable(spec["choices"]) else spec["choices"]
        kwargs: Dict[str, Any] = {"dest": dest(field), "help": help_text}
        if spec["store_false"]:
            kwargs.update(action="store_false", default=True)
        elif spec.get("store_true"):
            kwargs.update(action="store_true", default=False)
        elif spec["repeat"]:
            kwargs.update(action="append", default=None, metavar=spec["metavar"])
        else:
            kwargs.update(default=None if spec["task_default"] else default, choices=choices,
                          metavar=spec["metavar"])
            if spec["parse"] is None and default is not None and not isinstance(default, (list, dict, bool)):
                kwargs["type"] = type(default)
        if not spec["store_false"] and not spec.get("store_true") and not spec["repeat"] and "%(default)s" in help_text:
            kwargs["help"] = help_text.replace("%(default)s", str(default))
        group.add_argument(flag_name(field), **kwargs)
    for field in _nested(cls):
        add_flags(parser, field.default_factory, groups)


def check_bounds(field: dataclasses.Field, value: Any) -> None:
    """Refuses a number outside the field's bounds with one line: the flag, the value and the range."""
    spec = field.metadata[_FLAG]
    low, high, above = spec.get("minimum"), spec.get("maximum"), spec.get("above")
    if value is None or not isinstance(value, (int, float)) or isinstance(value, bool):
        return
    if (low is not None and value < low) or (high is not None and value > high) or \
            (above is not None and value <= above):
        if low is not None and high is not None:
            wanted = f"between {low:g} and {high:g}"
        elif above is not None:
            wanted = f"above {above:g}"
        elif low is not None:
            wanted = f"at least {low:g}"
        else:
            wanted = f"at most {high:g}"
        raise ValueError(f"{flag_name(field)} {value:g}: must be {wanted}")


def from_args(cls: Type[T], args: argparse.Namespace, task_defaults: Mapping[str, Any] = (),
              **overrides: Any) -> T:
    """Builds ``cls`` from parsed flags: given flags win, then ``task_defaults``, then the field default."""
    task_defaults = dict(task_defaults)
    values: Dict[str, Any] = {}
    for field in _flag_fields(cls):
        spec = field.metadata[_FLAG]
        value = getattr(args, dest(field), None)
        if spec["repeat"]:
            value = list(value or [])
            values[field.name] = spec["parse"](value) if spec["parse"] else value
            continue
        if value is None:
            if spec["task_default"] and field.name in task_defaults:
                values[field.name] = task_defaults[field.name]
            continue
        if spec["parse"] is not None and isinstance(value, str):
            value = spec["parse"](value)
        check_bounds(field, value)
        values[field.name] = value
    for field in _nested(cls):
        values[field.name] = from_args(field.default_factory, args, task_defaults)
    values.update(overrides)
    return cls(**values)
