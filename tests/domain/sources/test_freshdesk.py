"""Tests for the Freshdesk mappings: exact events, valid against the contract, stable ids."""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from stream.domain.sources.freshdesk import map_activities, map_webhook
from tests.helpers.contract import assert_valid_events

DATA = Path(__file__).parent / "data" / "freshdesk"
NOW_S = 1_715_731_200.0  # 2024-05-15T00:00:00Z, after every fixture event


def load(name: str) -> dict[str, Any]:
    return json.loads((DATA / name).read_text())


def ev(event_id: str, occurred_at: str, ticket: str, type_: str, **fields: Any) -> dict[str, Any]:
    return {
        "event_id": event_id,
        "occurred_at": occurred_at,
        "ticket_id": ticket,
        "type": type_,
        **fields,
    }


def test_map_activities__export_gives_exact_contract_events() -> None:
    mapped = map_activities(load("activities.json"))

    t600 = "fd-600"
    assert mapped.events == [
        ev(
            "freshdesk:600:created",
            "2024-05-14T09:12:03Z",
            t600,
            "ticket.created",
            queue="Billing",
            assignee=None,
            status="open",
            priority="high",
            channel="web",
        ),
        ev(
            "freshdesk:600:2024-05-14T09:20:00Z:350ac2eb16f95ca9:agent",
            "2024-05-14T09:20:00Z",
            t600,
            "ticket.assigned",
            assignee="149018",
        ),
        ev(
            "freshdesk:600:note:5001",
            "2024-05-14T09:31:18Z",
            t600,
            "ticket.message",
            author="agent",
            public=True,
        ),
        ev(
            "freshdesk:600:2024-05-14T09:31:19Z:d8d74c29b20e4df1:status",
            "2024-05-14T09:31:19Z",
            t600,
            "ticket.status_changed",
            status="pending",
        ),
        ev(
            "freshdesk:600:note:5002",
            "2024-05-14T10:02:45Z",
            t600,
            "ticket.message",
            author="customer",
            public=True,
        ),
        ev(
            "freshdesk:600:note:5003",
            "2024-05-14T10:05:00Z",
            t600,
            "ticket.message",
            author="agent",
            public=False,
        ),
        ev(
            "freshdesk:600:2024-05-14T10:10:00Z:6ca3330884d1ab63:group",
            "2024-05-14T10:10:00Z",
            t600,
            "ticket.queue_changed",
            queue="Escalations",
        ),
        ev(
            "freshdesk:600:2024-05-14T10:10:00Z:6ca3330884d1ab63:priority",
            "2024-05-14T10:10:00Z",
            t600,
            "ticket.priority_changed",
            priority="urgent",
        ),
        ev(
            "freshdesk:600:2024-05-14T10:10:00Z:6ca3330884d1ab63:status",
            "2024-05-14T10:10:00Z",
            t600,
            "ticket.status_changed",
            status="solved",
        ),
        ev(
            "freshdesk:704:created",
            "2024-05-14T12:00:00Z",
            "fd-704",
            "ticket.created",
            queue="freshdesk",
            assignee="149018",
            status="open",
            priority="low",
            channel="chat",
        ),
    ]
    assert_valid_events(mapped.events, NOW_S)


def test_map_activities__reports_what_it_does_not_map() -> None:
    mapped = map_activities(load("activities.json"))

    assert mapped.unmapped == Counter(
        {
            "freshdesk activity key 'tags'": 1,
            "freshdesk status 'Waiting on Vendor'": 1,
            "freshdesk reply on a ticket whose requester is unknown": 1,
        }
    )
    assert mapped.skipped == Counter(
        {"freshdesk activity key 'requester_id'": 2, "freshdesk note type 'Forward'": 1}
    )


def test_map_activities__mapping_twice_gives_identical_ids() -> None:
    export = load("activities.json")

    first = [e["event_id"] for e in map_activities(export).events]
    again = [e["event_id"] for e in map_activities(load("activities.json")).events]

    assert first == again
    assert len(set(first)) == len(first)


