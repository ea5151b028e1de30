"""Business calendars: hand-computed cases, DST and holidays, properties and a slow reference."""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Iterable
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from stream.domain.calendars import (
    AlwaysOpen,
    BusinessCalendar,
    Calendar,
    CalendarError,
    WeeklyHours,
)

H = 3600.0
BERLIN = "Europe/Berlin"
NEW_YORK = "America/New_York"
OFFICE = {d: [(540, 1020)] for d in range(5)}  # Mon-Fri 09:00-17:00
EVERY_DAY_OFFICE = {d: [(540, 1020)] for d in range(7)}
NIGHTS = {d: [(1320, 360)] for d in range(5)}  # Mon-Fri nights 22:00-06:00
WEEKDAYS_24H = {d: [(0, 1440)] for d in range(5)}
EARLY = {d: [(0, 360)] for d in range(7)}  # 00:00-06:00 every day


def at(y: int, mo: int, d: int, h: int = 0, mi: int = 0, tz: str = BERLIN) -> float:
    return datetime(y, mo, d, h, mi, tzinfo=ZoneInfo(tz)).timestamp()


def office(holidays: Callable[[int], Iterable[date]] | Iterable[date] = ()) -> BusinessCalendar:
    return BusinessCalendar("office", BERLIN, OFFICE, holidays)


# -- hand-computed cases -------------------------------------------------------------------

# 2026-01-02 is a Friday, 2026-01-05 a Monday.
BUSINESS_SECONDS_CASES = [
    ("weekend", OFFICE, BERLIN, at(2026, 1, 2, 16), at(2026, 1, 5, 10), 2 * H),
    ("created saturday", OFFICE, BERLIN, at(2026, 1, 3, 12), at(2026, 1, 5, 10), 1 * H),
    ("created at 03:00", OFFICE, BERLIN, at(2026, 1, 6, 3), at(2026, 1, 6, 9, 30), 0.5 * H),
    ("inside one day", OFFICE, BERLIN, at(2026, 1, 6, 10), at(2026, 1, 6, 11, 15), 1.25 * H),
    ("whole week", OFFICE, BERLIN, at(2026, 1, 5), at(2026, 1, 12), 40 * H),
    ("closed span", OFFICE, BERLIN, at(2026, 1, 6, 17), at(2026, 1, 7, 9), 0.0),
    ("reversed", OFFICE, BERLIN, at(2026, 1, 6, 12), at(2026, 1, 6, 10), 0.0),
    ("night shift", NIGHTS, BERLIN, at(2026, 1, 5), at(2026, 1, 12), 40 * H),
    ("friday night", NIGHTS, BERLIN, at(2026, 1, 9, 12), at(2026, 1, 10, 12), 8 * H),
    ("24h weekdays", WEEKDAYS_24H, BERLIN, at(2026, 1, 5), at(2026, 1, 12), 120 * H),
    ("24h over sunday", WEEKDAYS_24H, BERLIN, at(2026, 1, 9, 20), at(2026, 1, 12, 2), 6 * H),
    ("ny weekend", OFFICE, NEW_YORK, at(2026, 1, 2, 16, tz=NEW_YORK),
     at(2026, 1, 5, 10, tz=NEW_YORK), 2 * H),
    # DST: every 09:00-17:00 day stays 8 h; a span over the change counts real time.
    ("berlin spring day", EVERY_DAY_OFFICE, BERLIN, at(2026, 3, 29), at(2026, 3, 30), 8 * H),
    ("berlin fall day", EVERY_DAY_OFFICE, BERLIN, at(2026, 10, 25), at(2026, 10, 26), 8 * H),
    ("berlin spring week", OFFICE, BERLIN, at(2026, 3, 27, 16), at(2026, 3, 30, 10), 2 * H),
    ("berlin fall week", OFFICE, BERLIN, at(2026, 10, 23, 16), at(2026, 10, 26, 10), 2 * H),
    ("berlin spring night", EARLY, BERLIN, at(2026, 3, 29), at(2026, 3, 30), 5 * H),
    ("berlin fall night", EARLY, BERLIN, at(2026, 10, 25), at(2026, 10, 26), 7 * H),
    ("berlin spring shift", {5: [(1320, 360)]}, BERLIN, at(2026, 3, 28), at(2026, 3, 30), 7 * H),
    ("berlin fall shift", {5: [(1320, 360)]}, BERLIN, at(2026, 10, 24), at(2026, 10, 26), 9 * H),
    ("ny spring day", EVERY_DAY_OFFICE, NEW_YORK, at(2026, 3, 8, tz=NEW_YORK),
     at(2026, 3, 9, tz=NEW_YORK), 8 * H),
    ("ny fall day", EVERY_DAY_OFFICE, NEW_YORK, at(2026, 11, 1, tz=NEW_YORK),
     at(2026, 11, 2, tz=NEW_YORK), 8 * H),
    ("ny spring week", OFFICE, NEW_YORK, at(2026, 3, 6, 16, tz=NEW_YORK),
     at(2026, 3, 9, 10, tz=NEW_YORK), 2 * H),
    ("ny spring night", EARLY, NEW_YORK, at(2026, 3, 8, tz=NEW_YORK),
     at(2026, 3, 9, tz=NEW_YORK), 5 * H),
    ("ny fall night", EARLY, NEW_YORK, at(2026, 11, 1, tz=NEW_YORK),
     at(2026, 11, 2, tz=NEW_YORK), 7 * H),
    # 01:00-03:00 on a fall-back night lasts 3 real hours.
    ("ny fall 01-03", {6: [(60, 180)]}, NEW_YORK, at(2026, 11, 1, tz=NEW_YORK),
     at(2026, 11, 2, tz=NEW_YORK), 3 * H),
    # An ambiguous end (01:30) is its first occurrence (fold=0).
    ("ny fall ambiguous end", {6: [(0, 90)]}, NEW_YORK, at(2026, 11, 1, tz=NEW_YORK),
     at(2026, 11, 2, tz=NEW_YORK), 1.5 * H),
    # A start in the spring-forward gap (02:30) maps with fold=0 to 03:30 EDT.
    ("ny spring gap start", {6: [(150, 240)]}, NEW_YORK, at(2026, 3, 8, tz=NEW_YORK),
     at(2026, 3, 9, tz=NEW_YORK), 0.5 * H),
]  # fmt: skip


