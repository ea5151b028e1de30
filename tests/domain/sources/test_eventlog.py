"""Event log rows (Helpdesk- and BPI 2013-shaped) mapped to exact contract events."""

from __future__ import annotations

import random
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from stream.domain.sources.eventlog import EventLogMapping, ValueColumn, map_rows
from tests.helpers.contract import assert_valid_events

NOW_S = 2_000_000_000.0  # after every fixture: the future-timestamp check never trips

HELPDESK = EventLogMapping(
    case="Case ID",
    activity="Activity",
    timestamp="Complete Timestamp",
    timestamp_format="%Y/%m/%d %H:%M:%S.%f",
    timezone=ZoneInfo("Europe/Rome"),
    resource="Resource",
    source="helpdesk",
    queue=ValueColumn("workgroup", default="helpdesk"),
    priority=ValueColumn("seriousness", {"Value 1": "low", "Value 2": "normal", "Value 3": "high"}),
    activities={
        "Insert ticket": "created",
        "Assign seriousness": "ignore",
        "Take in charge ticket": ("assign", "status:open", "reply"),
        "Wait": "status:pending",
        "Resolve ticket": "status:solved",
        "Closed": "status:closed",
        "Create SW anomaly": "note",
    },
)

BPI = EventLogMapping(
    case="SR Number",
    activity=("Status", "Sub Status"),
    timestamp="Change Date+Time",
    resource="Owner First Name",
    source="bpi2013",
    queue=ValueColumn("Involved ST"),
    priority=ValueColumn(
        "Impact", {"Low": "low", "Medium": "normal", "High": "high", "Major": "urgent"}
    ),
    activities={
        "Accepted / In Progress": ("status:open", "assign"),
        "Accepted / Wait - User": "status:pending",
        "Queued / Awaiting Assignment": "queue_change",
        "Completed / Resolved": "status:solved",
        "Completed / Closed": "status:closed",
        "Unmatched / Unmatched": "ignore",
    },
)


def hd(case: str, activity: str, resource: str, stamp: str, seriousness: str = "Value 2",
       workgroup: str = "Value 1") -> dict[str, str]:  # fmt: skip
    """A row of the Helpdesk log (local Italian time, no offset)."""
    return {"Case ID": case, "Activity": activity, "Resource": resource,
            "Complete Timestamp": f"2013/01/07 {stamp}:00.000", "Variant": "Variant 1",
            "Variant index": "1", "seriousness": seriousness, "customer": "Value 1",
            "product": "Value 5", "responsible_section": "Value 1", "seriousness_2": "Value 2",
            "service_level": "Value 2", "service_type": "Value 1", "support_section": "Value 1",
            "workgroup": workgroup}  # fmt: skip


def bpi(sr: str, stamp: str, status: str, sub: str, team: str, impact: str,
        owner: str) -> dict[str, str]:  # fmt: skip
    """A row of the BPI 2013 incidents log (times with an offset)."""
    return {"SR Number": sr, "Change Date+Time": f"2012-05-14T{stamp}:00+02:00",
            "Status": status, "Sub Status": sub, "Involved ST": team,
            "Involved Org line 3": "Org line C", "Impact": impact, "Product": "PROD424",
            "Country": "Sweden", "Owner Country": "India", "Owner First Name": owner}  # fmt: skip


def ev(event_id: str, etype: str, ticket: str, at: str, **fields: Any) -> dict[str, Any]:
    return {"event_id": event_id, "type": etype, "ticket_id": ticket, "occurred_at": at,
            **fields}  # fmt: skip


HELPDESK_CASE = [
    hd("Case 2", "Assign seriousness", "Value 1", "10:15"),
    hd("Case 2", "Take in charge ticket", "Value 4", "10:40"),
    hd("Case 2", "Wait", "Value 4", "11:00"),
    hd("Case 2", "Take in charge ticket", "Value 4", "14:00"),
    hd("Case 2", "Resolve ticket", "Value 4", "15:00"),
    hd("Case 2", "Closed", "Value 3", "15:30"),
]


