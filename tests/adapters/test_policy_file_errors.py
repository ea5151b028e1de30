"""Every problem in a policy file is an error naming the file, the line and the key."""

from __future__ import annotations

import textwrap

import pytest

from stream.adapters.policy_file import PolicyFileError, parse_policy_text

# A valid policy, for cases about something else (lines 1-5 when it comes first).
ALL = """
[[policy]]
name = "all"
calendar = "24x7"
[policy.targets]
first_reply = "1h"
"""
OFFICE = """
[calendars.office]
timezone = "UTC"
[calendars.office.hours]
"""  # the hours follow on line 4


def message(text: str) -> str:
    with pytest.raises(PolicyFileError) as err:
        parse_policy_text(textwrap.dedent(text).lstrip("\n"), source="policies.toml")
    return str(err.value)


# (file text, expected start of the message up to the detail, expected detail or part of it)
CASES = {
    "toml_syntax": (
        '[[policy]]\nname = "a\ncalendar = "24x7"\n',
        "policies.toml:2: ",
        "not valid TOML: Illegal character '\\n' (column 10)",
    ),
    "unknown_top_level_key": (
        "polcy = 1\n" + ALL,
        "policies.toml:1: polcy: ",
        "unknown key; allowed here: calendars, policy",
    ),
    "unknown_policy_key": (
        '[[policy]]\nname = "urgent"\ncalender = "24x7"\n',
        'policies.toml:3: policy "urgent": calender: ',
        "unknown key; allowed here: name, calendar, at_risk_within, match, targets",
    ),
    "unknown_match_key": (
        ALL + '[policy.match]\npriority = ["urgent"]\n',
        'policies.toml:7: policy "all": match.priority: ',
        "unknown key; allowed here: priorities, queues, channels",
    ),
    "unknown_clock": (
        ALL + 'first_response = "1h"\n',
        'policies.toml:6: policy "all": targets.first_response: ',
        "unknown key; allowed here: first_reply, next_reply, resolution",
    ),
    "unknown_calendar_key": (
        '[calendars.office]\ntimezone = "UTC"\nhollidays = []\n',
        'policies.toml:3: calendar "office": hollidays: ',
        "unknown key; allowed here: timezone, holidays, holiday_country, holiday_subdivision, "
        "hours",
    ),
    "missing_name": (
        '[[policy]]\ncalendar = "24x7"\ntargets.first_reply = "1h"\n',
        "policies.toml:1: policy #1: name: ",
        "missing (required): a name, unique in the file",
    ),
    "missing_calendar": (
        ALL + '\n[[policy]]\nname = "urgent"\ntargets.first_reply = "1h"\n',
        'policies.toml:7: policy "urgent": calendar: ',
        'missing (required): "24x7" or the NAME of a [calendars.NAME]',
    ),
    "missing_targets": (
        '[[policy]]\nname = "urgent"\ncalendar = "24x7"\n',
        'policies.toml:1: policy "urgent": targets: ',
        "missing (required): a [policy.targets] table with at least one of first_reply, ",
    ),
    "name_not_a_string": (
        '[[policy]]\nname = 5\ncalendar = "24x7"\ntargets.first_reply = "1h"\n',
        "policies.toml:2: policy #1: name: ",
        "expected a string, got an integer",
    ),
    "target_not_a_string": (
        ALL.replace('"1h"', "30"),
        'policies.toml:5: policy "all": targets.first_reply: ',
        'expected a duration such as "15m", got an integer',
    ),
    "match_not_a_list": (
        ALL + '[policy.match]\npriorities = "urgent"\n',
        'policies.toml:7: policy "all": match.priorities: ',
        "expected an array of strings, got a string",
    ),
    "unknown_calendar": (
        ALL.replace('"24x7"', '"office"'),
        'policies.toml:3: policy "all": calendar: ',
        'unknown calendar "office"; defined: "24x7"',
    ),
    "redefined_24x7": (
        '[calendars.24x7]\ntimezone = "UTC"\n' + ALL,
        "policies.toml:1: calendars.24x7: ",
        '"24x7" is built in and cannot be redefined',
    ),
    "bad_weekday": (
        OFFICE + 'mon-fry = ["09:00-17:00"]\n',
        'policies.toml:4: calendar "office": hours.mon-fry: ',
        "bad day 'mon-fry': use mon, tue, wed, thu, fri, sat, sun or a range such as mon-fri",
    ),
    "day_named_twice": (
        OFFICE + 'mon-fri = ["09:00-17:00"]\nmon = ["18:00-19:00"]\n',
        'policies.toml:5: calendar "office": hours.mon: ',
        "mon named twice: by mon-fri and by mon",
    ),
    "bad_time_25h": (
        OFFICE + 'mon = ["09:00-25:00"]\n',
        'policies.toml:4: calendar "office": hours.mon: ',
        """bad time in '09:00-25:00': use "HH:MM-HH:MM", e.g. "09:00-17:00"; """,
    ),
    "bad_time_without_minutes": (
        OFFICE + 'mon = ["9-17"]\n',
        'policies.toml:4: calendar "office": hours.mon: ',
        """bad time range '9-17': use "HH:MM-HH:MM", e.g. "09:00-17:00"; "22:00-06:00" runs """
        'past midnight, "00:00-24:00" is the whole day',
    ),
    "empty_time_range": (
        OFFICE + 'mon = ["09:00-09:00"]\n',
        'policies.toml:4: calendar "office": hours.mon: ',
        "'09:00-09:00' is empty or ambiguous: ",
    ),
    "overlapping_hours": (
        OFFICE + 'mon-fri = ["09:00-17:00", "16:00-18:00"]\n',
        'policies.toml:4: calendar "office": hours.mon-fri: ',
        "mon 09:00-17:00 overlaps mon 16:00-18:00",
    ),
    "overlap_past_midnight": (
        OFFICE + 'sun = ["22:00-06:00"]\nmon-fri = ["05:00-10:00"]\n',
        'policies.toml:5: calendar "office": hours.mon-fri: ',
        "sun 22:00-06:00 overlaps mon 05:00-10:00",
    ),
    "empty_week": (
        OFFICE + "mon = []\n",
        'policies.toml:3: calendar "office": hours: ',
        "the week has no working hours",
    ),
    "missing_hours": (
        '[calendars.office]\ntimezone = "UTC"\n',
        'policies.toml:1: calendar "office": hours: ',
        "missing (required)",
    ),
    "missing_timezone": (
        '[calendars.office]\nhours.mon = ["09:00-17:00"]\n',
        'policies.toml:1: calendar "office": timezone: ',
        "missing (required)",
    ),
    "unknown_timezone": (
        OFFICE.replace('"UTC"', '"Europe/Berlyn"') + 'mon = ["09:00-17:00"]\n',
        'policies.toml:2: calendar "office": timezone: ',
        """unknown timezone 'Europe/Berlyn': use an IANA name, e.g. "Europe/Berlin\"""",
    ),
    "bad_holiday_date": (
        '[calendars.office]\ntimezone = "UTC"\nholidays = ["2026-12-24", "2026-02-30"]\n',
        'policies.toml:3: calendar "office": holidays: ',
        """bad date '2026-02-30': use "YYYY-MM-DD", e.g. "2026-12-24\"""",
    ),
    "unknown_holiday_country": (
        '[calendars.office]\ntimezone = "UTC"\nholiday_country = "XX"\n',
        'policies.toml:3: calendar "office": holiday_country: ',
        "unknown country 'XX': use an ISO 3166-1 alpha-2 code the holidays library supports",
    ),
    "unknown_holiday_subdivision": (
        '[calendars.office]\ntimezone = "UTC"\nholiday_country = "DE"\n'
        'holiday_subdivision = "ZZ"\n',
        'policies.toml:4: calendar "office": holiday_subdivision: ',
        "DE has no subdivision 'ZZ'; known: BB, BE, BW, BY, ",
    ),
    "subdivision_without_country": (
        '[calendars.office]\ntimezone = "UTC"\nholiday_subdivision = "BE"\n',
        'policies.toml:3: calendar "office": holiday_subdivision: ',
        "needs holiday_country as well",
    ),
    "bad_duration": (
        ALL.replace('"1h"', '"3x"'),
        'policies.toml:5: policy "all": targets.first_reply: ',
        "bad duration '3x': use a number and a unit s, m, h, d or w, e.g. 30m, 8h, 2d, 1h30m",
    ),
    "zero_target": (
        ALL.replace('"1h"', '"0m"'),
        'policies.toml:5: policy "all": targets.first_reply: ',
        "a target must be longer than 0",
    ),
    "negative_at_risk": (
        ALL.replace('"24x7"\n', '"24x7"\nat_risk_within = "-5m"\n'),
        'policies.toml:4: policy "all": at_risk_within: ',
        "bad duration '-5m': use a number and a unit",
    ),
    "duplicate_names": (
        ALL + ALL.replace('"1h"', '"2h"'),
        'policies.toml:8: policy "all": name: ',
        "duplicate: policy #1 (line 1) has this name too",
    ),
    "no_targets": (
        '[[policy]]\nname = "urgent"\ncalendar = "24x7"\n[policy.targets]\n',
        'policies.toml:4: policy "urgent": targets: ',
        "no targets: set at least one of first_reply, next_reply, resolution",
    ),
    "unknown_priority": (
        ALL + '[policy.match]\npriorities = ["critical"]\n',
        'policies.toml:7: policy "all": match.priorities: ',
        "unknown value 'critical'; known: low, normal, high, urgent",
    ),
    "unknown_channel": (
        ALL + '[policy.match]\nchannels = ["sms"]\n',
        'policies.toml:7: policy "all": match.channels: ',
        "unknown value 'sms'; known: email, chat, phone, web, social, api, other",
    ),
    "empty_match_list": (
        ALL + "[policy.match]\nqueues = []\n",
        'policies.toml:7: policy "all": match.queues: ',
        "an empty list matches nothing; omit the key to match any",
    ),
    "zero_policies": (
        OFFICE + 'mon = ["09:00-17:00"]\n',
        "policies.toml: ",
        "no policy: the file defines no [[policy]]",
    ),
    "policy_not_an_array": (
        '[policy]\nname = "x"\n',
        "policies.toml:1: policy: ",
        "expected [[policy]] tables (an array of tables)",
    ),
    "shadowed_policy": (
        ALL.replace('"all"', '"chat"') + '[policy.match]\nchannels = ["chat", "phone"]\n'
        + ALL.replace('"all"', '"vip-chat"') + '[policy.match]\nchannels = ["chat"]\n'
        'queues = ["vip"]\n',
        'policies.toml:14: policy "vip-chat": match: ',
        'never applies: policy "chat" (line 1) comes first and matches every ticket this one '
        "would; put the narrower policy first",
    ),
    "after_a_catch_all": (
        ALL + ALL.replace('"all"', '"urgent"'),
        'policies.toml:7: policy "urgent": match: ',
        'never applies: policy "all" (line 1) comes first',
    ),
}  # fmt: skip