def test_map_activities__ids_do_not_depend_on_position_in_the_export() -> None:
    export = load("activities.json")
    shuffled = {**export, "activities_data": list(reversed(export["activities_data"]))}

    ids = {e["event_id"] for e in map_activities(export).events}

    assert {e["event_id"] for e in map_activities(shuffled).events} == ids


def test_map_activities__agent_ids_decide_who_replied() -> None:
    mapped = map_activities(load("activities.json"), agent_ids=[149018])

    authors = {e["event_id"]: e["author"] for e in mapped.events if e["type"] == "ticket.message"}
    assert authors == {
        "freshdesk:600:note:5001": "agent",
        "freshdesk:600:note:5002": "customer",
        "freshdesk:600:note:5003": "agent",
        "freshdesk:705:note:5004": "agent",
    }
    assert "freshdesk reply on a ticket whose requester is unknown" not in mapped.unmapped


def test_map_activities__custom_statuses_extend_the_table() -> None:
    mapped = map_activities(
        load("activities.json"), custom_statuses={"Waiting on Vendor": "on_hold"}
    )

    statuses = [e["status"] for e in mapped.events if e["type"] == "ticket.status_changed"]
    assert statuses == ["pending", "solved", "on_hold"]
    assert "freshdesk status 'Waiting on Vendor'" not in mapped.unmapped


def test_map_activities__custom_status_ids_are_accepted() -> None:
    row = {"performer_id": 1, "ticket_id": 9, "performed_at": "2024-05-14T09:00:00Z"}
    export = {"activities_data": [{**row, "activity": {"status": 7}}]}

    mapped = map_activities(export, custom_statuses={"7": "on_hold"})

    assert [e["status"] for e in mapped.events] == ["on_hold"]


def test_map_activities__custom_status_outside_the_contract_is_an_error() -> None:
    with pytest.raises(ValueError, match="on hold"):
        map_activities({"activities_data": []}, custom_statuses={"Parked": "on hold"})


def test_map_activities__rows_without_ticket_or_time_are_reported() -> None:
    export = {
        "activities_data": [
            {"ticket_id": 1, "performed_at": "2024-05-14 09:00:00", "activity": {"status": 2}},
            {"ticket_id": None, "performed_at": "14-05-2024 09:00:00 +0000", "activity": {}},
            {"ticket_id": 1, "performed_at": "14-05-2024 09:00:00 +0000"},
            "not an object",
        ]
    }

    mapped = map_activities(export)

    assert mapped.events == []
    assert mapped.unmapped == Counter(
        {"freshdesk activity without ticket_id, performed_at or activity": 4}
    )


def test_map_activities__note_without_an_object_still_maps() -> None:
    row = {"performer_id": 7, "ticket_id": 9, "performed_at": "14-05-2024 09:00:00 +0000"}
    export = {"activities_data": [{**row, "activity": {"note": "Private Note"}}]}

    events = map_activities(export).events

    assert [(e["type"], e["author"], e["public"]) for e in events] == [
        ("ticket.message", "agent", False)
    ]
    assert_valid_events(events, NOW_S)


def test_map_activities__export_without_activities_data_is_reported() -> None:
    mapped = map_activities({"export": [{"url": "https://example.invalid/x.json"}]})

    assert mapped.events == []
    assert mapped.unmapped == Counter({"freshdesk export without an activities_data list": 1})


