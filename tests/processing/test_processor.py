"""The processor without Faust: routing, accounting, dead letters, redelivery, rebuild."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from stream.processing.config import ProcessorConfig
from stream.processing.messages import SRC_HEADER, Message, record_key
from stream.processing.processor import Processor
from stream.processing.routing import partition_for
from stream.processing.snapshot import take_snapshot
from tests.helpers.events import created, nps, reply, status, ts

TOPIC = "support.ticket-events"
PARTS = 4
NOW = ts(3000)


class Feed:
    """Publishes to an in-memory 'topic' the way a murmur2 producer would."""

    def __init__(self, proc: Processor) -> None:
        self.proc = proc
        self.offsets: dict[tuple[str, int], int] = {}
        self.forwarded: list[int] = []

    def send(self, raw: bytes, key: str | None, partition: int | None = None,
             topic: str = TOPIC, headers: dict[str, bytes] | None = None) -> Message:  # fmt: skip
        p = partition if partition is not None else partition_for(key or "", PARTS)
        off = self.offsets.get((topic, p), 0)
        self.offsets[(topic, p)] = off + 1
        msg = Message(topic, p, off, key.encode() if key else None, raw, headers or {})
        self.proc.handle(msg, NOW)
        self._deliver_forwards()
        return msg

    def event(self, ev: dict[str, Any], partition: int | None = None) -> Message:
        return self.send(orjson.dumps(ev), ev.get("ticket_id"), partition)

    def _deliver_forwards(self) -> None:
        effects = self.proc.take_effects()
        for fwd in effects.forwards:
            self.forwarded.append(fwd.partition)
            self.send(
                fwd.value,
                fwd.key.decode(),
                fwd.partition,
                topic=f"{TOPIC}.rekeyed",
                headers={SRC_HEADER: fwd.src.encode()},
            )


@pytest.fixture
def proc() -> Processor:
    p = Processor(ProcessorConfig(input_topic=TOPIC, partitions=PARTS), {})
    p.assign(range(PARTS))
    return p


def snap(proc: Processor) -> Any:
    return take_snapshot(proc.aggregates, proc.records, now_s=NOW, held=proc.held_events())


def test_processor__accounts_every_message(proc: Processor) -> None:
    feed = Feed(proc)
    c = created(0, ticket="A")
    feed.event(c)
    feed.event(reply(60, ticket="A"))
    feed.event(c)  # duplicate (new offset)
    feed.send(b"{not json", "A")
    feed.send(
        orjson.dumps(
            {
                "event_id": "x",
                "type": "ticket.exploded",
                "occurred_at": "2026-03-02T09:00:00Z",
                "ticket_id": "A",
            }
        ),
        "A",
    )
    feed.event(status(100, "closed", ticket="A"))
    feed.event(reply(200, ticket="A"))  # after close
    s = snap(proc)
    assert (s.consumed, s.applied, s.duplicate) == (7, 3, 1)
    assert {k: n for k, n in s.dead_lettered.items() if n} == {
        "invalid_json": 1,
        "unknown_type": 1,
        "ticket_closed": 1,
    }
    assert s.consumed == s.applied + s.duplicate + sum(s.dead_lettered.values()) + s.held


def test_processor__rekeys_messages_in_the_wrong_partition(proc: Processor) -> None:
    feed = Feed(proc)
    home = partition_for("B", PARTS)
    wrong = (home + 1) % PARTS
    feed.event(created(0, ticket="B"), partition=wrong)
    assert feed.forwarded == [home]
    feed.event(reply(60, ticket="B"), partition=wrong)
    s = snap(proc)
    assert (s.consumed, s.applied) == (2, 2)
    assert proc.records[wrong].consumed == 2 and proc.records[home].applied == 2
    assert s.windows[("first_reply_seconds_count", "billing", "", "1h")] == 1


def test_processor__redelivery_after_crash_counts_once(proc: Processor) -> None:
    feed = Feed(proc)
    msg = feed.event(created(0, ticket="C"))
    p = msg.partition
    # Simulate a crash after the ticket write but before the partition record write:
    proc.records[p].offsets[TOPIC] = -1
    proc.records[p].consumed -= 1
    proc.records[p].applied -= 1
    proc.handle(msg, NOW)
    s = snap(proc)
    assert (s.consumed, s.applied, s.duplicate) == (1, 1, 0)
    # And an exact redelivery of an offset already recorded is skipped.
    proc.handle(msg, NOW)
    assert snap(proc).consumed == 1


def test_processor__lone_nps_and_presence_are_applied_once(proc: Processor) -> None:
    feed = Feed(proc)
    lone = nps(60, 10, ticket=None, queue="sales")
    feed.send(orjson.dumps(lone), None)
    feed.send(orjson.dumps(lone), None)
    presence = {
        "event_id": "p1",
        "type": "agent.presence",
        "occurred_at": "2026-03-02T09:00:00Z",
        "agent": "ann",
        "status": "online",
        "queues": ["sales"],
    }
    feed.send(orjson.dumps(presence), "ann")
    feed.send(orjson.dumps(presence), "ann")
    s = snap(proc)
    assert (s.consumed, s.applied, s.duplicate) == (4, 2, 2)
    assert s.windows[("nps_promoters", "sales", "", "1h")] == 1


def test_processor__rebuild_from_store_equals_live_aggregates(proc: Processor) -> None:
    feed = Feed(proc)
    for i in range(20):
        t = f"T{i}"
        feed.event(created(i * 10, ticket=t, queue=["billing", "tech"][i % 2]))
        feed.event(reply(i * 10 + 60, ticket=t))
        if i % 3 == 0:
            feed.event(status(i * 10 + 600, "solved", ticket=t))
    live = snap(proc)
    # A fresh worker recovers the same store (serialised, as from the changelog).
    store = {k: v.to_dict() for k, v in proc.store.items()}
    fresh = Processor(ProcessorConfig(input_topic=TOPIC, partitions=PARTS), store)
    fresh.assign(range(PARTS))
    assert snap(fresh) == live
    assert record_key(0) in store


def test_processor__revoke_drops_partition_gauges(proc: Processor) -> None:
    feed = Feed(proc)
    msg = feed.event(created(0, ticket="D"))
    assert snap(proc).level
    proc.revoke([msg.partition])
    assert not snap(proc).level and msg.partition not in proc.owned


def test_processor__held_events_wait_then_expire(proc: Processor) -> None:
    feed = Feed(proc)
    feed.event(reply(60, ticket="E"))
    assert snap(proc).held == 1
    proc.expire_orphans(NOW + 599)
    assert snap(proc).held == 1
    proc.expire_orphans(NOW + 600)
    effects = proc.take_effects()
    assert [d.reason for d in effects.dead_letters] == ["unknown_ticket"]
    s = snap(proc)
    assert (s.held, s.dead_lettered["unknown_ticket"], s.consumed) == (0, 1, 1)


def test_processor__retention_drops_old_tickets_but_keeps_counters(proc: Processor) -> None:
    feed = Feed(proc)
    feed.event(created(0, ticket="F"))
    feed.event(reply(60, ticket="F"))
    feed.event(status(600, "solved", ticket="F"))
    feed.event(status(700, "closed", ticket="F"))
    feed.event(created(0, ticket="G"))  # stays open: the live backlog is never dropped
    lone = nps(700, 9, ticket=None, queue="sales")
    feed.send(orjson.dumps(lone), None)
    proc.take_effects()
    later = ts(700) + 49 * 3600 + 1
    before = take_snapshot(proc.aggregates, proc.records, now_s=later, held=0)  # fmt: skip
    assert proc.purge(ts(700) + 49 * 3600 - 1) == 0
    assert proc.purge(later) == 2  # F (closed) and the lone NPS
    effects = proc.take_effects()
    p = partition_for("F", PARTS)
    keys = [(part, key, value is None) for part, key, value in effects.writes]
    assert keys.index((p, record_key(p), False)) < keys.index((p, "t:F", True))
    proc.finish_purge()
    purged_in = sorted({p, partition_for("nps:" + lone["event_id"], PARTS)})
    rewritten = proc.take_effects().writes
    assert [(part, key) for part, key, _ in rewritten] == [(q, record_key(q)) for q in purged_in]
    assert all(value is not None and value["purging"] == [] for _, _, value in rewritten)
    after = take_snapshot(proc.aggregates, proc.records, now_s=later, held=0)  # fmt: skip
    assert after.counters == before.counters and after.histograms == before.histograms
    # A fresh worker recovering the changelog (with the tombstones) agrees exactly.
    store = {k: e.to_dict() for k, e in proc.store.items()}
    assert "t:F" not in store and "t:G" in store
    fresh = Processor(ProcessorConfig(input_topic=TOPIC, partitions=PARTS), store)
    fresh.assign(range(PARTS))
    rebuilt = take_snapshot(fresh.aggregates, fresh.records, now_s=later,
                            held=0)  # fmt: skip
    assert rebuilt.counters == before.counters and rebuilt.histograms == before.histograms
    assert rebuilt.level == after.level


def test_processor__recovery_completes_an_interrupted_purge(proc: Processor) -> None:
    feed = Feed(proc)
    feed.event(created(0, ticket="H"))
    feed.event(status(60, "closed", ticket="H"))
    proc.take_effects()
    proc.purge(ts(60) + 50 * 3600)
    p = partition_for("H", PARTS)
    # Crash after the record (listing H) was written but before H's tombstone:
    store: dict[str, Any] = {k: e.to_dict() for k, e in proc.store.items()}
    store[record_key(p)] = proc.records[p].to_dict()
    proc.take_effects()
    store["t:H"] = {"id": "H", "p": p, "n": 2, "h": [], "e": [], "o": {},
                    "c": {"created": ["created", "billing", "normal", "email"]}}  # fmt: skip
    fresh = Processor(ProcessorConfig(input_topic=TOPIC, partitions=PARTS), store)
    fresh.assign(range(PARTS))
    s = take_snapshot(fresh.aggregates, fresh.records, now_s=NOW, held=0)
    assert {k: n for k, n in s.counters.items() if n} == {
        ("created", "billing", "normal", "email"): 1
    }
    assert "t:H" not in fresh.store
    assert [(key, value) for _, key, value in fresh.take_effects().writes] == [("t:H", None)]