def test_map_rows__helpdesk_case_gives_exact_events() -> None:
    out = map_rows(HELPDESK_CASE, HELPDESK)

    t, p = "helpdesk-Case 2", "helpdesk:Case 2:2013-01-07T"
    # Europe/Rome in January is UTC+1; the first row creates (no "Insert ticket" here).
    assert out.events == [
        ev("helpdesk:Case 2:created", "ticket.created", t, "2013-01-07T09:15:00Z",
           queue="Value 1", priority="normal", channel="other"),
        ev(f"{p}09:40:00Z:Take in charge ticket:Value 4:assign", "ticket.assigned", t,
           "2013-01-07T09:40:00Z", assignee="Value 4"),
        ev(f"{p}09:40:00Z:Take in charge ticket:Value 4:status:open", "ticket.status_changed",
           t, "2013-01-07T09:40:00Z", status="open"),
        ev(f"{p}09:40:00Z:Take in charge ticket:Value 4:reply", "ticket.message", t,
           "2013-01-07T09:40:00Z", author="agent", public=True),
        ev(f"{p}10:00:00Z:Wait:Value 4:status:pending", "ticket.status_changed", t,
           "2013-01-07T10:00:00Z", status="pending"),
        ev(f"{p}13:00:00Z:Take in charge ticket:Value 4:status:open", "ticket.status_changed",
           t, "2013-01-07T13:00:00Z", status="open"),
        ev(f"{p}13:00:00Z:Take in charge ticket:Value 4:reply", "ticket.message", t,
           "2013-01-07T13:00:00Z", author="agent", public=True),
        ev(f"{p}14:00:00Z:Resolve ticket:Value 4:status:solved", "ticket.status_changed", t,
           "2013-01-07T14:00:00Z", status="solved"),
        ev(f"{p}14:30:00Z:Closed:Value 3:status:closed", "ticket.status_changed", t,
           "2013-01-07T14:30:00Z", status="closed"),
    ]  # fmt: skip
    assert out.unmapped == {}
    assert out.skipped == {"activity 'Take in charge ticket' (assign): assignee unchanged": 1}
    assert_valid_events(out.events, NOW_S)


BPI_CASE = [
    bpi("1-364285769", "10:00", "Queued", "Awaiting Assignment", "V30", "Medium", "Anna"),
    bpi("1-364285769", "10:30", "Queued", "Awaiting Assignment", "V5 3rd", "Medium", "Anna"),
    bpi("1-364285769", "10:45", "Accepted", "In Progress", "V5 3rd", "Medium", "Bert"),
    bpi("1-364285769", "12:00", "Accepted", "In Progress", "V5 3rd", "High", "Bert"),
    bpi("1-364285769", "13:00", "Accepted", "Wait - User", "V5 3rd", "High", "Bert"),
    bpi("1-364285769", "14:00", "Completed", "Resolved", "V5 3rd", "High", "Bert"),
]


def test_map_rows__bpi2013_joined_activity_with_queue_and_priority_changes() -> None:
    out = map_rows(BPI_CASE, BPI)

    t, p = "bpi2013-1-364285769", "bpi2013:1-364285769:2012-05-14T"
    assert out.events == [
        ev("bpi2013:1-364285769:created", "ticket.created", t, "2012-05-14T08:00:00Z",
           queue="V30", priority="normal", channel="other"),
        # Pushed to the 3rd line: the team column changed (the queue_change activity agrees).
        ev(f"{p}08:30:00Z:Queued / Awaiting Assignment:Anna:queue", "ticket.queue_changed", t,
           "2012-05-14T08:30:00Z", queue="V5 3rd"),
        ev(f"{p}08:45:00Z:Accepted / In Progress:Bert:status:open", "ticket.status_changed", t,
           "2012-05-14T08:45:00Z", status="open"),
        ev(f"{p}08:45:00Z:Accepted / In Progress:Bert:assign", "ticket.assigned", t,
           "2012-05-14T08:45:00Z", assignee="Bert"),
        # Impact raised to High on a row whose activity says nothing new.
        ev(f"{p}10:00:00Z:Accepted / In Progress:Bert:priority", "ticket.priority_changed", t,
           "2012-05-14T10:00:00Z", priority="high"),
        ev(f"{p}11:00:00Z:Accepted / Wait - User:Bert:status:pending", "ticket.status_changed",
           t, "2012-05-14T11:00:00Z", status="pending"),
        ev(f"{p}12:00:00Z:Completed / Resolved:Bert:status:solved", "ticket.status_changed", t,
           "2012-05-14T12:00:00Z", status="solved"),
    ]  # fmt: skip
    assert out.unmapped == {}
    assert out.skipped == {
        "activity 'Accepted / In Progress' (status:open): status unchanged": 1,
        "activity 'Accepted / In Progress' (assign): assignee unchanged": 1,
    }
    assert_valid_events(out.events, NOW_S)


