"""Zendesk export pages and webhooks mapped to contract events, on documented payload shapes."""

from __future__ import annotations

import copy
import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from stream.domain.sources.zendesk import map_incremental_events, map_webhook
from tests.helpers.contract import assert_valid_events

DATA = Path(__file__).parent / "data" / "zendesk"
NOW_S = 1_716_100_000.0  # 2024-05-19T06:26:40Z, after every fixture
GROUPS = {98738: "billing"}


def load(name: str) -> Any:
    return json.loads((DATA / name).read_text())


def ev(
    event_id: str, type_: str, at: str, ticket: str = "zd-35436", **fields: Any
) -> dict[str, Any]:
    return {"event_id": f"zendesk:{event_id}", "occurred_at": at, "ticket_id": ticket,
            "type": type_, **fields}  # fmt: skip


def test_map_incremental_events__page_with_comment_events_gives_the_exact_events() -> None:
    mapped = map_incremental_events(load("ticket_events_page.json"), groups=GROUPS)

    t1, t2, t3, t4 = ("2024-05-14T09:12:03Z", "2024-05-14T09:31:18Z", "2024-05-14T09:45:00Z",
                      "2024-05-14T10:02:41Z")  # fmt: skip
    t5, t6, t7 = "2024-05-14T10:30:12Z", "2024-05-14T11:00:05Z", "2024-05-14T11:20:00Z"
    assert mapped.events == [
        ev("35436:926256957613", "ticket.created", t1, queue="billing", priority="high",
           channel="email", status="new", assignee=None),
        ev("35436:926256957633", "ticket.message", t1, author="customer", public=True),
        ev("35436:926257103831", "ticket.assigned", t2, assignee="235323"),
        ev("35436:926257103891", "ticket.queue_changed", t2, queue="group-360000871234"),
        ev("35436:926257103871", "ticket.message", t2, author="agent", public=True),
        ev("35436:926257103851", "ticket.status_changed", t2, status="open"),
        ev("35436:926257310317", "ticket.priority_changed", t3, priority="urgent"),
        ev("35436:926257310297", "ticket.message", t3, author="agent", public=False),
        ev("35436:926257559123", "ticket.message", t4, author="agent", public=True),
        ev("35436:926257559143", "ticket.status_changed", t4, status="on_hold"),
        ev("35436:926257982265", "ticket.message", t5, author="customer", public=True),
        ev("35436:926257982285", "ticket.status_changed", t5, status="open"),
        ev("35436:926258410791", "ticket.message", t6, author="agent", public=True),
        ev("35436:926258410811", "ticket.status_changed", t6, status="solved"),
        ev("35437:926258521980", "ticket.created", t7, "zd-35437", queue="unassigned",
           priority="normal", channel="api", status="open", assignee="235323"),
        ev("35437:926258522000", "ticket.message", t7, "zd-35437", author="customer", public=True),
        ev("35436:926263598832", "survey.csat", "2024-05-15T12:14:55Z", score=5),
    ]  # fmt: skip
    assert_valid_events(mapped.events, NOW_S)


def test_map_incremental_events__counts_what_it_does_not_map() -> None:
    mapped = map_incremental_events(load("ticket_events_page.json"), groups=GROUPS)

    assert mapped.unmapped == Counter({
        "zendesk Create field 'subject'": 2,
        "zendesk Create field 'requester_id'": 2,
        "zendesk Create field 'tags'": 1,
        "zendesk Change field 'tags'": 1,
        "zendesk Change field 'subject'": 1,
    })  # fmt: skip
    assert mapped.skipped == Counter({
        "zendesk Notification child_event": 5,
        "zendesk AgentMacroReference child_event": 1,
        "zendesk satisfaction unoffered (no rating yet)": 1,
        "zendesk satisfaction offered (no rating yet)": 1,
        "zendesk rating repeated in one audit": 1,
    })  # fmt: skip


def test_map_incremental_events__mapping_again_gives_identical_ids() -> None:
    page = load("ticket_events_page.json")
    first = map_incremental_events(page, groups=GROUPS)
    second = map_incremental_events(copy.deepcopy(page), groups=GROUPS)

    assert second.events == first.events
    ids = [e["event_id"] for e in first.events]
    assert len(ids) == len(set(ids))


