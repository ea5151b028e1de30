"""Locating keys and tables of a TOML text by line."""

from __future__ import annotations

import textwrap

import pytest

from stream.adapters.toml_lines import KeyPath, TomlLines, describe_path

TEXT = textwrap.dedent("""
    top = 1
    [calendars.office]              # a comment
    timezone = "UTC"
    [calendars.office.hours]
    mon-fri = [
      "09:00-17:00",
    ]
    [calendars."head office"]
    'time zone' = "UTC"

    [[policy]]
    name = "a"
    targets = { first_reply = "1h" }

    [[ policy ]]
    name = "b"
    match.queues = ["x"]
    [policy.targets]
    first_reply = "1h"
    s = "[not.a.header]"
""").lstrip("\n")


@pytest.mark.parametrize(
    ("path", "line"),
    [
        (("top",), 1),
        (("calendars", "office"), 2),
        (("calendars", "office", "timezone"), 3),
        (("calendars", "office", "hours"), 4),
        (("calendars", "office", "hours", "mon-fri"), 5),
        (("calendars", "office", "hours", "sun"), 4),  # absent: its table's header
        (("calendars", "head office", "time zone"), 9),
        (("policy", 0), 11),
        (("policy", 0, "name"), 12),
        (("policy", 0, "targets"), 13),
        (("policy", 0, "targets", "first_reply"), 13),  # inside an inline table
        (("policy", 0, "match", "queues"), 11),  # absent: the policy's header
        (("policy", 1), 15),
        (("policy", 1, "match", "queues"), 17),  # a dotted key
        (("policy", 1, "targets"), 18),
        (("policy", 1, "targets", "first_reply"), 19),
        (("policy", 1, "targets", "s"), 20),
        (("policy", 2), None),
        (("nothing",), None),
        ((), None),
    ],
)
def test_toml_lines__line_of(path: KeyPath, line: int | None) -> None:
    assert TomlLines(TEXT).line_of(path) == line


def test_toml_lines__array_lines_are_not_keys() -> None:
    lines = TomlLines('a = [\n  "x",\n]\n"x" = 1\n')
    assert lines.line_of(("x",)) == 4


@pytest.mark.parametrize(
    ("path", "text"),
    [
        (("policy", 2, "targets", "first_reply"), "policy[2].targets.first_reply"),
        (("hours", "mon-fri"), "hours.mon-fri"),
        (("calendars", "head office"), 'calendars."head office"'),
        ((), ""),
    ],
)
def test_describe_path__as_written_in_toml(path: KeyPath, text: str) -> None:
    assert describe_path(path) == text
