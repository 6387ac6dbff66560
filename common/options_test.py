"""Flags derived from configuration fields: defaults, task defaults, switches, repeated and parsed flags."""

import argparse
import dataclasses
from typing import Dict, List

import pytest

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


def test_a_flag_outside_its_bounds_is_refused_naming_the_flag_and_the_range():
    @dataclasses.dataclass
    class Settings:
        share: float = option(0.1, group="g", minimum=0, maximum=1, help="a share")
        steps: int = option(5, group="g", minimum=1, help="steps")
        rate: float = option(0.1, group="g", above=0, help="a rate")

    parser = argparse.ArgumentParser()
    add_flags(parser, Settings, {})
    assert from_args(Settings, parser.parse_args(["--share", "1", "--steps", "1", "--rate", "1e-9"])) == \
        Settings(1.0, 1, 1e-9)
    for argv, message in ((["--share", "1.5"], "--share 1.5: must be between 0 and 1"),
                          (["--steps", "0"], "--steps 0: must be at least 1"),
                          (["--rate", "0"], "--rate 0: must be above 0")):
        with pytest.raises(ValueError, match=message):
            from_args(Settings, parser.parse_args(argv))