@pytest.mark.parametrize(
    ("hours", "tz", "start", "end", "expected"),
    [case[1:] for case in BUSINESS_SECONDS_CASES],
    ids=[case[0] for case in BUSINESS_SECONDS_CASES],
)
def test_business_seconds__hand_computed(
    hours: WeeklyHours, tz: str, start: float, end: float, expected: float
) -> None:
    assert BusinessCalendar("c", tz, hours).business_seconds(start, end) == expected


# (hours, start, business seconds, reach, breach), all in Berlin.
INSTANT_CASES = [
    ("used up at end of day", OFFICE, at(2026, 1, 5, 9), 8 * H,
     at(2026, 1, 5, 17), at(2026, 1, 6, 9)),
    ("used up at end of week", OFFICE, at(2026, 1, 9, 13), 4 * H,
     at(2026, 1, 9, 17), at(2026, 1, 12, 9)),
    ("mid-day", OFFICE, at(2026, 1, 5, 9), 4 * H, at(2026, 1, 5, 13), at(2026, 1, 5, 13)),
    ("zero on saturday", OFFICE, at(2026, 1, 3, 12), 0.0, at(2026, 1, 3, 12), at(2026, 1, 5, 9)),
    ("zero while open", OFFICE, at(2026, 1, 6, 10), 0.0, at(2026, 1, 6, 10), at(2026, 1, 6, 10)),
    ("zero at closing", OFFICE, at(2026, 1, 6, 17), 0.0, at(2026, 1, 6, 17), at(2026, 1, 7, 9)),
    ("from saturday", OFFICE, at(2026, 1, 3, 12), 1 * H, at(2026, 1, 5, 10), at(2026, 1, 5, 10)),
    ("from 03:00", OFFICE, at(2026, 1, 6, 3), 8 * H, at(2026, 1, 6, 17), at(2026, 1, 7, 9)),
    ("156 weeks", OFFICE, at(2026, 1, 5, 9), 156 * 40 * H,
     at(2028, 12, 29, 17), at(2029, 1, 1, 9)),
    # Merged across midnight: 24 h on weekdays has no break at midnight, only at the weekend.
    ("24h over midnight", WEEKDAYS_24H, at(2026, 1, 5, 12), 12 * H,
     at(2026, 1, 6), at(2026, 1, 6)),
    ("24h to saturday", WEEKDAYS_24H, at(2026, 1, 5), 120 * H, at(2026, 1, 10), at(2026, 1, 12)),
    # Adjacent night and day shifts merge: no break at 06:00.
    ("night then day", {0: [(1320, 360)], 1: [(360, 840)]}, at(2026, 1, 5, 22), 8 * H,
     at(2026, 1, 6, 6), at(2026, 1, 6, 6)),
    ("night then day end", {0: [(1320, 360)], 1: [(360, 840)]}, at(2026, 1, 5, 22), 16 * H,
     at(2026, 1, 6, 14), at(2026, 1, 12, 22)),
    ("over spring change", EVERY_DAY_OFFICE, at(2026, 3, 28, 9), 12 * H,
     at(2026, 3, 29, 13), at(2026, 3, 29, 13)),
    ("night over fall change", EARLY, at(2026, 10, 25), 7 * H,
     at(2026, 10, 25, 6), at(2026, 10, 26)),
]  # fmt: skip