def test_map_rows__first_row_folds_its_status_and_owner_into_the_creation() -> None:
    rows = [bpi("1-364285768", "10:00", "Accepted", "In Progress", "V30", "Low", "Anna")]

    [created] = map_rows(rows, BPI).events

    assert created == ev("bpi2013:1-364285768:created", "ticket.created", "bpi2013-1-364285768",
                         "2012-05-14T08:00:00Z", queue="V30", priority="low", channel="other",
                         status="open", assignee="Anna")  # fmt: skip


def test_map_rows__a_created_activity_creates_even_when_not_first() -> None:
    rows = [
        hd("Case 3", "Create SW anomaly", "Value 2", "10:00", seriousness="Value 1"),
        hd("Case 3", "Insert ticket", "Value 5", "10:05", seriousness="Value 3"),
        hd("Case 3", "Insert ticket", "Value 5", "10:06", seriousness="Value 3"),
    ]

    out = map_rows(rows, HELPDESK)

    p = "helpdesk:Case 3:2013-01-07T"
    assert [(e["event_id"], e["type"], e["occurred_at"]) for e in out.events] == [
        ("helpdesk:Case 3:created", "ticket.created", "2013-01-07T09:05:00Z"),
        # Before the creation: kept at its own time (the worker counts it at the creation).
        (f"{p}09:00:00Z:Create SW anomaly:Value 2:note", "ticket.message",
         "2013-01-07T09:00:00Z"),
    ]  # fmt: skip
    assert out.events[0]["priority"] == "high"  # from the creation row
    assert out.events[1]["public"] is False
    assert out.skipped == {"activity 'Insert ticket' (created): ticket already created": 1}


def test_map_rows__same_events_and_ids_on_reimport_and_reordered_rows() -> None:
    for mapping, sample in ((HELPDESK, HELPDESK_CASE), (BPI, BPI_CASE)):
        first = map_rows(sample, mapping)
        shuffled = list(sample)
        random.Random(7).shuffle(shuffled)
        again = map_rows(list(reversed(sample)), mapping)
        third = map_rows(shuffled, mapping)

        assert again.events == first.events
        assert third.events == first.events


def test_map_rows__exact_repeats_get_numbered_ids_whatever_the_order() -> None:
    # Same case, time, activity and resource; another column differs. (Rows at the same
    # instant are applied in file order, so columns that change the ticket must not differ
    # for the events, not only their ids, to be the same in any order.)
    a = hd("Case 9", "Take in charge ticket", "Value 2", "10:00")
    b = {**a, "customer": "Value 3"}
    note = hd("Case 9", "Create SW anomaly", "Value 2", "09:00")
    again = dict(note)

    def ids(rows: list[dict[str, str]]) -> dict[str, dict[str, Any]]:
        return {e["event_id"]: e for e in map_rows(rows, HELPDESK).events}

    forward = ids([note, again, a, b])

    assert forward == ids([b, again, a, note])
    p = "helpdesk:Case 9:2013-01-07T"
    assert f"{p}08:00:00Z:Create SW anomaly:Value 2:note" in forward
    assert f"{p}08:00:00Z:Create SW anomaly:Value 2:#1:note" in forward
    assert f"{p}09:00:00Z:Take in charge ticket:Value 2:#1:reply" in forward


def test_map_rows__unmapped_activities_and_values_are_counted_and_changes_still_emitted() -> None:
    rows = [
        hd("Case 1", "Assign seriousness", "Value 1", "09:00", seriousness="Value 9"),
        hd("Case 1", "Require upgrade", "Value 2", "09:30", workgroup="Value 2"),
        hd("Case 1", "Require upgrade", "Value 2", "09:45", workgroup="Value 2"),
    ]

    out = map_rows(rows, HELPDESK)

    assert [e["type"] for e in out.events] == ["ticket.created", "ticket.queue_changed"]
    assert out.events[0]["priority"] == "normal"  # the unknown value falls back
    assert out.unmapped == {
        "activity 'Require upgrade'": 2,
        "priority 'Value 9' (column 'seriousness')": 1,
    }


