"""A `[calendars.NAME]` table of the policy file turned into a business calendar."""

from __future__ import annotations

import re
import zoneinfo
from collections.abc import Iterable
from datetime import date
from typing import Any, Final

import holidays

from stream.domain.calendars import BusinessCalendar, CalendarError

#: The keys a calendar table may have.
CALENDAR_KEYS: Final = ("timezone", "holidays", "holiday_country", "holiday_subdivision", "hours")
DAYS: Final = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")

_RANGE: Final = re.compile(r"(\d{1,2}):(\d{2})-(\d{1,2}):(\d{2})")
_RANGE_HINT: Final = (
    'use "HH:MM-HH:MM", e.g. "09:00-17:00"; "22:00-06:00" runs past midnight, '
    '"00:00-24:00" is the whole day'
)


class CalendarSpecError(ValueError):
    """A calendar table that cannot be used.

    Attributes:
        key: Where in the table, e.g. `("hours", "mon-fri")`.
        detail: What is wrong and what would be accepted.
    """

    def __init__(self, key: tuple[str, ...], detail: str) -> None:
        self.key, self.detail = key, detail
        super().__init__(f"{'.'.join(key)}: {detail}")


class Holidays:
    """Closed days of one calendar: explicit dates plus a country's public holidays.

    The calendar asks per year, so a long-running worker picks up next year's holidays
    without a reload; each year is computed once.
    """

    def __init__(self, dates: Iterable[date], country: str | None, subdivision: str | None) -> None:
        self._dates = frozenset(dates)
        self._country, self._subdivision = country, subdivision
        self._years: dict[int, frozenset[date]] = {}

    def __call__(self, year: int) -> frozenset[date]:
        """Return the closed local dates of `year`."""
        found = self._years.get(year)
        if found is None:
            found = frozenset(d for d in self._dates if d.year == year)
            if self._country is not None:
                public = holidays.country_holidays(
                    self._country, subdiv=self._subdivision, years=year
                )
                found |= frozenset(public.keys())
            self._years[year] = found
        return found


def build_calendar(name: str, spec: dict[str, Any]) -> BusinessCalendar:
    """Build the calendar a (key-checked) `[calendars.NAME]` table describes.

    Raises:
        CalendarSpecError: A missing or malformed value, an unknown timezone or holiday
            country, or hours the calendar rejects (overlaps, an empty week).
    """
    timezone = _timezone(spec)
    dates = _dates(spec.get("holidays", []))
    country, subdivision = _country(spec)
    if "hours" not in spec:
        raise CalendarSpecError(("hours",), "missing (required): add [calendars.NAME.hours]")
    hours, named_by = _hours(spec["hours"])
    try:
        return BusinessCalendar(name, timezone, hours, Holidays(dates, country, subdivision))
    except CalendarError as exc:
        # "calendar 'x': mon 09:00-17:00 overlaps mon 16:00-18:00": point at the second day.
        detail = str(exc).removeprefix(f"calendar {name!r}: ")
        days = re.findall(rf"\b({'|'.join(DAYS)}) \d", detail)
        key = ("hours", named_by[DAYS.index(days[-1])]) if days else ("hours",)
        raise CalendarSpecError(key, detail) from exc


def _timezone(spec: dict[str, Any]) -> str:
    if "timezone" not in spec:
        raise CalendarSpecError(("timezone",), 'missing (required): an IANA name, e.g. "UTC"')
    name = spec["timezone"]
    if not isinstance(name, str):
        raise CalendarSpecError(("timezone",), f"expected a string, got {name!r}")
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise CalendarSpecError(
            ("timezone",), f'unknown timezone {name!r}: use an IANA name, e.g. "Europe/Berlin"'
        ) from None
    return name