@pytest.mark.parametrize(("text", "start", "detail"), CASES.values(), ids=CASES.keys())
def test_parse_policy_text__error_names_line_and_key(text: str, start: str, detail: str) -> None:
    got = message(text)
    assert got.startswith(start), got
    assert detail in got[len(start) :], got


def test_policy_file_error__carries_its_parts() -> None:
    with pytest.raises(PolicyFileError) as err:
        parse_policy_text(ALL.replace('"1h"', '"3x"').lstrip("\n"), source="p.toml")
    assert (err.value.source, err.value.line, err.value.key) == ("p.toml", 5, "targets.first_reply")
    assert err.value.detail.startswith("bad duration '3x'")
    assert isinstance(err.value, ValueError)


def test_parse_policy_text__line_in_a_later_policy() -> None:
    got = message("""
        # Policies, tried in order.
        [calendars.office]
        timezone = "UTC"
        hours.mon-fri = ["09:00-17:00"]

        [[policy]]
        name = "chat"
        calendar = "24x7"
        match.channels = ["chat"]
        targets.first_reply = "5m"

        [[policy]]
        name = "phone"
        calendar = "24x7"
        match.channels = ["phone"]
        targets.first_reply = "2m"

        [[policy]]
        name = "urgent"
        calendar = "office"
        [policy.match]
        priorities = ["urgent"]
        [policy.targets]
        first_reply = "3x"
    """)
    assert got.startswith('policies.toml:24: policy "urgent": targets.first_reply: bad duration')


def test_parse_policy_text__line_of_an_inline_table() -> None:
    got = message('[[policy]]\nname = "a"\ncalendar = "24x7"\n\ntargets = { first_reply = "3x" }\n')
    assert got.startswith('policies.toml:5: policy "a": targets.first_reply: bad duration')


def test_parse_policy_text__line_of_a_dotted_key() -> None:
    got = message('[[policy]]\nname = "a"\ncalendar = "24x7"\ntargets.next_reply = "0s"\n')
    assert got.startswith('policies.toml:4: policy "a": targets.next_reply: a target must be')


def test_parse_policy_text__default_source_name() -> None:
    with pytest.raises(PolicyFileError, match=r"^<policies>: no policy"):
        parse_policy_text("")