@pytest.mark.parametrize(
    ("hours", "start", "business", "reach", "breach"),
    [case[1:] for case in INSTANT_CASES],
    ids=[case[0] for case in INSTANT_CASES],
)
def test_reach_and_breach__hand_computed(
    hours: WeeklyHours, start: float, business: float, reach: float, breach: float
) -> None:
    cal = BusinessCalendar("c", BERLIN, hours)
    assert (cal.reach_instant(start, business), cal.breach_instant(start, business)) == (
        reach,
        breach,
    )


def test_reach_instant__negative_target_is_refused() -> None:
    with pytest.raises(ValueError, match="business seconds"):
        office().reach_instant(at(2026, 1, 5), -1.0)
    with pytest.raises(ValueError, match="business seconds"):
        AlwaysOpen().breach_instant(0.0, float("nan"))


# -- holidays ------------------------------------------------------------------------------

XMAS = date(2026, 12, 25)  # a Friday


def test_holidays__explicit_date_is_removed() -> None:
    cal = office(holidays=[XMAS])
    assert cal.business_seconds(at(2026, 12, 24, 9), at(2026, 12, 28, 17)) == 16 * H
    assert cal.breach_instant(at(2026, 12, 24, 9), 8 * H) == at(2026, 12, 28, 9)
    assert cal.reach_instant(at(2026, 12, 24, 12), 6 * H) == at(2026, 12, 28, 10)


def test_holidays__callable_is_asked_lazily_per_year() -> None:
    asked: list[int] = []

    def christmas(year: int) -> Iterable[date]:
        asked.append(year)
        return [date(year, 12, 25)]

    cal = office(holidays=christmas)
    assert asked == []
    assert cal.business_seconds(at(2026, 12, 24, 9), at(2026, 12, 28, 17)) == 16 * H
    assert set(asked) <= {2025, 2026, 2027, 2028}
    assert len(asked) == len(set(asked))
    assert cal.business_seconds(at(2031, 12, 24, 9), at(2031, 12, 30, 17)) == 32 * H  # Thu 25th off
    assert 2040 not in asked


def test_holidays__removes_after_midnight_part_of_night_shift() -> None:
    # Tue 2026-01-06 22:00 -> Wed 06:00: the Wednesday holiday takes 00:00-06:00 and its own night.
    cal = BusinessCalendar("nights", BERLIN, NIGHTS, [date(2026, 1, 7)])
    plain = BusinessCalendar("nights", BERLIN, NIGHTS)
    assert plain.business_seconds(at(2026, 1, 6, 12), at(2026, 1, 8, 12)) == 16 * H
    assert cal.business_seconds(at(2026, 1, 6, 12), at(2026, 1, 8, 12)) == 8 * H
    assert cal.breach_instant(at(2026, 1, 6, 22), 2 * H) == at(2026, 1, 8)


def test_holidays__next_monday_holiday_moves_breach_to_tuesday() -> None:
    cal = office(holidays=[date(2026, 1, 12)])
    assert cal.breach_instant(at(2026, 1, 9, 13), 4 * H) == at(2026, 1, 13, 9)


def test_holidays__ten_years_without_working_time_is_an_error() -> None:
    def every_day(year: int) -> Iterable[date]:
        day = date(year, 1, 1)
        while day.year == year:
            yield day
            day += timedelta(days=1)

    cal = office(holidays=every_day)
    assert cal.business_seconds(at(2026, 1, 1), at(2026, 2, 1)) == 0.0
    with pytest.raises(CalendarError, match="no working time in the 10 years"):
        cal.reach_instant(at(2026, 1, 1), 1.0)
    with pytest.raises(CalendarError, match="no working time"):
        cal.breach_instant(at(2026, 1, 1), 0.0)