def test_map_incremental_events__without_comment_events_the_updater_is_the_author() -> None:
    mapped = map_incremental_events(load("ticket_events_without_comment_events.json"))

    t1, t2, t3 = "2024-05-14T09:12:03Z", "2024-05-14T09:31:18Z", "2024-05-14T10:02:41Z"
    t4 = "2024-05-18T11:00:00Z"
    tid = "zd-35440"
    assert mapped.events == [
        ev("35440:926270001001", "ticket.created", t1, tid, queue="group-98738",
           priority="normal", channel="web", status="new", assignee=None),
        ev("35440:926270001021", "ticket.message", t1, tid, author="customer", public=True),
        ev("35440:926270002041", "ticket.queue_changed", t2, tid, queue="unassigned"),
        ev("35440:926270002061", "ticket.priority_changed", t2, tid, priority="low"),
        ev("35440:926270002021", "ticket.message", t2, tid, author="agent", public=False),
        ev("35440:926270003061", "ticket.assigned", t3, tid, assignee=None),
        ev("35440:926270003021", "ticket.message", t3, tid, author="agent", public=True),
        ev("35440:926270003041", "ticket.status_changed", t3, tid, status="solved"),
        ev("35440:926270004041", "ticket.status_changed", t4, tid, status="closed"),
    ]  # fmt: skip
    assert mapped.unmapped == Counter({
        "zendesk Create field 'subject'": 1,
        "zendesk Create field 'requester_id'": 1,
        # ticket 35441: its requester is not in the page and no agent ids were given
        "zendesk comment with unknown author role": 1,
    })  # fmt: skip
    assert mapped.skipped == Counter({"zendesk Comment child_event without a comment": 1})
    assert_valid_events(mapped.events, NOW_S)


def test_map_incremental_events__agent_ids_decide_the_author() -> None:
    page = load("ticket_events_without_comment_events.json")

    mapped = map_incremental_events(page, agent_ids={235323})

    messages = {e["event_id"]: e["author"] for e in mapped.events if e["type"] == "ticket.message"}
    assert messages == {
        "zendesk:35440:926270001021": "customer",
        "zendesk:35440:926270002021": "agent",
        "zendesk:35440:926270003021": "agent",
        "zendesk:35441:926270005021": "agent",  # requester unknown, but 235323 is an agent
    }
    assert "zendesk comment with unknown author role" not in mapped.unmapped


def test_map_incremental_events__requesters_carry_over_to_the_next_page() -> None:
    page = load("ticket_events_page.json")
    comment = {
        "id": 926299000021,
        "via": "Mail",
        "via_reference_id": None,
        "comment_present": True,
        "comment_public": True,
        "event_type": "Comment",
    }
    later = {"ticket_events": [{
        "id": 926299000001, "ticket_id": 35436, "timestamp": 1715800000, "updater_id": 20978392,
        "via": "Mail", "event_type": "Audit", "child_events": [comment]}]}  # fmt: skip
    requesters: dict[str, str] = {}

    map_incremental_events(page, requesters=requesters)
    alone = map_incremental_events(later)
    carried = map_incremental_events(later, requesters=requesters)

    assert requesters == {"35436": "20978392", "35437": "51238107"}
    assert alone.events == []
    assert [e["author"] for e in carried.events] == ["customer"]


@pytest.mark.parametrize(
    ("child", "expected"),
    [
        ({"field_name": "status", "value": "pending", "previous_value": "open"},
         {"type": "ticket.status_changed", "status": "pending"}),
        ({"status": "closed", "previous_value": "solved"},
         {"type": "ticket.status_changed", "status": "closed"}),
        ({"priority": None, "previous_value": "low"},
         {"type": "ticket.priority_changed", "priority": "normal"}),
        ({"field_name": "group_id", "value": "98738", "previous_value": None},
         {"type": "ticket.queue_changed", "queue": "billing"}),
        ({"field_name": "assignee_id", "value": 235323, "previous_value": None},
         {"type": "ticket.assigned", "assignee": "235323"}),
        ({"satisfaction_score": "bad_with_comment", "previous_value": "offered"},
         {"type": "survey.csat", "score": 1}),
    ],
)  # fmt: skip
def test_map_incremental_events__change_shapes(
    child: dict[str, Any], expected: dict[str, Any]
) -> None:
    change = {"id": 2, "via": "Web form", **child, "event_type": "Change"}
    page = {"ticket_events": [{"id": 1, "ticket_id": 7, "timestamp": 1715677923, "updater_id": 5,
                               "via": "Web form", "event_type": "Audit",
                               "child_events": [change]}]}  # fmt: skip

    mapped = map_incremental_events(page, groups=GROUPS)

    assert mapped.events == [ev("7:2", expected["type"], "2024-05-14T09:12:03Z", "zd-7", **{
        k: v for k, v in expected.items() if k != "type"})]  # fmt: skip
    assert_valid_events(mapped.events, NOW_S)


@pytest.mark.parametrize(
    ("via", "channel"),
    [("Mail", "email"), ("Web form", "web"), ("Web service", "api"), ("Chat", "chat"),
     ("Phone call (inbound)", "phone"), ("Twitter", "social"), ("Facebook post", "social"),
     ({"channel": "voice"}, "phone"), ({"channel": "native_messaging"}, "chat"),
     ("Closed ticket", "other"), (None, "other")],
)  # fmt: skip
def test_map_incremental_events__channel_from_via(via: Any, channel: str) -> None:
    page = {"ticket_events": [{"id": 1, "ticket_id": 7, "timestamp": 1715677923, "via": via,
            "child_events": [{"id": 2, "status": "new", "event_type": "Create"}]}]}  # fmt: skip

    assert [e["channel"] for e in map_incremental_events(page).events] == [channel]


