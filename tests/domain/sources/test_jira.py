"""Tests for the Jira Service Management webhook mapping: exact events, validity, stable ids."""

from __future__ import annotations

import copy
import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from stream.domain.sources.jira import map_webhook
from tests.helpers.contract import assert_valid_events

DATA = Path(__file__).parent / "data" / "jira"
NOW_S = 1_715_731_200.0  # 2024-05-15T00:00:00Z, after every fixture event
REQUEST_TYPE = "customfield_10010"
TICKET = "jira-SUP-42"


def load(name: str) -> dict[str, Any]:
    return json.loads((DATA / name).read_text())


def ev(event_id: str, occurred_at: str, type_: str, **fields: Any) -> dict[str, Any]:
    base = {"event_id": event_id, "occurred_at": occurred_at, "ticket_id": TICKET, "type": type_}
    return {**base, **fields}


EXPECTED: dict[str, list[dict[str, Any]]] = {
    "issue_created.json": [
        ev(
            "jira:10042:created",
            "2024-05-14T09:12:03.481000Z",
            "ticket.created",
            queue="Billing question",
            priority="high",
            status="open",
            assignee=None,
        )
    ],
    "issue_updated.json": [
        ev(
            "jira:10042:changelog:10124:assignee",
            "2024-05-14T09:30:00Z",
            "ticket.assigned",
            assignee="557058:agent-anna",
        ),
        ev(
            "jira:10042:changelog:10124:customfield_10010",
            "2024-05-14T09:30:00Z",
            "ticket.queue_changed",
            queue="Refunds",
        ),
        ev(
            "jira:10042:changelog:10124:status",
            "2024-05-14T09:30:00Z",
            "ticket.status_changed",
            status="pending",
        ),
    ],
    "issue_resolved.json": [
        ev(
            "jira:10042:changelog:10130:priority",
            "2024-05-14T12:00:00Z",
            "ticket.priority_changed",
            priority="urgent",
        ),
        ev(
            "jira:10042:changelog:10130:status",
            "2024-05-14T12:00:00Z",
            "ticket.status_changed",
            status="solved",
        ),
    ],
    "comment_created_public.json": [
        ev(
            "jira:10042:comment:10200",
            "2024-05-14T09:20:00.123000Z",
            "ticket.message",
            author="agent",
            public=True,
        )
    ],
    "comment_created_internal.json": [
        ev(
            "jira:10042:comment:10201",
            "2024-05-14T09:21:40Z",
            "ticket.message",
            author="agent",
            public=False,
        )
    ],
    "comment_created_customer.json": [
        ev(
            "jira:10042:comment:10202",
            "2024-05-14T09:40:00Z",
            "ticket.message",
            author="customer",
            public=True,
        )
    ],
    "comment_created_app.json": [],
    "issue_deleted.json": [],
}


@pytest.mark.parametrize("fixture", sorted(EXPECTED))
def test_map_webhook__gives_the_exact_contract_events(fixture: str) -> None:
    mapped = map_webhook(load(fixture), queue_field=REQUEST_TYPE)

    assert mapped.events == EXPECTED[fixture]
    assert_valid_events(mapped.events, NOW_S)


@pytest.mark.parametrize("fixture", sorted(EXPECTED))
def test_map_webhook__mapping_twice_gives_identical_ids(fixture: str) -> None:
    first = map_webhook(load(fixture), queue_field=REQUEST_TYPE).events

    again = map_webhook(load(fixture), queue_field=REQUEST_TYPE).events

    assert [e["event_id"] for e in again] == [e["event_id"] for e in first]


@pytest.mark.parametrize(
    ("fixture", "unmapped", "skipped"),
    [
        (
            "issue_updated.json",
            {"jira changelog field 'Component'": 1},
            {"jira changelog field 'summary'": 1},
        ),
        ("issue_resolved.json", {}, {"jira changelog field 'resolution'": 1}),
        ("issue_deleted.json", {"jira webhook event 'jira:issue_deleted'": 1}, {}),
        ("comment_created_app.json", {}, {"jira comment by an app": 1}),
        ("issue_created.json", {}, {}),
    ],
)
def test_map_webhook__reports_what_it_does_not_map(
    fixture: str, unmapped: dict[str, int], skipped: dict[str, int]
) -> None:
    mapped = map_webhook(load(fixture), queue_field=REQUEST_TYPE)

    assert mapped.unmapped == Counter(unmapped)
    assert mapped.skipped == Counter(skipped)


def test_map_webhook__comment_in_an_issue_update_is_the_same_event() -> None:
    via_comment_event = map_webhook(load("comment_created_public.json")).events

    via_issue_event = map_webhook(load("issue_commented.json")).events

    assert via_issue_event == via_comment_event