@pytest.mark.parametrize(
    ("fixture", "event_id", "occurred_at", "type_", "fields"),
    [
        (
            "ticket_created.json",
            "freshdesk:11:created",
            "2024-05-14T09:12:03Z",
            "ticket.created",
            {
                "queue": "Billing",
                "assignee": None,
                "status": "open",
                "priority": "high",
                "channel": "email",
            },
        ),
        (
            "status_changed.json",
            "freshdesk:11:2024-05-14T09:40:00Z:status:{from:2,to:6}",
            "2024-05-14T09:40:00Z",
            "ticket.status_changed",
            {"status": "pending"},
        ),
        (
            "priority_changed.json",
            "freshdesk:11:2024-05-14T09:45:00Z:priority:{from:3,to:4}",
            "2024-05-14T09:45:00Z",
            "ticket.priority_changed",
            {"priority": "urgent"},
        ),
        (
            "private_note.json",
            "freshdesk:11:2024-05-14T09:50:00Z:note_type:private",
            "2024-05-14T09:50:00Z",
            "ticket.message",
            {"author": "agent", "public": False},
        ),
        (
            "reply_sent.json",
            "freshdesk:11:2024-05-14T09:55:00Z:reply_sent:sent",
            "2024-05-14T09:55:00Z",
            "ticket.message",
            {"author": "agent", "public": True},
        ),
    ],
)
def test_map_webhook__gives_the_exact_contract_event(
    fixture: str, event_id: str, occurred_at: str, type_: str, fields: dict[str, Any]
) -> None:
    mapped = map_webhook(load(fixture))

    assert mapped.events == [ev(event_id, occurred_at, "fd-11", type_, **fields)]
    assert not mapped.unmapped
    assert_valid_events(mapped.events, NOW_S)


def test_map_webhook__mapping_twice_gives_identical_ids() -> None:
    fixtures = ["ticket_created.json", "status_changed.json", "reply_sent.json"]

    first = [map_webhook(load(f)).events[0]["event_id"] for f in fixtures]

    assert [map_webhook(load(f)).events[0]["event_id"] for f in fixtures] == first


def test_map_webhook__creation_has_the_same_id_as_in_the_export() -> None:
    row = {"ticket_id": 11, "performed_at": "14-05-2024 09:12:03 +0000", "performer_id": 7}
    export = {"activities_data": [{**row, "activity": {"new_ticket": True, "status": 2}}]}

    from_export = map_activities(export).events[0]["event_id"]

    assert map_webhook(load("ticket_created.json")).events[0]["event_id"] == from_export


def test_map_webhook__without_timestamp_uses_the_arrival_time() -> None:
    payload = load("reply_sent.json")
    del payload["freshdesk_webhook"]["ticket_updated_at"]

    mapped = map_webhook(payload, received_at=datetime(2024, 5, 14, 9, 56, tzinfo=UTC))

    assert [e["occurred_at"] for e in mapped.events] == ["2024-05-14T09:56:00Z"]
    assert_valid_events(mapped.events, NOW_S)


def test_map_webhook__without_any_timestamp_is_reported() -> None:
    payload = load("reply_sent.json")
    del payload["freshdesk_webhook"]["ticket_updated_at"]

    mapped = map_webhook(payload)

    assert mapped.events == []
    assert mapped.unmapped == Counter(
        {"freshdesk webhook without ticket_id, a timestamp or triggered_event": 1}
    )


def test_map_webhook__unknown_event_is_reported() -> None:
    mapped = map_webhook(load("ticket_deleted.json"))

    assert mapped.events == []
    assert mapped.unmapped == Counter({"freshdesk webhook event 'ticket_action:deleted'": 1})


def test_map_webhook__unknown_status_is_reported() -> None:
    payload = load("status_changed.json")
    payload["freshdesk_webhook"]["ticket_status"] = "Waiting on Vendor"

    mapped = map_webhook(payload)

    assert mapped.events == []
    assert mapped.unmapped == Counter({"freshdesk status 'Waiting on Vendor'": 1})


def test_map_webhook__group_and_agent_changes() -> None:
    body = load("status_changed.json")["freshdesk_webhook"]
    group = {**body, "triggered_event": "{group_id:{from:1,to:2}}"}
    agent = {**body, "triggered_event": "{responder_id:{from:,to:5}}"}

    events = map_webhook(group).events + map_webhook(agent).events

    assert [(e["type"], e.get("queue"), e.get("assignee")) for e in events] == [
        ("ticket.queue_changed", "Billing", None),
        ("ticket.assigned", None, "anna@acme.example"),
    ]
    assert_valid_events(events, NOW_S)


def test_map_webhook__accepts_a_body_without_the_wrapper() -> None:
    body = load("private_note.json")["freshdesk_webhook"]

    assert map_webhook(body).events == map_webhook(load("private_note.json")).events