# -- lazy extension ------------------------------------------------------------------------


def test_business_seconds__far_instants_in_both_directions() -> None:
    cal = office(holidays=lambda year: [date(year, 12, 25)])
    week = (at(2026, 1, 5), at(2026, 1, 12))
    assert cal.business_seconds(*week) == 40 * H
    assert cal.business_seconds(at(2027, 6, 7), at(2027, 6, 14)) == 40 * H  # forward
    assert cal.business_seconds(at(2024, 9, 2), at(2024, 9, 9)) == 40 * H  # backward
    assert cal.business_seconds(at(1995, 1, 2), at(1995, 1, 9)) == 40 * H  # far back
    assert cal.business_seconds(at(2070, 1, 6), at(2070, 1, 13)) == 40 * H  # far ahead
    assert cal.business_seconds(*week) == 40 * H
    # One span over many years equals the sum of its parts, asked of a fresh calendar.
    edges = [at(y, 1, 1) for y in range(2018, 2037)]
    total = cal.business_seconds(edges[0], edges[-1])
    fresh = office(holidays=lambda year: [date(year, 12, 25)])
    parts = [fresh.business_seconds(a, b) for a, b in reversed(list(itertools.pairwise(edges)))]
    assert total == sum(parts)
    assert cal.reach_instant(edges[0], total) == at(2035, 12, 31, 17)


def test_business_seconds__instant_out_of_range_is_an_error() -> None:
    with pytest.raises(CalendarError, match="out of range"):
        office().business_seconds(0.0, 1e18)
    with pytest.raises(CalendarError, match="200 years"):
        office().business_seconds(at(1900, 1, 1), at(2200, 1, 1))


# -- AlwaysOpen, protocol, repr ------------------------------------------------------------


def test_always_open__every_second_counts() -> None:
    cal = AlwaysOpen()
    assert cal.name == "24x7"
    assert cal.business_seconds(10.0, 25.5) == 15.5
    assert cal.business_seconds(25.0, 10.0) == 0.0
    assert cal.reach_instant(100.0, 50.0) == cal.breach_instant(100.0, 50.0) == 150.0
    assert cal.reach_instant(100.0, 0.0) == cal.breach_instant(100.0, 0.0) == 100.0
    assert AlwaysOpen("all").name == "all"


def test_calendar__both_kinds_satisfy_the_protocol() -> None:
    calendars: list[Calendar] = [AlwaysOpen(), office()]
    assert all(isinstance(c, Calendar) for c in calendars)
    assert [c.name for c in calendars] == ["24x7", "office"]


def test_business_calendar__repr_is_readable() -> None:
    cal = BusinessCalendar("eu", BERLIN, {0: [(540, 1020)], 6: [(1320, 360)]}, [XMAS])
    assert repr(cal) == (
        "BusinessCalendar('eu', 'Europe/Berlin', [mon 09:00-17:00, sun 22:00-06:00], "
        "holidays=1 dates)"
    )
    assert cal.timezone == BERLIN


# -- errors --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("hours", "message"),
    [
        ({0: [(540, 1020), (960, 1080)]}, "mon 09:00-17:00 overlaps mon 16:00-18:00"),
        ({0: [(1320, 360)], 1: [(300, 600)]}, "mon 22:00-06:00 overlaps tue 05:00-10:00"),
        ({6: [(1320, 360)], 0: [(300, 540)]}, "sun 22:00-06:00 overlaps mon 05:00-09:00"),
        ({2: [(0, 1440), (600, 660)]}, "wed 00:00-24:00 overlaps wed 10:00-11:00"),
        ({3: [(600, 600)], 4: [(540, 541)]}, "thu 10:00-10:00 overlaps fri 09:00-09:01"),
        ({}, "no working hours"),
        ({0: [], 3: []}, "no working hours"),
        ({7: [(540, 1020)]}, "weekday must be"),
        ({0: [(-1, 1020)]}, "0 <= start < 1440"),
        ({0: [(1440, 60)]}, "0 <= start < 1440"),
        ({0: [(540, 0)]}, "0 < end <= 1440"),
        ({0: [(540, 1441)]}, "0 < end <= 1440"),
        ({0: [(540.0, 1020)]}, "ints"),
        ({0: [(540, 1020, 1)]}, "ints"),
    ],
)
def test_business_calendar__bad_hours_are_refused(hours: WeeklyHours, message: str) -> None:
    with pytest.raises(CalendarError, match=re.escape(message)):
        BusinessCalendar("bad", BERLIN, hours)


