"""SLA deadlines in the processor: breaches with no further event, handover on rebalance."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from stream.domain.calendars import AlwaysOpen
from stream.domain.policies import PolicySet, SlaPolicy
from stream.processing.config import ProcessorConfig
from stream.processing.messages import Message
from stream.processing.processor import Processor
from stream.processing.routing import partition_for
from stream.processing.snapshot import Snapshot, take_snapshot
from tests.helpers.events import created, reply, ts
from tests.processing.test_processor import PARTS, TOPIC, Feed

POLICIES = PolicySet([SlaPolicy("all", AlwaysOpen(), {"first_reply": 600.0, "resolution": 7200.0},
                                at_risk_within_s=300.0)])  # fmt: skip
BREACH = ("sla_breached", "billing", "normal", "first_reply")


def event_clock(store: dict[str, Any] | None = None) -> Processor:
    config = ProcessorConfig(input_topic=TOPIC, partitions=PARTS, policies=POLICIES, clock="event")
    proc = Processor(config, {} if store is None else store, wall=lambda: ts(0))
    proc.assign(range(PARTS))
    return proc


def snap(proc: Processor) -> Snapshot:
    return take_snapshot(proc.aggregates, proc.records, now_s=proc.clock_s(ts(0)), held=0,
                         sla_clocks=proc.sla_clocks(ts(0)))  # fmt: skip


def other_ticket_at(feed: Feed, t: float, n: int, near: str = "A") -> None:
    """Advance the stream time of ticket ``near``'s partition with another ticket's event.

    With the event clock, SLA deadlines run on their partition's own stream time.
    """
    target = partition_for(near, PARTS)
    ticket = next(f"other-{n}-{i}" for i in range(1000)
                  if partition_for(f"other-{n}-{i}", PARTS) == target)  # fmt: skip
    feed.event(created(t, ticket=ticket, queue="sales"))


def test_event_clock__a_partition_clock_ignores_other_partitions(proc: Processor) -> None:
    feed = Feed(proc)
    feed.event(created(0, ticket="A"))
    far = next(f"far-{i}" for i in range(1000)
               if partition_for(f"far-{i}", PARTS) != partition_for("A", PARTS))  # fmt: skip
    feed.event(created(2000, ticket=far, queue="sales"))
    assert proc.fire_deadlines(ts(0)) == 0  # A's partition is still at 0
    assert snap(proc).sla_breached[("billing", "normal", "first_reply")] == 0
    other_ticket_at(feed, 2000, 1)
    assert proc.fire_deadlines(ts(0)) == 1


@pytest.fixture
def proc() -> Processor:
    return event_clock()


def test_fire_deadlines__breach_with_no_further_event_for_the_ticket(proc: Processor) -> None:
    feed = Feed(proc)
    feed.event(created(0, ticket="A"))
    other_ticket_at(feed, 500, 1)
    assert proc.fire_deadlines(ts(0)) == 0
    s = snap(proc)
    assert s.sla_at_risk[("billing", "normal", "first_reply")] == 1
    assert s.sla_next_breach_s["billing"] == 100.0
    assert s.sla_due[("billing", "first_reply", "15m")] == 1
    other_ticket_at(feed, 600, 2)  # exactly the deadline: not a breach yet
    assert proc.fire_deadlines(ts(0)) == 0
    other_ticket_at(feed, 601, 3)
    assert proc.fire_deadlines(ts(0)) == 1
    s = snap(proc)
    assert s.counters[BREACH] == 1
    assert s.sla_breached[("billing", "normal", "first_reply")] == 1
    assert s.sla_at_risk[("billing", "normal", "first_reply")] == 0
    assert s.windows[("sla_breached", "billing", "first_reply", "1h")] == 1
    assert s.sla_next_breach_s["billing"] == 7200.0 - 601.0  # resolution is next
    assert proc.fire_deadlines(ts(0)) == 0  # fired once


def test_fire_deadlines__the_breached_ticket_is_written_to_the_changelog(proc: Processor) -> None:
    feed = Feed(proc)
    feed.event(created(0, ticket="A"))
    other_ticket_at(feed, 700, 1)
    proc.take_effects()
    proc.fire_deadlines(ts(0))
    writes = {key: value for _, key, value in proc.take_effects().writes}
    assert "t:A" in writes and ["sla_breached", "billing", "normal", "first_reply"] in [
        list(v) for v in writes["t:A"]["c"].values()
    ]


def test_rebalance__deadlines_move_with_their_partition_and_count_once(proc: Processor) -> None:
    feed = Feed(proc)
    feed.event(created(0, ticket="A"))
    feed.event(created(0, ticket="B"))
    other_ticket_at(feed, 650, 1)
    other_ticket_at(feed, 650, 2, near="B")
    proc.fire_deadlines(ts(0))
    before = snap(proc)
    assert before.counters[BREACH] == 2
    store = {k: v.to_dict() for k, v in proc.store.items()}
    # The partition of A moves to a new worker, which recovers the same changelog.
    pa = partition_for("A", PARTS)
    proc.revoke([pa])
    fresh = Processor(proc.config, dict(store), wall=lambda: ts(0))
    fresh.assign([pa])
    assert len(fresh.deadlines[pa]) >= 1  # A's resolution deadline came along
    assert fresh.fire_deadlines(ts(0)) == 0  # the breach was counted before the move
    merged = {k: v for k, v in snap(fresh).counters.items() if v}
    merged_old = {k: v for k, v in snap(proc).counters.items() if v}
    total = merged.get(BREACH, 0) + merged_old.get(BREACH, 0)
    assert total == 2


def test_wall_clock__deadline_fires_at_wall_time_without_events() -> None:
    now = [ts(0)]
    config = ProcessorConfig(input_topic=TOPIC, partitions=PARTS, policies=POLICIES)
    proc = Processor(config, {}, wall=lambda: now[0])
    proc.assign(range(PARTS))
    proc.catching_up.clear()  # the runtime saw every partition at the end of its topic
    p = partition_for("A", PARTS)
    proc.handle(Message(TOPIC, p, 0, b"A", orjson.dumps(created(0, ticket="A")), {}), ts(1))
    assert proc.fire_deadlines(ts(600)) == 0
    assert proc.fire_deadlines(ts(600.2)) == 1
    s = take_snapshot(proc.aggregates, proc.records, now_s=ts(601), held=0)
    assert s.counters[BREACH] == 1


def test_reply_before_deadline__unschedules_the_first_reply_deadline(proc: Processor) -> None:
    feed = Feed(proc)
    feed.event(created(0, ticket="A"))
    feed.event(reply(100, ticket="A"))
    p = partition_for("A", PARTS)
    assert proc.deadlines[p].get("t:A") == ts(7200)  # only resolution is left
    other_ticket_at(feed, 5000, 1)
    assert proc.fire_deadlines(ts(0)) == 0
    assert snap(proc).counters[("sla_achieved", "billing", "normal", "first_reply")] == 1


def test_wall_clock__a_partition_catching_up_judges_deadlines_at_its_stream_time() -> None:
    # A backlog of unread events (restart, outage, backfill) must not page for replies that
    # are merely unread: until its partition is live, a ticket's clocks run on stream time.
    config = ProcessorConfig(input_topic=TOPIC, partitions=PARTS, policies=POLICIES)
    proc = Processor(config, {}, wall=lambda: ts(5000))
    proc.assign(range(PARTS))
    p = partition_for("A", PARTS)
    assert proc.catching_up == set(range(PARTS))  # until the first fetch says otherwise
    events = [created(0, ticket="A"), reply(300, ticket="A")]
    for offset, ev in enumerate(events):
        proc.handle(Message(TOPIC, p, offset, b"A", orjson.dumps(ev), {}), ts(5000))
        assert proc.fire_deadlines(ts(5000)) == 0
    proc.catching_up.discard(p)  # live again: the wall clock rules
    assert proc.fire_deadlines(ts(5000)) == 0
    s = take_snapshot(proc.aggregates, proc.records, now_s=ts(5000), held=0,
                      sla_clocks=proc.sla_clocks(ts(5000)))  # fmt: skip
    assert s.counters[BREACH] == 0
    assert s.counters[("sla_achieved", "billing", "normal", "first_reply")] == 1
    # Live, the resolution deadline (7200 s) is judged at the wall clock.
    assert proc.fire_deadlines(ts(7200.5)) == 1
