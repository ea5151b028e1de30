"""Ticket facts: definitions, order independence, late corrections."""

from __future__ import annotations

import itertools
from datetime import datetime
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from stream.domain.facts import Facts, derive
from stream.domain.records import TicketEvent
from stream.domain.rules import TicketRules
from stream.domain.ticket import TicketState
from stream.domain.windows import bucket_of
from tests.helpers.events import created, csat, customer, event, interaction, reply, status, ts

DAY = 86400.0
WEEK = 7 * DAY
RULES = TicketRules(fcr_reopen_window_s=WEEK)


def t_of(ev: dict[str, Any]) -> float:
    return datetime.fromisoformat(ev["occurred_at"]).timestamp()


def apply_all(events: list[dict[str, Any]], ticket: str = "T-1") -> TicketState:
    state = TicketState(ticket, 0)
    for i, ev in enumerate(events):
        state.apply(ev, t=t_of(ev), raw=b"{}", src=f"in:0:{i}", via=f"in:0:{i}",
                    now_wall_s=0.0, rules=RULES, now_s=0.0)  # fmt: skip
    return state


def windowed(facts: Facts, metric: str) -> dict[tuple[str, int], float]:
    return {(k[2], int(k[4])): val for k, val in facts.contrib.items()
            if k[0] == "w" and k[1] == metric}  # fmt: skip


def test_derive__simple_story_gives_frt_ttr_and_fcr() -> None:
    state = apply_all([created(0, priority="high"), reply(600), status(3600, "solved")])
    f = state.facts
    assert f.first_reply_at == ts(600)
    assert f.first_solved_at == ts(3600)
    assert f.agent_touches == 1
    assert windowed(f, "first_reply_seconds_sum") == {("billing", bucket_of(ts(600))): 600.0}
    assert windowed(f, "resolution_seconds_sum") == {("billing", bucket_of(ts(3600))): 3600.0}
    assert windowed(f, "fcr_eligible_tickets") == {("billing", bucket_of(ts(3600))): 1.0}
    assert windowed(f, "fcr_tickets") == {("billing", bucket_of(ts(3600))): 1.0}
    assert windowed(f, "severity_sum") == {("billing", bucket_of(ts(0))): 3.0}
    assert state.counted["created"] == ("created", "billing", "high", "email")
    assert not f.unsolved


def test_derive__internal_note_is_not_a_reply() -> None:
    state = apply_all([created(0), event("ticket.message", 60, author="agent", public=False)])
    assert state.facts.first_reply_at is None
    assert windowed(state.facts, "first_reply_seconds_count") == {}


def test_derive__two_touches_is_eligible_but_not_fcr() -> None:
    state = apply_all([created(0), reply(60), interaction(120, 300, 30, 60), status(600, "solved")])
    assert state.facts.agent_touches == 2
    assert windowed(state.facts, "fcr_eligible_tickets") == {("billing", bucket_of(ts(600))): 1}
    assert windowed(state.facts, "fcr_tickets") == {}
    assert windowed(state.facts, "interactions") == {("billing", bucket_of(ts(120))): 1}
    handle = {k: val for k, val in state.facts.contrib.items() if k[1] == "handle_seconds_sum"}
    assert handle == {("w", "handle_seconds_sum", "billing", "email", bucket_of(ts(120))): 390.0}


def test_derive__solved_without_touch_is_not_eligible() -> None:
    state = apply_all([created(0), status(600, "solved")])
    assert windowed(state.facts, "fcr_eligible_tickets") == {}


def test_derive__reopen_inside_window_retracts_fcr() -> None:
    state = apply_all([created(0), reply(60), status(600, "solved")])
    assert windowed(state.facts, "fcr_tickets") == {("billing", bucket_of(ts(600))): 1}
    state2 = apply_all(
        [created(0), reply(60), status(600, "solved"), status(600 + 3 * DAY, "open")]
    )
    assert windowed(state2.facts, "fcr_tickets") == {}
    assert windowed(state2.facts, "fcr_eligible_tickets") == {("billing", bucket_of(ts(600))): 1}
    assert windowed(state2.facts, "reopened_tickets") == {
        ("billing", bucket_of(ts(600 + 3 * DAY))): 1
    }
    assert state2.facts.unsolved and state2.facts.reopens == 1


def test_derive__reopen_exactly_at_window_end_counts_inclusive() -> None:
    on_edge = apply_all([created(0), reply(60), status(600, "solved"), status(600 + WEEK, "open")])
    assert windowed(on_edge.facts, "fcr_tickets") == {}
    past = apply_all([created(0), reply(60), status(600, "solved"), status(601 + WEEK, "open")])
    assert windowed(past.facts, "fcr_tickets") == {("billing", bucket_of(ts(600))): 1}


