"""Ticket state: duplicates, holding, closed tickets, redelivery, serialisation."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from stream.domain.rules import TicketRules
from stream.domain.ticket import (
    ACCOUNTED,
    APPLIED,
    DEAD_LETTER,
    DUPLICATE,
    HELD,
    TICKET_CLOSED,
    UNKNOWN_TICKET,
    TicketState,
)
from stream.domain.windows import bucket_of
from tests.helpers.events import created, reply, status, ts

WEEK = 7 * 86400.0
RULES = TicketRules(fcr_reopen_window_s=WEEK)


def t_of(ev: dict[str, Any]) -> float:
    return datetime.fromisoformat(ev["occurred_at"]).timestamp()


def put(state: TicketState, ev: dict[str, Any], via: str, src: str | None = None,
        now: float = 0.0) -> Any:  # fmt: skip
    return state.apply(ev, t=t_of(ev), raw=b"raw-" + via.encode(), src=src or via, via=via,
                       now_wall_s=now, rules=RULES, now_s=0.0)  # fmt: skip


def test_apply__duplicate_event_id_changes_nothing() -> None:
    state = TicketState("T-1", 0)
    put(state, created(0), "in:0:0")
    r = reply(60)
    first = put(state, r, "in:0:1")
    before = dict(state.facts.contrib)
    again = put(state, r, "in:0:7")
    assert (first.status, first.applied) == (APPLIED, 1)
    assert (again.status, again.applied, again.delta) == (DUPLICATE, 0, {})
    assert state.facts.contrib == before


def test_apply__redelivered_message_is_counted_once_as_applied() -> None:
    state = TicketState("T-1", 0)
    c = created(0)
    put(state, c, "in:0:0")
    again = put(state, c, "in:0:0")
    assert (again.status, again.applied, again.delta) == (APPLIED, 1, {})


def test_apply__second_copy_of_rekeyed_message_is_already_accounted() -> None:
    state = TicketState("T-1", 0)
    c = created(0)
    put(state, c, "rk:0:0", src="in:3:5")
    assert put(state, c, "rk:0:1", src="in:3:5").status == ACCOUNTED


def test_apply__events_before_created_are_held_then_released() -> None:
    state = TicketState("T-1", 0)
    held = put(state, reply(60), "in:0:0")
    assert held.status == HELD and held.applied == 0 and len(state.held) == 1
    out = put(state, created(0), "in:0:1")
    assert (out.status, out.applied, out.released) == (APPLIED, 2, 1)
    assert state.facts.first_reply_at is not None and not state.held


def test_apply__held_events_expire_as_unknown_ticket() -> None:
    state = TicketState("T-1", 0)
    put(state, reply(60), "in:0:0", now=1000.0)
    assert state.expire_held(1599.0, 600.0) == []
    [dl] = state.expire_held(1600.0, 600.0)
    assert (dl.reason, dl.raw, dl.src) == (UNKNOWN_TICKET, b"raw-in:0:0", "in:0:0")
    assert not state.held


def test_apply__event_after_close_is_dead_lettered() -> None:
    state = TicketState("T-1", 0)
    put(state, created(0), "in:0:0")
    put(state, status(100, "closed"), "in:0:1")
    out = put(state, reply(200), "in:0:2")
    assert out.status == DEAD_LETTER and out.applied == 0
    assert [(d.reason, d.raw) for d in out.dead_letters] == [(TICKET_CLOSED, b"raw-in:0:2")]
    assert state.facts.first_reply_at is None
    # A late event from before the close is still applied.
    late = put(state, reply(50), "in:0:3")
    assert late.status == APPLIED and state.facts.first_reply_at is not None


def test_apply__late_event_retracts_exactly_what_it_changes() -> None:
    state = TicketState("T-1", 0)
    put(state, created(0), "in:0:0")
    put(state, reply(900), "in:0:1")
    out = put(state, reply(300), "in:0:2")  # an earlier reply arrives late
    b900, b300 = bucket_of(ts(900)), bucket_of(ts(300))
    assert out.delta == {
        ("w", "first_reply_seconds_sum", "billing", "", b900): -900.0,
        ("w", "first_reply_seconds_count", "billing", "", b900): -1.0,
        ("w", "first_reply_seconds_sum", "billing", "", b300): 300.0,
        ("w", "first_reply_seconds_count", "billing", "", b300): 1.0,
        # No SLA policy here: the business-time FRT is plain calendar time.
        ("w", "first_reply_business_seconds_sum", "billing", "", b900): -900.0,
        ("w", "first_reply_business_seconds_sum", "billing", "", b300): 300.0,
    }
    # The histogram and counters keep what was seen first (they never go down).
    assert out.new_observations == []


def test_apply__counters_record_each_fact_once() -> None:
    state = TicketState("T-1", 0)
    c = put(state, created(0), "in:0:0")
    s = put(state, status(60, "solved"), "in:0:1")
    assert c.new_counts == [("created", "billing", "normal", "email")]
    assert s.new_counts == [("solved", "billing", "normal", "email")]
    assert [o[0] for o in s.new_observations] == ["resolution"]


def test_serialisation__round_trip_keeps_facts_and_dedupe() -> None:
    state = TicketState("T-1", 2)
    put(state, created(0), "in:2:0")
    r = reply(60)
    put(state, r, "in:2:1")
    put(state, status(120, "pending"), "in:2:2")
    put(state, reply(30, ticket="T-1"), "in:2:3")
    loaded = TicketState.from_dict(state.to_dict(), rules=RULES, now_s=0.0)
    assert loaded.facts.contrib == state.facts.contrib
    assert loaded.counted == state.counted and loaded.observed == state.observed
    assert put(loaded, r, "in:2:9").status == DUPLICATE
