"""Flags derived from configuration fields: defaults, task defaults, switches, repeated and parsed flags."""

import argparse
import dataclasses
from typing import Dict, List

from common.options import add_flags, from_args, option


@dataclasses.dataclass
class Inner:
    enabled: bool = option(True, flag="--no-thing", store_false=True, group="g", help="turn the thing off")


@dataclasses.dataclass
class Outer:
    size: int = option(32, task_default=True, group="g", help="size (default: %(default)s)")
    rate: float = option(0.5, group="g", help="rate (default: %(default)s)")
    tags: List[str] = option(default_factory=list, flag="--tag", repeat=True, group="g", help="repeatable")
    pairs: Dict[str, str] = option(default_factory=dict, flag="--pair", repeat=True, group="h", help="K=V",
                                   parse=lambda items: dict(item.split("=") for item in items))
    hidden: int = 7
    inner: Inner = dataclasses.field(default_factory=Inner)


def _parse(argv, task_defaults=()):
    parser = argparse.ArgumentParser()
    add_flags(parser, Outer, {})
    return parser, from_args(Outer, parser.parse_args(argv), task_defaults)


def test_defaults_come_from_the_fields_and_task_defaults_fill_the_gaps():
    _, config = _parse([])
    assert config == Outer()
    _, config = _parse([], {"size": 64})
    assert config.size == 64 and config.rate == 0.5
    _, config = _parse(["--size", "16"], {"size": 64})
    assert config.size == 16  # a given flag wins over the task default


def test_switches_repeats_and_parsers():
    _, config = _parse(["--no-thing", "--tag", "a", "--tag", "b", "--pair", "x=1", "--rate", "0.25"])
    assert config.inner.enabled is False
    assert config.tags == ["a", "b"] and config.pairs == {"x": "1"} and config.rate == 0.25


def test_help_shows_the_field_default_and_fields_without_option_get_no_flag():
    parser, _ = _parse([])
    text = parser.format_help()
    assert "rate (default: 0.5)" in text and "--no-thing" in text and "--hidden" not in text
