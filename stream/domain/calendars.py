"""Business calendars: how much working time lies between two instants, and when a target is met."""

from __future__ import annotations

import bisect
import itertools
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import date, datetime
from typing import Protocol, runtime_checkable
from zoneinfo import ZoneInfo

# weekday 0=Monday..6=Sunday -> working intervals in local minutes since midnight. An interval
# whose end is not after its start runs past midnight into the next day: (1320, 360) is 22:00-06:00.
WeeklyHours = Mapping[int, Sequence[tuple[int, int]]]

DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_DAY_MIN = 1440
_WEEK_MIN = 7 * _DAY_MIN
_CHUNK_DAYS = 366  # the covered range grows by about a year at a time
_FAR_DAYS = 2 * 366  # a question this far outside the covered range starts a fresh range
_MAX_SPAN_DAYS = 200 * 366  # bounds the memory one calendar can take
_EMPTY_HORIZON_S = 10 * 366 * 86400.0  # no working time this long ahead: the calendar is unusable


class CalendarError(ValueError):
    """A calendar that cannot be built or cannot answer (bad timezone or hours, no working time)."""


@runtime_checkable
class Calendar(Protocol):
    """What SLA clocks need from a calendar; all instants are UTC epoch seconds."""

    name: str

    def business_seconds(self, start_s: float, end_s: float) -> float:
        """Working seconds in [start_s, end_s]; 0 when end_s <= start_s."""

    def reach_instant(self, start_s: float, business_s: float) -> float:
        """Earliest instant by which ``business_s`` working seconds have elapsed since start_s."""

    def breach_instant(self, start_s: float, business_s: float) -> float:
        """Instant from which elapsed working time strictly exceeds ``business_s``."""


def _check_target(business_s: float) -> None:
    if not 0 <= business_s < float("inf"):
        raise ValueError(f"business seconds must be finite and >= 0, got {business_s!r}")


class AlwaysOpen:
    """The built-in "24x7" calendar, where every second is a working second."""

    def __init__(self, name: str = "24x7") -> None:
        self.name = name

    def business_seconds(self, start_s: float, end_s: float) -> float:
        """Working seconds in [start_s, end_s]; 0 when end_s <= start_s."""
        return max(0.0, end_s - start_s)

    def reach_instant(self, start_s: float, business_s: float) -> float:
        """Earliest instant by which ``business_s`` seconds have elapsed: start_s + business_s."""
        _check_target(business_s)
        return start_s + business_s

    def breach_instant(self, start_s: float, business_s: float) -> float:
        """With no closed time, a target is breached right as it is used up."""
        _check_target(business_s)
        return start_s + business_s

    def __repr__(self) -> str:
        return f"AlwaysOpen({self.name!r})"


def _hhmm(minute: int) -> str:
    return f"{minute // 60:02d}:{minute % 60:02d}"


def _week_intervals(hours: WeeklyHours) -> list[tuple[int, int, str]]:
    """Validate ``hours`` into week-minute pieces (wrapping Sunday into Monday), sorted by start.

    Raises:
        CalendarError: bad weekday or minutes, overlapping intervals, or no working time at all.
    """
    pieces: list[tuple[int, int, str]] = []
    for weekday, spans in hours.items():
        if type(weekday) is not int or not 0 <= weekday <= 6:
            raise CalendarError(f"weekday must be 0 (Monday) to 6 (Sunday), got {weekday!r}")
        for span in spans:
            start, end = span if len(span) == 2 else (None, None)
            if type(start) is not int or type(end) is not int:
                raise CalendarError(f"{DAY_NAMES[weekday]}: need (start, end) ints, got {span!r}")
            if not (0 <= start < _DAY_MIN and 0 < end <= _DAY_MIN):
                day = DAY_NAMES[weekday]
                raise CalendarError(f"{day}: need 0 <= start < 1440, 0 < end <= 1440, got {span!r}")
            label = f"{DAY_NAMES[weekday]} {_hhmm(start)}-{_hhmm(end)}"
            lo = weekday * _DAY_MIN + start
            hi = lo + (end - start if end > start else end + _DAY_MIN - start)
            pieces.append((lo, min(hi, _WEEK_MIN), label))
            if hi > _WEEK_MIN:
                pieces.append((0, hi - _WEEK_MIN, label))
    if not pieces:
        raise CalendarError("the week has no working hours")
    pieces.sort()
    reach, reach_label = -1, ""
    for lo, hi, label in pieces:
        if lo < reach:
            raise CalendarError(f"{reach_label} overlaps {label}")
        if hi > reach:
            reach, reach_label = hi, label
    return pieces


