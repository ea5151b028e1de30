"""An event folded onto a ticket's state gives exactly the facts of a whole derivation.

``TicketState`` folds an event that sorts after every other into its facts and SLA walk
(one step), and walks the whole history only for an event that lands in the middle. These
tests hold the two paths equal at every step of random stories, delivered mostly in order,
partly out of order, with duplicates, and with the processing clock moving on.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from stream.domain.calendars import AlwaysOpen, BusinessCalendar
from stream.domain.facts import ContribKey
from stream.domain.policies import PolicySet, SlaPolicy
from stream.domain.rules import TicketRules
from stream.domain.ticket import TicketState, derive_ticket
from tests.helpers.events import created, csat, customer, event, interaction, nps, reply, status, ts

OFFICE = BusinessCalendar("office", "Europe/Berlin", {d: [(9 * 60, 17 * 60)] for d in range(5)})
POLICIES = PolicySet([
    SlaPolicy("urgent", AlwaysOpen(), {"first_reply": 600.0, "next_reply": 1200.0,
                                       "resolution": 3600.0},
              at_risk_within_s=300.0, priorities=frozenset({"urgent"})),
    SlaPolicy("billing", OFFICE, {"first_reply": 3600.0, "resolution": 8 * 3600.0},
              queues=frozenset({"billing"})),
    SlaPolicy("default", AlwaysOpen(), {"first_reply": 3600.0, "next_reply": 7200.0,
                                        "resolution": 86400.0}, at_risk_within_s=900.0),
])  # fmt: skip
RULES = TicketRules(fcr_reopen_window_s=3 * 3600.0, policies=POLICIES,
                    default_backlog_age_s=86400.0)  # fmt: skip

STEP = st.one_of(
    st.just(("reply", None)),
    st.just(("customer", None)),
    st.just(("private", None)),
    st.just(("interaction", None)),
    st.just(("assigned", None)),
    st.tuples(st.just("status"),
              st.sampled_from(["new", "open", "pending", "on_hold", "solved", "closed"])),
    st.tuples(st.just("priority"), st.sampled_from(["low", "normal", "high", "urgent"])),
    st.tuples(st.just("queue"), st.sampled_from(["billing", "sales"])),
    st.tuples(st.just("csat"), st.sampled_from(["1", "3", "5"])),
    st.tuples(st.just("nps"), st.sampled_from(["2", "8", "10"])),
)  # fmt: skip


def step_event(kind: str, value: str | None, t: float) -> dict[str, Any]:
    if kind == "reply":
        return reply(t)
    if kind == "customer":
        return customer(t)
    if kind == "private":
        return event("ticket.message", t, author="agent", public=False)
    if kind == "interaction":
        return interaction(t, 120.5, 10, 30)
    if kind == "assigned":
        return event("ticket.assigned", t, assignee="ann")
    if kind == "status":
        return status(t, str(value))
    if kind == "csat":
        return csat(t, int(str(value)))
    if kind == "nps":
        return nps(t, int(str(value)))
    return event(f"ticket.{kind}_changed", t, **{kind: value})


def t_of(ev: dict[str, Any]) -> float:
    return datetime.fromisoformat(ev["occurred_at"]).timestamp()


def signature(state: TicketState) -> tuple[Any, ...]:
    f, sla = state.facts, state.sla
    return (
        f.created_at, f.queue, f.priority, f.channel, f.status, f.assignee, f.closed,
        f.first_reply_at, f.first_solved_at, f.reopens, f.agent_touches, f.contrib,
        f.counted, f.observations, set(f.after_close), sla.live, sla.backlog_after_s,
        sla.contrib, sla.counted, state.open_info,
    )  # fmt: skip


def reference(state: TicketState, now_s: float) -> tuple[Any, ...]:
    """The signature of a state whose facts come from a whole derivation at ``now_s``."""
    copy = TicketState(state.ticket_id, state.partition, events=list(state.events),
                       held=state.held)  # fmt: skip
    copy.facts, copy.sla = derive_ticket(copy.events, RULES, now_s)
    return signature(copy)


@settings(max_examples=400, deadline=None)
@given(
    start=st.sampled_from(["new", "open", "pending", "solved"]),
    queue=st.sampled_from(["billing", "sales"]),
    steps=st.lists(st.tuples(STEP, st.floats(0, 6 * 3600)), max_size=16),
    swaps=st.lists(st.integers(0, 20), max_size=3),
    dupes=st.lists(st.integers(0, 20), max_size=2),
    clock_gaps=st.lists(st.floats(0, 12 * 3600), min_size=20, max_size=20),
)  # fmt: skip
def test_fold__every_step_equals_a_whole_derivation(
    start: str,
    queue: str,
    steps: list[tuple[tuple[str, str | None], float]],
    swaps: list[int],
    dupes: list[int],
    clock_gaps: list[float],
) -> None:
    events = [created(0, status=start, queue=queue, priority="high", channel="chat")]
    t = 0.0
    for (kind, value), gap in steps:
        t += gap
        events.append(step_event(kind, value, t))
    arrival = list(range(len(events)))
    for i in swaps:  # a few late events: swap neighbours
        if i + 1 < len(arrival):
            arrival[i], arrival[i + 1] = arrival[i + 1], arrival[i]
    arrival += [arrival[i] for i in dupes if i < len(arrival)]

    state = TicketState("T-1", 0)
    sums: dict[ContribKey, float] = {}
    counts: list[tuple[str, ...]] = []
    now = derived_at = ts(0)
    for n, i in enumerate(arrival):
        ev = events[i]
        now = max(now, t_of(ev)) + clock_gaps[n % len(clock_gaps)] / 4
        outcome = state.apply(ev, t=t_of(ev), raw=b"{}", src=f"in:0:{n}", via=f"in:0:{n}",
                              now_wall_s=0.0, rules=RULES, now_s=now)  # fmt: skip
        for key, d in outcome.delta.items():
            sums[key] = sums.get(key, 0.0) + d
        counts += outcome.new_counts
        if outcome.status in ("applied", "dead_letter"):  # not re-derived otherwise
            derived_at = now
        assert signature(state) == reference(state, derived_at)
        if n % 3 == 2:  # the deadline timer, between events
            now += clock_gaps[(n + 7) % len(clock_gaps)]
            outcome = state.advance(RULES, now)
            for key, d in outcome.delta.items():
                sums[key] = sums.get(key, 0.0) + d
            counts += outcome.new_counts
            derived_at = now
            assert signature(state) == reference(state, now)
    # The deltas handed to the aggregates add up to the ticket's contributions (a delta
    # of 0, such as a first reply at the creation instant, is not handed over).
    nonzero = {k: c for k, c in state.facts.contrib.items() if c}
    assert {k: d for k, d in sums.items() if d} == nonzero
    assert sorted(counts) == sorted(state.counted.values())


def test_fold__event_after_close_is_dead_lettered_and_changes_nothing() -> None:
    state = TicketState("T-1", 0)
    for n, ev in enumerate([created(0), reply(60), status(120, "closed")]):
        state.apply(ev, t=t_of(ev), raw=b"{}", src=f"in:0:{n}", via=f"in:0:{n}",
                    now_wall_s=0.0, rules=RULES, now_s=ts(200))  # fmt: skip
    before = signature(state)
    late = reply(300)
    outcome = state.apply(late, t=t_of(late), raw=b"late", src="in:0:9", via="in:0:9",
                          now_wall_s=0.0, rules=RULES, now_s=ts(400))  # fmt: skip
    assert outcome.status == "dead_letter" and outcome.applied == 0
    assert [(d.raw, d.reason) for d in outcome.dead_letters] == [(b"late", "ticket_closed")]
    assert outcome.delta == {} and signature(state) == before
    assert len(state.events) == 3
