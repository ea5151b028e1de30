"""The SLA policy file: the shipped default, the format, and errors that point at line and key."""

from __future__ import annotations

import textwrap
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from stream.adapters.calendar_spec import Holidays
from stream.adapters.policy_file import (
    PolicyFileError,
    default_policy_path,
    load_policy_file,
    parse_policy_text,
)
from stream.domain.calendars import AlwaysOpen, BusinessCalendar
from stream.domain.policies import PolicySet

DEPLOY_FILE = Path(__file__).resolve().parents[2] / "deploy" / "sla" / "policies.toml"
HOUR = 3600.0


def toml(text: str) -> str:
    return textwrap.dedent(text).lstrip("\n")


def at(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> float:
    return datetime(year, month, day, hour, minute, tzinfo=UTC).timestamp()


def load(text: str) -> PolicySet:
    return parse_policy_text(toml(text))


MINIMAL = """
[[policy]]
name = "all"
calendar = "24x7"
[policy.targets]
first_reply = "1h"
"""


# -- the shipped default ------------------------------------------------------------------


def test_default_policy_path__is_a_relative_symlink_to_the_deploy_file() -> None:
    path = default_policy_path()
    assert path == Path(__file__).resolve().parents[2] / "stream" / "defaults" / "policies.toml"
    assert path.is_symlink()
    assert str(path.readlink()) == "../../deploy/sla/policies.toml"
    assert path.read_bytes() == DEPLOY_FILE.read_bytes()


def test_load_policy_file__default_has_the_expected_policies() -> None:
    policies = load_policy_file(default_policy_path())
    assert [p.name for p in policies] == ["urgent", "chat", "phone", "high", "standard"]
    urgent, chat, phone, high, standard = policies
    assert isinstance(urgent.calendar, AlwaysOpen)
    assert dict(urgent.targets) == {"first_reply": HOUR, "next_reply": 2 * HOUR,
                                    "resolution": 8 * HOUR}  # fmt: skip
    assert chat.targets["first_reply"] == 300.0
    assert phone.targets["first_reply"] == 120.0
    assert chat.calendar is phone.calendar
    assert high.calendar is standard.calendar
    assert isinstance(standard.calendar, BusinessCalendar)
    assert (standard.priorities, standard.queues, standard.channels) == (None, None, None)
    assert policies.select("billing", "urgent", "email") is urgent
    assert policies.select("billing", "normal", "chat") is chat
    assert policies.select("sales", "high", "phone") is phone
    assert policies.select("technical", "high", "email") is high
    assert policies.select("account", "low", "web") is standard


def test_load_policy_file__default_office_calendar_skips_weekends_and_holidays() -> None:
    office = load_policy_file(DEPLOY_FILE).select("billing", "normal", "email")
    assert office is not None
    cal = office.calendar
    # Monday 2026-03-02 (UTC = London time in winter): 08:00-18:00.
    assert cal.business_seconds(at(2026, 3, 2), at(2026, 3, 3)) == 10 * HOUR
    assert cal.business_seconds(at(2026, 3, 7), at(2026, 3, 9)) == 0.0  # the weekend
    assert cal.business_seconds(at(2026, 12, 25), at(2026, 12, 26)) == 0.0  # Christmas (GB)
    assert cal.business_seconds(at(2026, 12, 24), at(2026, 12, 25)) == 0.0  # explicit date


def test_load_policy_file__names_the_file_it_cannot_read(tmp_path: Path) -> None:
    missing = tmp_path / "nope.toml"
    with pytest.raises(PolicyFileError, match=r"nope\.toml: cannot read the policy file"):
        load_policy_file(missing)


def test_load_policy_file__reads_a_path_or_a_string(tmp_path: Path) -> None:
    path = tmp_path / "p.toml"
    path.write_text(toml(MINIMAL), encoding="utf-8")
    assert [p.name for p in load_policy_file(path)] == ["all"]
    assert [p.name for p in load_policy_file(str(path))] == ["all"]


# -- the format -----------------------------------------------------------------------------


def test_parse_policy_text__minimal_file() -> None:
    policies = parse_policy_text(toml(MINIMAL))
    assert isinstance(policies, PolicySet)
    (only,) = policies
    assert only.name == "all"
    assert dict(only.targets) == {"first_reply": HOUR}
    assert only.at_risk_within_s == 900.0
    assert only.calendar.name == "24x7"


def test_parse_policy_text__match_and_at_risk() -> None:
    policies = load("""
        [[policy]]
        name = "vip"
        calendar = "24x7"
        at_risk_within = "0s"
        [policy.match]
        priorities = ["high", "urgent"]
        queues = ["vip"]
        channels = ["phone"]
        [policy.targets]
        resolution = "1d12h"
    """)
    (vip,) = policies
    assert vip.priorities == frozenset({"high", "urgent"})
    assert vip.queues == frozenset({"vip"})
    assert vip.channels == frozenset({"phone"})
    assert vip.at_risk_within_s == 0.0
    assert dict(vip.targets) == {"resolution": 36 * HOUR}


def test_parse_policy_text__inline_and_dotted_tables_work_too() -> None:
    policies = load("""
        [[policy]]
        name = "a"
        calendar = "24x7"
        match.queues = ["x"]
        targets = { first_reply = "1h" }
    """)
    assert policies.select("x", "low", "email") is not None
    assert policies.select("y", "low", "email") is None


def test_parse_policy_text__day_ranges_expand() -> None:
    policies = load("""
        [calendars.shop]
        timezone = "UTC"
        [calendars.shop.hours]
        mon-fri = ["09:00-17:00"]
        sat = ["10:00-12:00", "13:00-14:00"]
        [[policy]]
        name = "a"
        calendar = "shop"
        targets.first_reply = "1h"
    """)
    cal = policies.policies[0].calendar
    week = [cal.business_seconds(at(2026, 3, d), at(2026, 3, d + 1)) / HOUR for d in range(2, 9)]
    assert week == [8.0, 8.0, 8.0, 8.0, 8.0, 3.0, 0.0]


def test_parse_policy_text__wrapping_day_range_and_night_hours() -> None:
    policies = load("""
        [calendars.nights]
        timezone = "UTC"
        hours = { fri-mon = ["22:00-06:00"], wed = ["00:00-24:00"] }
        [[policy]]
        name = "a"
        calendar = "nights"
        targets.first_reply = "1h"
    """)
    cal = policies.policies[0].calendar
    # Fri 2026-03-06 22:00 .. Tue 06:00 is open at night only: Fri, Sat, Sun, Mon nights.
    assert cal.business_seconds(at(2026, 3, 6, 12), at(2026, 3, 10, 12)) == 4 * 8 * HOUR
    assert cal.business_seconds(at(2026, 3, 4), at(2026, 3, 5)) == 24 * HOUR  # Wednesday


def test_parse_policy_text__country_holidays() -> None:
    policies = load("""
        [calendars.berlin]
        timezone = "Europe/Berlin"
        holiday_country = "DE"
        holiday_subdivision = "BE"
        [calendars.berlin.hours]
        mon-fri = ["09:00-17:00"]
        [[policy]]
        name = "a"
        calendar = "berlin"
        targets.first_reply = "1h"
    """)
    cal = policies.policies[0].calendar
    berlin_day = (at(2026, 12, 24, 23), at(2026, 12, 25, 23))  # Fri 25 Dec, Berlin time
    assert cal.business_seconds(*berlin_day) == 0.0
    assert cal.business_seconds(at(2026, 3, 7, 23), at(2026, 3, 8, 23)) == 0.0  # Sunday
    # 8 March is Women's Day in Berlin only: Monday 9 March 2026 is a normal day.
    assert cal.business_seconds(at(2026, 3, 8, 23), at(2026, 3, 9, 23)) == 8 * HOUR
    assert cal.business_seconds(at(2027, 12, 24, 23), at(2027, 12, 25, 23)) == 0.0  # any year


def test_parse_policy_text__explicit_holiday_dates() -> None:
    policies = load("""
        [calendars.office]
        timezone = "UTC"
        holidays = ["2026-03-03", 2026-03-05]
        [calendars.office.hours]
        mon-fri = ["09:00-17:00"]
        [[policy]]
        name = "a"
        calendar = "office"
        targets.first_reply = "1h"
    """)
    cal = policies.policies[0].calendar
    assert cal.business_seconds(at(2026, 3, 2), at(2026, 3, 7)) == 3 * 8 * HOUR


def test_holidays__cached_per_year(monkeypatch: pytest.MonkeyPatch) -> None:
    import stream.adapters.calendar_spec as spec

    asked: list[int | None] = []
    real = spec.holidays.country_holidays

    def counting(country: str, subdiv: str | None = None, years: int | None = None) -> object:
        asked.append(years)
        return real(country, subdiv=subdiv, years=years)

    monkeypatch.setattr(spec.holidays, "country_holidays", counting)
    days = Holidays([date(2026, 1, 2)], "DE", None)
    assert date(2026, 12, 25) in days(2026)
    assert date(2026, 1, 2) in days(2026)
    assert date(2026, 1, 2) not in days(2027)
    days(2026)
    assert asked == [2026, 2027]


def test_parse_policy_text__unused_calendar_is_fine() -> None:
    text = toml("""
        [calendars.spare]
        timezone = "UTC"
        hours.mon = ["09:00-10:00"]
    """) + toml(MINIMAL)
    assert len(parse_policy_text(text)) == 1


def test_default_file__documented_format_example_is_valid() -> None:
    text = DEPLOY_FILE.read_text(encoding="utf-8")
    begin = text.index("# # Calendars.")
    end = text.index('# resolution = "8h"\n', begin) + len('# resolution = "8h"\n')
    example = "\n".join(line.removeprefix("#").removeprefix(" ") for line in
                        text[begin:end].splitlines())  # fmt: skip
    (urgent,) = parse_policy_text(example)
    assert urgent.name == "urgent"
    assert urgent.channels == frozenset({"chat", "phone"})