def _dates(raw: Any) -> list[date]:
    if not isinstance(raw, list):
        raise CalendarSpecError(("holidays",), 'expected an array of dates, e.g. ["2026-12-24"]')
    dates = []
    for value in raw:
        if type(value) is date:  # a TOML local date, written unquoted: 2026-12-24
            dates.append(value)
            continue
        try:
            if not isinstance(value, str) or not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
                raise ValueError(value)
            dates.append(date.fromisoformat(value))
        except ValueError:
            raise CalendarSpecError(
                ("holidays",), f'bad date {value!r}: use "YYYY-MM-DD", e.g. "2026-12-24"'
            ) from None
    return dates


def _country(spec: dict[str, Any]) -> tuple[str | None, str | None]:
    """Check the holiday country and subdivision against the `holidays` library."""
    country, subdivision = spec.get("holiday_country"), spec.get("holiday_subdivision")
    for key, value in (("holiday_country", country), ("holiday_subdivision", subdivision)):
        if value is not None and not isinstance(value, str):
            raise CalendarSpecError((key,), f"expected a string, got {value!r}")
    if country is None:
        if subdivision is not None:
            raise CalendarSpecError(("holiday_subdivision",), "needs holiday_country as well")
        return None, None
    supported = holidays.list_supported_countries()
    if country not in supported:
        raise CalendarSpecError(
            ("holiday_country",),
            f"unknown country {country!r}: use an ISO 3166-1 alpha-2 code the holidays "
            "library supports, e.g. DE, GB, US",
        )
    if subdivision is not None and subdivision not in supported[country]:
        known = ", ".join(supported[country]) or "none"
        raise CalendarSpecError(
            ("holiday_subdivision",),
            f"{country} has no subdivision {subdivision!r}; known: {known}",
        )
    try:
        holidays.country_holidays(country, subdiv=subdivision)
    except (NotImplementedError, ValueError, KeyError) as exc:
        raise CalendarSpecError(("holiday_country",), f"not usable: {exc}") from None
    return country, subdivision


def _hours(raw: Any) -> tuple[dict[int, list[tuple[int, int]]], dict[int, str]]:
    """Return the intervals per weekday, and which key named each day."""
    if not isinstance(raw, dict):
        raise CalendarSpecError(("hours",), "expected a table [calendars.NAME.hours]")
    hours: dict[int, list[tuple[int, int]]] = {}
    named_by: dict[int, str] = {}
    for key, ranges in raw.items():
        for day in _days(key):
            if day in named_by:
                raise CalendarSpecError(
                    ("hours", key), f"{DAYS[day]} named twice: by {named_by[day]} and by {key}"
                )
            named_by[day] = key
            if not isinstance(ranges, list):
                raise CalendarSpecError(
                    ("hours", key), f"expected an array of ranges; {_RANGE_HINT}"
                )
            hours[day] = [_range(key, r) for r in ranges]
    return hours, named_by


def _days(key: str) -> list[int]:
    """Expand `mon`, or a range such as `mon-fri` (`fri-mon` wraps over the weekend)."""
    ends = key.split("-")
    if len(ends) > 2 or any(end not in DAYS for end in ends):
        raise CalendarSpecError(
            ("hours", key), f"bad day {key!r}: use {', '.join(DAYS)} or a range such as mon-fri"
        )
    start, stop = DAYS.index(ends[0]), DAYS.index(ends[-1])
    return [(start + i) % 7 for i in range((stop - start) % 7 + 1)]


def _range(key: str, text: Any) -> tuple[int, int]:
    """Parse "HH:MM-HH:MM" into local minutes of the day (the end may be 24:00)."""
    found = _RANGE.fullmatch(text) if isinstance(text, str) else None
    if found is None:
        raise CalendarSpecError(("hours", key), f"bad time range {text!r}: {_RANGE_HINT}")
    h1, m1, h2, m2 = (int(g) for g in found.groups())
    start, end = h1 * 60 + m1, h2 * 60 + m2
    if h1 > 23 or m1 > 59 or h2 > 24 or m2 > 59 or end > 1440:
        raise CalendarSpecError(("hours", key), f"bad time in {text!r}: {_RANGE_HINT}")
    if start == end:
        raise CalendarSpecError(("hours", key), f"{text!r} is empty or ambiguous: {_RANGE_HINT}")
    return start, end