def test_map_webhook__without_queue_field_the_project_is_the_queue() -> None:
    created = map_webhook(load("issue_created.json")).events
    updated = map_webhook(load("issue_updated.json"))

    assert [e["queue"] for e in created] == ["SUP"]
    assert [e["type"] for e in updated.events] == ["ticket.assigned", "ticket.status_changed"]
    assert updated.unmapped["jira changelog field 'Customer Request Type'"] == 1


def test_map_webhook__components_as_queue_field() -> None:
    payload = load("issue_created.json")
    payload["issue"]["fields"]["components"] = [{"id": "10100", "name": "Payments"}]

    created = map_webhook(payload, queue_field="components").events
    updated = map_webhook(load("issue_updated.json"), queue_field="components").events

    assert [e["queue"] for e in created] == ["Payments"]
    assert [e["queue"] for e in updated if e["type"] == "ticket.queue_changed"] == ["Payments"]


def test_map_webhook__comment_by_the_reporter_is_the_customers() -> None:
    # Data Center: no accountType; the reporter is the customer.
    payload = load("comment_created_customer.json")
    del payload["comment"]["author"]["accountType"]

    assert [e["author"] for e in map_webhook(payload).events] == ["customer"]


def test_map_webhook__restricted_comment_outside_a_service_project_is_internal() -> None:
    payload = load("comment_created_public.json")
    del payload["comment"]["jsdPublic"]
    payload["comment"]["visibility"] = {"type": "role", "value": "Developers"}
    plain = copy.deepcopy(payload)
    del plain["comment"]["visibility"]

    assert [e["public"] for e in map_webhook(payload).events] == [False]
    assert [e["public"] for e in map_webhook(plain).events] == [True]


@pytest.mark.parametrize(
    ("name", "category", "expected"),
    [
        ("Waiting for customer", "indeterminate", "pending"),
        ("Pending", "indeterminate", "pending"),
        ("Closed", "done", "closed"),
        ("Resolved", "done", "solved"),
        ("Done", "done", "solved"),
        ("Canceled", "done", "closed"),
        ("In Progress", "indeterminate", "open"),
        ("To Do", "new", "new"),
    ],
)
def test_map_webhook__status_by_name_then_category(name: str, category: str, expected: str) -> None:
    payload = load("issue_resolved.json")
    payload["changelog"]["items"][2]["toString"] = name
    payload["issue"]["fields"]["status"] = {"name": name, "statusCategory": {"key": category}}

    events = map_webhook(payload).events

    assert [e["status"] for e in events if e["type"] == "ticket.status_changed"] == [expected]


def test_map_webhook__status_of_unknown_category_is_reported() -> None:
    # The issue's current status is another one, so the changelog's status has no category.
    payload = load("issue_resolved.json")
    payload["changelog"]["items"][2]["toString"] = "Triage"

    mapped = map_webhook(payload)

    assert [e["type"] for e in mapped.events] == ["ticket.priority_changed"]
    assert mapped.unmapped == Counter({"jira status 'Triage' (no status category)": 1})


def test_map_webhook__unknown_priority_is_reported() -> None:
    payload = load("issue_created.json")
    payload["issue"]["fields"]["priority"] = {"id": "9", "name": "P1"}

    mapped = map_webhook(payload)

    assert "priority" not in mapped.events[0]
    assert mapped.unmapped == Counter({"jira priority 'P1'": 1})
    assert_valid_events(mapped.events, NOW_S)


def test_map_webhook__unassignment_sends_null() -> None:
    payload = load("issue_updated.json")
    payload["changelog"]["items"] = [
        {"field": "assignee", "fieldId": "assignee", "from": "557058:agent-anna", "to": None}
    ]

    events = map_webhook(payload).events

    assert [(e["type"], e["assignee"]) for e in events] == [("ticket.assigned", None)]
    assert_valid_events(events, NOW_S)


def test_map_webhook__without_timestamp_is_reported() -> None:
    payload = load("issue_updated.json")
    del payload["timestamp"]

    mapped = map_webhook(payload, queue_field=REQUEST_TYPE)

    assert mapped.events == []
    assert mapped.unmapped == Counter({"jira webhook without a timestamp": 1})


def test_map_webhook__payload_without_issue_is_reported() -> None:
    mapped = map_webhook({"timestamp": 1715677923481, "webhookEvent": "sprint_started"})

    assert mapped.events == []
    assert mapped.unmapped == Counter({"jira webhook event 'sprint_started' without an issue": 1})
