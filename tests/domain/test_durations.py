"""Duration strings: what is accepted, what is refused, and the round trip."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from stream.domain.durations import format_duration, parse_duration


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("90s", 90.0),
        ("30m", 1800.0),
        ("8h", 28800.0),
        ("2d", 172800.0),
        ("1w", 604800.0),
        ("1h30m", 5400.0),
        ("1d12h", 129600.0),
        ("1w2d3h4m5s", 604800.0 + 2 * 86400 + 3 * 3600 + 4 * 60 + 5),
        ("1.5h", 5400.0),
        ("0.25m", 15.0),
        ("0s", 0.0),
        ("015m", 900.0),
    ],
)
def test_parse_duration__accepts(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize(
    "text",
    ["3x", "", "30", "m", "30M", "1H", "30 m", " 30m", "30m ", "1h 30m", "-5m", "+5m", ".5h",
     "5.h", "1e3s", "inf", "nan", "1,5h", "5mins", "1h1h"],
)  # fmt: skip
def test_parse_duration__rejects_with_a_hint(text: str) -> None:
    with pytest.raises(ValueError) as err:
        parse_duration(text)
    assert str(err.value).startswith(f"bad duration {text!r}: ")
    assert "use a number and a unit s, m, h, d or w, e.g. 30m, 8h, 2d, 1h30m" in str(err.value)


def test_parse_duration__message_for_an_unknown_unit() -> None:
    with pytest.raises(ValueError) as err:
        parse_duration("3x")
    assert str(err.value) == (
        "bad duration '3x': use a number and a unit s, m, h, d or w, e.g. 30m, 8h, 2d, 1h30m"
    )


def test_parse_duration__units_out_of_order_are_refused() -> None:
    with pytest.raises(ValueError, match="largest first"):
        parse_duration("30m1h")


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0.0, "0s"),
        (90.0, "1m30s"),
        (5400.0, "1h30m"),
        (172800.0, "2d"),
        (129600.0, "1d12h"),
        (604800.0, "1w"),
        (1209600.0 + 60, "2w1m"),
        (1.5, "1.5s"),
        (60.25, "1m0.25s"),
        (0.0004, "0s"),
    ],
)
def test_format_duration__compact(seconds: float, text: str) -> None:
    assert format_duration(seconds) == text


@pytest.mark.parametrize("seconds", [-1.0, math.inf, math.nan])
def test_format_duration__rejects_negative_and_non_finite(seconds: float) -> None:
    with pytest.raises(ValueError):
        format_duration(seconds)


@given(st.integers(min_value=0, max_value=10**12))
def test_format_duration__round_trips_milliseconds(millis: int) -> None:
    seconds = millis / 1000
    assert parse_duration(format_duration(seconds)) == pytest.approx(seconds, abs=1e-6)