def test_map_incremental_events__unknown_values_and_shapes_are_counted() -> None:
    page = {"ticket_events": [
        {"id": 926256957613, "instance_id": 1, "metric": "agent_work_time", "ticket_id": 155,
         "time": "2020-10-26T12:53:12Z", "type": "measure"},
        {"id": 1, "ticket_id": 7, "timestamp": 1715677923, "child_events": [
            {"id": 2, "status": "deleted", "previous_value": "closed", "event_type": "Change"},
            {"id": 3, "priority": "critical", "previous_value": "low", "event_type": "Change"},
            {"id": 4, "360012345678": "gold", "previous_value": "silver", "event_type": "Change"},
            {"id": 5, "call_id": 99, "event_type": "VoiceComment"},
            {"id": 6, "author_id": -1, "public": True, "event_type": "Comment"},
            "not an object"]},
        {"id": 8, "child_events": []},
    ]}  # fmt: skip

    mapped = map_incremental_events(page)

    assert mapped.events == []
    assert mapped.unmapped == Counter({
        "zendesk ticket_event 'measure' without child_events": 1,
        "zendesk status 'deleted'": 1,
        "zendesk priority 'critical'": 1,
        "zendesk Change field 'custom field'": 1,
        "zendesk VoiceComment child_event": 1,
        "zendesk child_event that is not an object": 1,
        "zendesk ticket_event without ticket_id or time": 1,
    })  # fmt: skip
    assert mapped.skipped == Counter({"zendesk comment by the system user (-1)": 1})


def test_map_webhook__ticket_events_give_the_exact_events() -> None:
    mapped = [map_webhook(p, groups={"360000871234": "escalations"}) for p in load("webhooks.json")]

    events = [e for m in mapped for e in m.events]
    tid = "zd-5158"
    assert events == [
        ev("5158:webhook:cbe4028c-7239-495d-b020-f22348516046", "ticket.created",
           "2024-05-14T09:12:03.672717Z", tid, queue="group-8447320466430", priority="high",
           channel="email", status="new", assignee=None),
        ev("5158:webhook:c6d7e8f9-0a1b-2c3d-4e5f-6a7b8c9d0e1f", "ticket.assigned",
           "2024-05-14T09:31:18.789012Z", tid, assignee="8447388090496"),
        ev("5158:webhook:a8b9c1d2-3e4f-5a6b-7c8d-9e0f1a2b3c4d", "ticket.status_changed",
           "2024-05-14T09:31:18.790112Z", tid, status="open"),
        ev("5158:9876543210", "ticket.message", "2024-05-14T09:31:18.801234Z", tid,
           author="agent", public=True),
        ev("5158:webhook:0b3f9a51-64a2-4f1e-9c88-2f7e35d1a0c4", "ticket.queue_changed",
           "2024-05-14T09:31:18.812345Z", tid, queue="escalations"),
        ev("5158:webhook:5e2a7c1d-98b4-4b0f-a3d6-71c2e9f04b18", "ticket.priority_changed",
           "2024-05-14T09:45:00.120000Z", tid, priority="urgent"),
        ev("5158:9876543311", "ticket.message", "2024-05-14T10:30:12Z", tid,
           author="customer", public=True),
        ev("5158:webhook:f7e6d5c4-b3a2-4190-8f7e-6d5c4b3a2918", "ticket.status_changed",
           "2024-05-14T11:00:05Z", tid, status="on_hold"),
    ]  # fmt: skip
    unmapped = sum((m.unmapped for m in mapped), Counter())
    assert unmapped == Counter({
        "zendesk webhook tags_changed": 1,
        "zendesk webhook type 'zen:event-type:user.active_changed'": 1,
    })  # fmt: skip
    assert_valid_events(events, NOW_S)
    again = [e for p in load("webhooks.json") for e in map_webhook(p).events]
    assert [e["event_id"] for e in again] == [e["event_id"] for e in events]


def test_map_webhook__comment_without_is_staff_uses_agent_ids_or_the_requester() -> None:
    payload = load("webhooks.json")[3]
    del payload["event"]["comment"]["author"]["is_staff"]

    by_requester = map_webhook(payload)  # author 8447388090496 is not the requester
    by_agents = map_webhook(payload, agent_ids=["8447388090494"])  # nor one of these agents

    assert [e["author"] for e in by_requester.events] == ["agent"]
    assert [e["author"] for e in by_agents.events] == ["customer"]


def test_map_webhook__incomplete_payload_is_unmapped() -> None:
    payload = load("webhooks.json")[0]
    payload["time"] = "yesterday"

    mapped = map_webhook(payload)

    assert mapped.events == []
    assert mapped.unmapped == Counter(
        {"zendesk webhook created without ticket id, time or event id": 1}
    )