def test_map_rows__rows_without_case_or_time_are_reported_with_their_numbers() -> None:
    rows = [
        hd("Case 1", "Assign seriousness", "Value 1", "09:00"),
        hd("", "Wait", "Value 1", "09:10"),
        {**hd("Case 1", "Wait", "Value 1", "09:20"), "Complete Timestamp": "07/01/2013 09:20"},
        {**hd("Case 1", "Wait", "Value 1", "09:30"), "Complete Timestamp": ""},
        hd("Case 1", "", "Value 1", "09:40"),
    ]

    out = map_rows(rows, HELPDESK)

    assert len(out.events) == 1
    assert out.unmapped == {
        "no case id in column 'Case ID': row 2": 1,
        "bad timestamp in column 'Complete Timestamp' (e.g. '07/01/2013 09:20'): rows 3, 4": 2,
        "no activity in column(s) 'Activity': row 5": 1,
    }


def test_map_rows__nothing_after_a_close() -> None:
    rows = [
        bpi("1-1", "10:00", "Accepted", "In Progress", "V30", "Low", "Anna"),
        bpi("1-1", "11:00", "Completed", "Closed", "V30", "Low", "Anna"),
        bpi("1-1", "12:00", "Accepted", "In Progress", "V13 2nd", "High", "Anna"),
    ]

    out = map_rows(rows, BPI)

    assert [e.get("status") for e in out.events] == ["open", "closed"]
    assert out.unmapped == {"activity 'Accepted / In Progress' after the ticket was closed": 1}


def test_map_rows__cases_ordered_by_creation_each_in_time_order() -> None:
    rows = [
        bpi("1-2", "12:00", "Completed", "Resolved", "V30", "Low", "Anna"),
        bpi("1-1", "11:00", "Accepted", "Wait - User", "V30", "Low", "Anna"),
        bpi("1-2", "09:00", "Queued", "Awaiting Assignment", "V30", "Low", "Anna"),
        bpi("1-1", "10:00", "Queued", "Awaiting Assignment", "V30", "Low", "Anna"),
    ]

    out = map_rows(rows, BPI)

    assert [(e["ticket_id"], e["type"]) for e in out.events] == [
        ("bpi2013-1-2", "ticket.created"),
        ("bpi2013-1-2", "ticket.status_changed"),
        ("bpi2013-1-1", "ticket.created"),
        ("bpi2013-1-1", "ticket.status_changed"),
    ]
    assert out.skipped == {}  # a queue_change that creates is the creation


def test_map_rows__iso_times_without_offset_use_the_timezone() -> None:
    mapping = EventLogMapping(case="case", activity="activity", timestamp="time",
                              activities={"open": "created"}, ticket_prefix="",
                              timezone=ZoneInfo("America/New_York"))  # fmt: skip
    rows = [{"case": "7", "activity": "open", "time": "2024-07-01 08:00:00"}]

    [created] = map_rows(rows, mapping).events

    assert created["ticket_id"] == "7"
    assert created["event_id"] == "eventlog:7:created"
    assert created["occurred_at"] == "2024-07-01T12:00:00Z"
    assert created["queue"] == "other"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"activities": {"Wait": "pending"}}, "unknown meaning 'pending'"),
        ({"activities": {"Wait": "status:waiting"}}, "unknown status 'waiting'"),
        ({"activities": {"Wait": ("note", "note")}}, "listed twice"),
        ({"priority": ValueColumn("Impact", {"High": "critical"})}, "priority 'critical'"),
        ({"queue": ValueColumn(default="")}, "1 to 64 characters"),
        ({"activity": ()}, "name at least one column"),
    ],
)
def test_event_log_mapping__rejects_what_the_mapper_cannot_use(
    change: dict[str, Any], message: str
) -> None:
    base: dict[str, Any] = {"case": "c", "activity": "a", "timestamp": "t", "activities": {}}
    with pytest.raises(ValueError, match=message):
        EventLogMapping(**(base | change))
