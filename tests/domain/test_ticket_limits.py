"""A ticket's limits: a runaway producer cannot grow one ticket's state without bound.

Each ticket is one changelog record, and a Kafka topic takes at most 1 MiB per record by
default; a record the broker refuses stops the worker. Past ``max_events`` kept events, or
``max_held_bytes`` of events waiting for their ``ticket.created``, further events are
dead-lettered as ``too_large`` and the ticket stays as it was.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import orjson

from stream.domain.definitions import DEFAULT_MAX_HELD_BYTES, DEFAULT_MAX_TICKET_EVENTS
from stream.domain.rules import TicketRules
from stream.domain.ticket import (
    APPLIED,
    DEAD_LETTER,
    DUPLICATE,
    HELD,
    TICKET_TOO_LARGE,
    TicketState,
)
from tests.helpers.events import created, customer, reply

RULES = TicketRules(max_events=5, max_held_bytes=1000)


def put(state: TicketState, ev: dict[str, Any], n: int, rules: TicketRules = RULES) -> Any:
    t = datetime.fromisoformat(ev["occurred_at"]).timestamp()
    return state.apply(ev, t=t, raw=orjson.dumps(ev), src=f"in:0:{n}", via=f"in:0:{n}",
                       now_wall_s=0.0, rules=rules, now_s=t)  # fmt: skip


def test_limits__events_past_max_events_are_dead_lettered_and_change_nothing() -> None:
    state = TicketState("T-1", 0)
    assert put(state, created(0), 0).status == APPLIED
    for n in range(1, 5):
        assert put(state, reply(60 * n, event_id=f"r{n}"), n).status == APPLIED
    before = (list(state.events), dict(state.facts.contrib), state.seq, state.to_dict())
    late = reply(600, event_id="r5")
    outcome = put(state, late, 5)
    assert outcome.status == DEAD_LETTER and outcome.applied == 0 and not outcome.changed
    [dead] = outcome.dead_letters
    assert dead.reason == TICKET_TOO_LARGE and dead.raw == orjson.dumps(late)
    assert dead.src == "in:0:5"
    assert dead.detail == ("ticket 'T-1' already keeps 5 events, the most one ticket keeps "
                           "(MAX_TICKET_EVENTS)")  # fmt: skip
    assert outcome.delta == {} and outcome.new_counts == []
    assert (list(state.events), dict(state.facts.contrib), state.seq, state.to_dict()) == before
    # A copy of a kept event is still a duplicate, not a dead letter.
    assert put(state, reply(60, event_id="r1"), 6).status == DUPLICATE


def test_limits__held_events_past_max_held_bytes_are_dead_lettered() -> None:
    state = TicketState("T-1", 0)
    sizes = []
    n = 0
    while True:
        ev = customer(10 + n, event_id=f"m{n}", body="x" * 200)
        outcome = put(state, ev, n)
        if outcome.status != HELD:
            break
        sizes.append(len(orjson.dumps(ev)))
        n += 1
    assert sum(sizes) <= 1000 < sum(sizes) + len(orjson.dumps(ev))
    assert outcome.status == DEAD_LETTER and not outcome.changed
    [dead] = outcome.dead_letters
    assert dead.reason == TICKET_TOO_LARGE
    assert "(MAX_HELD_BYTES)" in dead.detail and f"holds {len(sizes)} events" in dead.detail
    assert len(state.held) == len(sizes)
    # The creation still comes in, and releases what was held.
    released = put(state, created(0), 99)
    assert released.status == APPLIED and released.applied == 1 + len(sizes)


def test_limits__a_ticket_at_the_default_limits_fits_the_brokers_default_record() -> None:
    # The largest ticket state at the defaults, with the longest ids the contract allows and
    # 30-character topic names, serialises to less than Kafka's default 1 MiB per record.
    rules = TicketRules()
    state = TicketState("T" * 64, 0)
    topic = "support.ticket-events.rekeyed"
    for n in range(DEFAULT_MAX_TICKET_EVENTS + 5):
        ev = reply(n, event_id=f"{n:0128d}") if n else created(0, event_id="c" * 128)
        t = datetime.fromisoformat(ev["occurred_at"]).timestamp()
        state.apply(ev, t=t, raw=b"{}", src=f"{topic}:11:{10**9 + n}",
                    via=f"{topic}:3:{10**9 + n}", now_wall_s=0.0, rules=rules,
                    now_s=t)  # fmt: skip
    assert len(state.events) == DEFAULT_MAX_TICKET_EVENTS
    assert len(orjson.dumps(state.to_dict())) < 1_000_000
    waiting = TicketState("T" * 64, 0)
    n = 0
    while put(waiting, customer(n, event_id=f"{n:0128d}", body='"' * 2000), n,
              rules).status == HELD:  # fmt: skip
        n += 1
    assert sum(len(h.raw) for h in waiting.held) <= DEFAULT_MAX_HELD_BYTES
    assert len(orjson.dumps(waiting.to_dict())) < 1_000_000