def _day_pieces(pieces: list[tuple[int, int, str]]) -> tuple[list[tuple[int, int]], ...]:
    """Cut week pieces at local midnights, so that each part belongs to exactly one local date."""
    days: tuple[list[tuple[int, int]], ...] = tuple([] for _ in range(7))
    for lo, hi, _ in pieces:
        while lo < hi:
            day = lo // _DAY_MIN
            cut = min(hi, (day + 1) * _DAY_MIN)
            part = (lo - day * _DAY_MIN, cut - day * _DAY_MIN)
            if days[day] and days[day][-1][1] == part[0]:  # touching: one conversion fewer
                days[day][-1] = (days[day][-1][0], part[1])
            else:
                days[day].append(part)
            lo = cut
    return days


class BusinessCalendar:
    """Working hours of a week in a timezone, minus holidays, answered exactly and fast.

    Working time is kept as a sorted list of merged UTC intervals with prefix sums of their
    durations, for a range of local dates that grows lazily (by about a year, backward or
    forward) when a question falls outside it; every answer is then one or two bisects.

    Holidays remove all working time that falls on that local calendar date (00:00-24:00
    local), including the after-midnight part of a night shift that began the day before,
    because that is the day people are off. A callable is asked lazily per year (and for the
    neighbouring years, so an "observed" date spilling across New Year is honoured).

    Local intervals become UTC instants per local date, so 09:00-17:00 stays 09:00-17:00 local
    across daylight-saving changes, and an interval spanning a change lasts the real time
    between its ends (00:00-06:00 is 5 h on a spring-forward night, 7 h on a fall-back one).
    Local times are mapped as zoneinfo maps them with fold=0: an ambiguous time is its first
    occurrence; a time in a spring-forward gap takes the offset from before the change, which
    puts it that far after the change (Berlin 02:30 on 2026-03-29 is 03:30 CEST). Parts that
    come out empty are dropped and overlapping ones united.
    """

    def __init__(
        self,
        name: str,
        timezone: str,
        hours: WeeklyHours,
        holidays: Callable[[int], Iterable[date]] | Iterable[date] = (),
    ) -> None:
        self.name = name
        self.timezone = timezone
        try:
            self._zone = ZoneInfo(timezone)
        except (LookupError, ValueError, TypeError, OSError) as exc:
            raise CalendarError(f"calendar {name!r}: unknown timezone {timezone!r}") from exc
        try:
            pieces = _week_intervals(hours)
        except CalendarError as exc:
            raise CalendarError(f"calendar {name!r}: {exc}") from exc
        labels = {label for _, _, label in pieces}
        self._labels = sorted(labels, key=lambda label: (DAY_NAMES.index(label[:3]), label))
        self._days = _day_pieces(pieces)
        self._holiday_fn: Callable[[int], Iterable[date]] | None = None
        self._holidays: set[date] = set()
        self._holiday_years: set[int] = set()  # years the callable was asked about
        self._holiday_ready: set[int] = set()  # years whose neighbours were asked about too
        if callable(holidays):
            self._holiday_fn = holidays
        else:
            self._holidays = {date(d.year, d.month, d.day) for d in holidays}
        self._reset()

    def __repr__(self) -> str:
        if self._holiday_fn is not None:
            hol = f"<per-year {getattr(self._holiday_fn, '__name__', 'callable')}>"
        else:
            hol = f"{len(self._holidays)} dates"
        hours = ", ".join(self._labels)
        return f"BusinessCalendar({self.name!r}, {self.timezone!r}, [{hours}], holidays={hol})"

    def business_seconds(self, start_s: float, end_s: float) -> float:
        """Working seconds in [start_s, end_s]; 0 when end_s <= start_s."""
        if not end_s > start_s:
            return 0.0
        if start_s < self._lo_s or end_s > self._hi_s:
            self._cover(start_s, end_s)
        return self._elapsed(end_s) - self._elapsed(start_s)

    def reach_instant(self, start_s: float, business_s: float) -> float:
        """Earliest t >= start_s with business_seconds(start_s, t) >= business_s: "at risk from"."""
        _check_target(business_s)
        if business_s == 0:
            return start_s
        base, target = self._target(start_s, business_s, strict=False)
        # A target too small to change the sum behaves as 0+: the first working instant on.
        find = bisect.bisect_left if target > base else bisect.bisect_right
        j = find(self._prefix, target) - 1
        return max(start_s, self._starts[j] + (target - self._prefix[j]))

    def breach_instant(self, start_s: float, business_s: float) -> float:
        """Instant from which elapsed working time strictly exceeds ``business_s``.

        A target used up exactly at the end of working hours breaches when working hours
        resume, so this is then the start of the next working interval; for 0 it is the first
        working instant at or after start_s.
        """
        _check_target(business_s)
        _, target = self._target(start_s, business_s, strict=True)
        j = bisect.bisect_right(self._prefix, target) - 1
        return max(start_s, self._starts[j] + (target - self._prefix[j]))

    # -- the covered range --------------------------------------------------------------

    def _reset(self) -> None:
        self._lo = self._hi = 0  # covered local dates [lo, hi) as ordinals; empty
        self._lo_s, self._hi_s = float("inf"), float("-inf")
        self._starts: list[float] = []
        self._ends: list[float] = []
        self._prefix: list[float] = [0.0]  # working seconds before interval i; last: total

    def _elapsed(self, t: float) -> float:
        """Working seconds from the start of the covered range to ``t`` (which it must cover)."""
        i = bisect.bisect_right(self._starts, t) - 1
        if i < 0:
            return 0.0
        return self._prefix[i] + (min(t, self._ends[i]) - self._starts[i])

    def _target(self, start_s: float, business_s: float, strict: bool) -> tuple[float, float]:
        """F(start_s) and F(start_s) + business_s, covering enough time for the total to pass it."""
        if not self._lo_s <= start_s <= self._hi_s:
            self._cover(start_s, start_s)
        base = self._elapsed(start_s)
        target = base + business_s
        while self._prefix[-1] < target or (strict and self._prefix[-1] == target):
            last = max(self._ends[-1] if self._ends else start_s, start_s)
            if self._hi_s - last > _EMPTY_HORIZON_S:
                raise CalendarError(
                    f"calendar {self.name!r}: no working time in the 10 years after "
                    f"{datetime.fromtimestamp(last, self._zone).isoformat()}"
                )
            self._extend(self._lo, self._hi + _CHUNK_DAYS)
        return base, target

    def _cover(self, start_s: float, end_s: float) -> None:
        lo, hi = self._day_of(start_s) - 1, self._day_of(end_s) + 2
        if self._lo == self._hi or lo > self._hi + _FAR_DAYS or hi < self._lo - _FAR_DAYS:
            self._reset()
            self._lo = self._hi = lo
        new_lo = min(lo, self._lo - _CHUNK_DAYS) if lo < self._lo else self._lo
        new_hi = max(hi, self._hi + _CHUNK_DAYS) if hi > self._hi else self._hi
        self._extend(new_lo, new_hi)

    def _day_of(self, t: float) -> int:
        try:
            return datetime.fromtimestamp(t, self._zone).toordinal()
        except (OverflowError, ValueError, OSError) as exc:
            raise CalendarError(f"calendar {self.name!r}: instant {t!r} out of range") from exc

    def _extend(self, lo: int, hi: int) -> None:
        """Grow the covered local dates to [lo, hi), which must contain the current range."""
        if hi - lo > _MAX_SPAN_DAYS:
            raise CalendarError(f"calendar {self.name!r}: more than 200 years asked about at once")
        try:
            pieces = [*self._pieces(lo, self._lo), *zip(self._starts, self._ends, strict=True)]
            pieces += self._pieces(self._hi, hi)
            lo_s, hi_s = self._local_s(lo, 0), self._local_s(hi, 0)
        except (OverflowError, ValueError) as exc:
            raise CalendarError(f"calendar {self.name!r}: dates out of range") from exc
        pieces.sort()
        starts: list[float] = []
        ends: list[float] = []
        for s, e in pieces:
            if starts and s <= ends[-1]:
                ends[-1] = max(ends[-1], e)
            else:
                starts.append(s)
                ends.append(e)
        durations = (e - s for s, e in zip(starts, ends, strict=True))
        self._starts, self._ends = starts, ends
        self._prefix = list(itertools.accumulate(durations, initial=0.0))
        self._lo, self._hi, self._lo_s, self._hi_s = lo, hi, lo_s, hi_s

    def _pieces(self, lo: int, hi: int) -> list[tuple[float, float]]:
        """Working intervals (UTC) of the local dates [lo, hi), holidays left out."""
        out: list[tuple[float, float]] = []
        for ordinal in range(lo, hi):
            day = date.fromordinal(ordinal)
            if day in self._holidays_of(day.year):
                continue
            for a, b in self._days[day.weekday()]:
                s, e = self._local_s(ordinal, a), self._local_s(ordinal, b)
                if e > s:
                    out.append((s, e))
        return out

    def _local_s(self, ordinal: int, minute: int) -> float:
        day = date.fromordinal(ordinal + minute // _DAY_MIN)
        h, m = divmod(minute % _DAY_MIN, 60)
        return datetime(day.year, day.month, day.day, h, m, tzinfo=self._zone).timestamp()

    def _holidays_of(self, year: int) -> set[date]:
        if self._holiday_fn is not None and year not in self._holiday_ready:
            for y in (year - 1, year, year + 1):
                if y not in self._holiday_years and 1 <= y <= 9999:
                    self._holiday_years.add(y)
                    self._holidays.update(date(d.year, d.month, d.day) for d in self._holiday_fn(y))
            self._holiday_ready.add(year)
        return self._holidays