def test_derive__csat_rerating_replaces_first_rating() -> None:
    first, second = csat(7200, 2), csat(9000, 5)
    for order in ([first, second], [second, first]):
        state = apply_all([created(0), reply(60), status(600, "solved"), *order])
        assert windowed(state.facts, "csat_responses") == {("billing", bucket_of(ts(9000))): 1}
        assert windowed(state.facts, "csat_satisfied") == {("billing", bucket_of(ts(9000))): 1}
        assert windowed(state.facts, "csat_score_sum") == {("billing", bucket_of(ts(9000))): 5}


def test_derive__facts_attributed_to_queue_at_the_fact() -> None:
    state = apply_all([
        created(0, queue="billing"), reply(60),
        event("ticket.queue_changed", 120, queue="technical"), status(600, "solved"),
    ])  # fmt: skip
    assert windowed(state.facts, "first_reply_seconds_count") == {("billing", bucket_of(ts(60))): 1}
    assert windowed(state.facts, "solved_tickets") == {("technical", bucket_of(ts(600))): 1}
    assert windowed(state.facts, "created_tickets") == {("billing", bucket_of(ts(0))): 1}


def test_derive__created_solved_counts_as_solved_at_creation() -> None:
    state = apply_all([created(0, status="solved")])
    assert windowed(state.facts, "solved_tickets") == {("billing", bucket_of(ts(0))): 1}
    assert state.facts.first_solved_at == ts(0)


def test_derive__closing_unsolved_is_not_a_solve() -> None:
    state = apply_all([created(0), status(60, "closed")])
    assert windowed(state.facts, "solved_tickets") == {}
    assert not state.facts.unsolved


def test_derive__level_contributions_follow_current_status_and_assignee() -> None:
    state = apply_all([created(0, priority="urgent"), status(60, "pending")])
    level = {k: val for k, val in state.facts.contrib.items() if k[0] == "l"}
    assert level == {
        ("l", "tickets_unsolved", "billing", "urgent", "pending"): 1,
        ("l", "tickets_unassigned", "billing", "urgent", ""): 1,
    }
    state = apply_all([created(0), event("ticket.assigned", 30, assignee="ann")])
    assert ("l", "tickets_unassigned", "billing", "normal", "") not in state.facts.contrib


STORY = [
    created(0, priority="high", channel="chat"),
    event("ticket.assigned", 30, assignee="ann"),
    customer(40),
    reply(90),
    interaction(95, 240, 20, 40),
    status(100, "pending"),
    customer(4000),
    status(4001, "open"),
    reply(4100),
    status(5000, "solved"),
    csat(6000, 3),
    status(7000, "open"),
    event("ticket.priority_changed", 7100, priority="urgent"),
    status(9000, "solved"),
    csat(9500, 5),
    status(20000, "closed"),
]


def _facts_signature(state: TicketState) -> tuple[Any, ...]:
    f = state.facts
    return (f.contrib, f.first_reply_at, f.first_solved_at, f.reopens, f.agent_touches,
            f.status, f.priority, f.queue, f.closed)  # fmt: skip


@settings(max_examples=150, deadline=None)
@given(st.permutations(STORY), st.lists(st.integers(0, len(STORY) - 1), max_size=6))
def test_derive__any_order_and_duplicates_give_the_same_facts(
    order: list[dict[str, Any]], dupes: list[int]
) -> None:
    reference = apply_all(STORY)
    shuffled = list(order) + [STORY[i] for i in dupes]
    assert _facts_signature(apply_all(shuffled)) == _facts_signature(reference)


def test_derive__every_permutation_of_a_small_story_agrees() -> None:
    story = [created(0), reply(60), status(600, "solved"), status(900, "open"), csat(950, 4)]
    reference = _facts_signature(apply_all(story))
    for perm in itertools.permutations(story):
        assert _facts_signature(apply_all(list(perm))) == reference


def test_derive__events_before_creation_are_clamped_to_creation() -> None:
    evs = [TicketEvent("a", "ticket.message", 50.0, 1, "s", "s", {"author": "agent",
           "public": True}), TicketEvent("b", "ticket.created", 100.0, 2, "s", "s",
           {"queue": "q", "priority": "low", "channel": "web", "status": "new"})]  # fmt: skip
    facts = derive(evs)
    assert facts.first_reply_at == 100.0