def test_business_calendar__touching_intervals_are_fine_and_merge() -> None:
    # Sun 22:00-09:00 touches Mon 09:00-12:00, which touches Mon 12:00-17:00.
    cal = BusinessCalendar("c", BERLIN, {0: [(540, 720), (720, 1020)], 6: [(1320, 540)]})
    assert cal.business_seconds(at(2026, 1, 4), at(2026, 1, 6)) == 19 * H
    assert cal.breach_instant(at(2026, 1, 4, 22), 11 * H) == at(2026, 1, 5, 9)
    assert cal.breach_instant(at(2026, 1, 5, 9), 3 * H) == at(2026, 1, 5, 12)
    assert cal.breach_instant(at(2026, 1, 4, 22), 19 * H) == at(2026, 1, 11, 22)


@pytest.mark.parametrize("tz", ["Mars/Olympus_Mons", "", "Europe", "../etc/passwd", "/etc/x"])
def test_business_calendar__unknown_timezone_is_named(tz: str) -> None:
    with pytest.raises(CalendarError, match=f"unknown timezone {tz!r}"):
        BusinessCalendar("bad", tz, OFFICE)


# -- properties ----------------------------------------------------------------------------

ZONES = ["UTC", BERLIN, NEW_YORK, "Asia/Kolkata", "Australia/Lord_Howe", "America/Santiago"]
# Instants near DST changes and holidays are where calendars go wrong.
ANCHORS = [at(2026, 3, 27), at(2026, 10, 23), at(2026, 3, 6, tz=NEW_YORK),
           at(2026, 10, 30, tz=NEW_YORK), at(2026, 12, 22), at(2026, 4, 3)]  # fmt: skip
LO, HI = at(2000, 1, 1), at(2040, 1, 1)


@st.composite
def weekly_hours(draw: st.DrawFn, step: int = 30) -> dict[int, list[tuple[int, int]]]:
    """Non-overlapping intervals on a grid of ``step`` minutes, some past midnight."""
    slots = 7 * 1440 // step
    taken = [False] * slots
    hours: dict[int, list[tuple[int, int]]] = {}
    for _ in range(draw(st.integers(1, 12))):
        first = draw(st.integers(0, slots - 1))
        length = draw(st.integers(1, 1440 // step))
        span = [(first + k) % slots for k in range(length)]
        if any(taken[s] for s in span):
            continue
        for s in span:
            taken[s] = True
        start = first * step % 1440
        end = (start + length * step) % 1440 or 1440
        hours.setdefault(first * step // 1440, []).append((start, end))
    return hours


@st.composite
def instants(draw: st.DrawFn, minutes: bool = False) -> float:
    if draw(st.booleans()):
        anchor, spread = draw(st.sampled_from(ANCHORS)), 6 * 86400.0
    else:
        anchor, spread = LO, HI - LO
    if minutes:
        return anchor + 60 * draw(st.integers(0, int(spread) // 60))
    return anchor + draw(st.floats(0, spread, allow_nan=False))


CalendarArgs = tuple[str, dict[int, list[tuple[int, int]]], list[date]]


@st.composite
def calendar_args(draw: st.DrawFn) -> CalendarArgs:
    hours = draw(weekly_hours())
    holidays = draw(st.lists(st.dates(date(2026, 3, 1), date(2026, 12, 31)), max_size=30))
    return draw(st.sampled_from(ZONES)), hours, holidays


def calendars() -> st.SearchStrategy[BusinessCalendar]:
    return calendar_args().map(lambda args: BusinessCalendar("prop", *args))


targets = st.floats(0, 300 * H, allow_nan=False)
spans = st.floats(0, 20 * 86400, allow_nan=False)


@settings(max_examples=150, deadline=None)
@given(calendars(), instants(), targets)
def test_reach_instant__property_elapsed_equals_target(
    cal: BusinessCalendar, start: float, x: float
) -> None:
    reach = cal.reach_instant(start, x)
    assert reach >= start
    assert cal.business_seconds(start, reach) == pytest.approx(x, abs=1e-6)
    if reach - 1e-3 >= start and x > 0:
        assert cal.business_seconds(start, reach - 1e-3) < x


@settings(max_examples=150, deadline=None)
@given(calendars(), instants(), targets)
def test_breach_instant__property_is_the_last_instant_at_target(
    cal: BusinessCalendar, start: float, x: float
) -> None:
    breach = cal.breach_instant(start, x)
    assert breach >= cal.reach_instant(start, x)
    assert cal.business_seconds(start, breach) == pytest.approx(x, abs=1e-6)
    assert cal.business_seconds(start, breach + 1.0) > x


@settings(max_examples=150, deadline=None)
@given(calendars(), instants(), spans, spans)
def test_business_seconds__property_additive_and_monotone(
    cal: BusinessCalendar, a: float, d1: float, d2: float
) -> None:
    b, c = a + d1, a + d1 + d2
    ab, bc, ac = cal.business_seconds(a, b), cal.business_seconds(b, c), cal.business_seconds(a, c)
    assert ab + bc == pytest.approx(ac, abs=1e-6)
    assert 0 <= ab <= ac <= c - a + 1e-6
    assert cal.business_seconds(c, a) == 0.0


def slow_working_minutes(
    zone: ZoneInfo, hours: WeeklyHours, holidays: set[date], start: int, end: int
) -> list[bool]:
    """Minute by minute: is this minute's local wall time inside the hours, on a working date?"""

    def working(weekday: int, minute: int) -> bool:
        for s, e in hours.get(weekday, ()):
            if (s < e and s <= minute < e) or (e <= s and minute >= s):
                return True
        return any(e <= s and minute < e for s, e in hours.get((weekday - 1) % 7, ()))

    flags = []
    for m in range(start, end, 60):
        local = datetime.fromtimestamp(m, zone)
        minute = local.hour * 60 + local.minute
        flags.append(local.date() not in holidays and working(local.weekday(), minute))
    return flags


@settings(max_examples=100, deadline=None)
@given(
    weekly_hours(step=60),  # whole hours: the wall-clock reading agrees with fold=0 at changes
    st.sampled_from(ZONES[:5]),
    st.lists(st.dates(date(2026, 3, 1), date(2026, 12, 31)), max_size=40),
    instants(minutes=True),
    st.integers(0, 4 * 1440),
    st.integers(0, 3 * 1440),
)
def test_business_seconds__property_matches_minute_by_minute_reference(
    hours: dict[int, list[tuple[int, int]]],
    tz: str,
    holidays: list[date],
    start: float,
    span_min: int,
    x_min: int,
) -> None:
    cal = BusinessCalendar("ref", tz, hours, holidays)
    end = int(start) + 60 * span_min
    flags = slow_working_minutes(ZoneInfo(tz), hours, set(holidays), int(start), end)
    assert cal.business_seconds(start, end) == 60 * sum(flags)
    # The reference's reach and breach within the span, for a whole-minute target.
    x, acc = 60 * x_min, 0
    reach = breach = None
    for m, works in zip(range(int(start), end, 60), flags, strict=True):
        if works and acc == x and breach is None:
            breach = m
        acc += 60 if works else 0
        if acc == x and reach is None:
            reach = m + 60
    if x == 0:
        reach = int(start)
    if reach is not None:
        assert cal.reach_instant(start, x) == reach
    if breach is not None:
        assert cal.breach_instant(start, x) == breach


@settings(max_examples=60, deadline=None)
@given(
    calendar_args(),
    st.lists(st.tuples(st.floats(at(1990, 1, 1), at(2060, 1, 1)), spans, targets), max_size=8),
)
def test_business_calendar__property_answers_do_not_depend_on_what_was_asked_before(
    args: CalendarArgs, questions: list[tuple[float, float, float]]
) -> None:
    # One calendar answers questions years apart (extending or restarting its range); each
    # answer must match a fresh calendar's.
    cal = BusinessCalendar("shared", *args)
    for start, span, x in questions:
        fresh = BusinessCalendar("fresh", *args)
        got = cal.business_seconds(start, start + span)
        assert got == pytest.approx(fresh.business_seconds(start, start + span), abs=1e-6)
        assert cal.reach_instant(start, x) == pytest.approx(fresh.reach_instant(start, x), abs=1e-6)
        got = cal.breach_instant(start, x)
        assert got == pytest.approx(fresh.breach_instant(start, x), abs=1e-6)
