"""Realistic events from the simulator, and a fast publisher for them.

Every event is keyed as ``supportpulse replay`` keys it (:func:`entity_key`: the ticket id,
or the agent / NPS key) and sent to the partition Kafka's default partitioner gives that key
(murmur2, :func:`partition_for`), so the worker never has to re-key. The Kafka timestamp is
``occurred_at``, as a replay sets it.
"""

from __future__ import annotations

import asyncio
import collections
import math
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import orjson
from aiokafka import AIOKafkaProducer

from stream.domain.vocabulary import UNSOLVED
from stream.kafka.topics import ensure_topics
from stream.processing.routing import entity_key, partition_for
from stream.simulate.generator import generate_events
from stream.simulate.profile import Profile

Event = dict[str, Any]

#: Events the simulator writes per (ticket per minute) per hour of history, measured over a
#: whole day (the daily curve included): 60 tickets/min for 24 h gives about 900,000.
EVENTS_PER_RATE_HOUR = 625.0


@dataclass(frozen=True, slots=True)
class Record:
    """One Kafka record: partition, key, value and timestamp (epoch ms)."""

    partition: int
    key: bytes
    value: bytes
    timestamp_ms: int


@dataclass
class Mix:
    """What a set of events contains, to show that it is realistic."""

    events: int = 0
    types: collections.Counter[str] = field(default_factory=collections.Counter)
    queues: collections.Counter[str] = field(default_factory=collections.Counter)
    partitions: collections.Counter[int] = field(default_factory=collections.Counter)
    tickets: int = 0
    open_tickets: int = 0
    span_s: float = 0.0
    bytes: int = 0

    def describe(self) -> str:
        """A few lines for the report."""
        types = ", ".join(f"{t} {n / self.events:.1%}" for t, n in self.types.most_common())
        queues = ", ".join(f"{q} {n}" for q, n in self.queues.most_common())
        parts = ", ".join(f"p{p} {n}" for p, n in sorted(self.partitions.items()))
        return (
            f"{self.events:,} events, {self.tickets:,} tickets ({self.open_tickets:,} unsolved "
            f"at the end), {self.span_s / 3600:.1f} h of event time, "
            f"{self.bytes / self.events:.0f} B/event\n"
            f"    types: {types}\n    tickets created per queue: {queues}\n"
            f"    partitions: {parts}"
        )


def to_record(event: Event, partitions: int, raw: bytes | None = None) -> Record:
    """Key, partition and timestamp of an event, as ``supportpulse replay`` publishes it."""
    key = entity_key(event)
    if key is None:
        raise ValueError(f"event without a key: {event}")
    value = raw if raw is not None else orjson.dumps(event)
    return Record(partition_for(key, partitions), key.encode(), value,
                  _epoch_ms(event["occurred_at"]))  # fmt: skip


def _epoch_ms(occurred_at: str) -> int:
    from datetime import datetime

    return int(datetime.fromisoformat(occurred_at).timestamp() * 1000)


class _Tracker:
    """Follows ticket status while events are generated (open = created, not solved)."""

    def __init__(self, partitions: int) -> None:
        self.mix = Mix()
        self.partitions = partitions
        self.open: set[str] = set()
        self.tickets = 0
        self.first_s = math.inf
        self.last_s = 0.0

    def add(self, event: Event, record: Record) -> None:
        mix = self.mix
        mix.events += 1
        mix.bytes += len(record.value)
        etype = event["type"]
        mix.types[etype] += 1
        mix.partitions[record.partition] += 1
        t = record.timestamp_ms / 1000
        self.first_s = min(self.first_s, t)
        self.last_s = max(self.last_s, t)
        tid = str(event.get("ticket_id"))
        if etype == "ticket.created":
            mix.queues[event["queue"]] += 1
            self.tickets += 1
            self.open.add(tid)
        elif etype == "ticket.status_changed":
            if event["status"] in UNSOLVED:
                self.open.add(tid)
            else:
                self.open.discard(tid)

    def finish(self) -> Mix:
        self.mix.tickets = self.tickets
        self.mix.open_tickets = len(self.open)
        self.mix.span_s = self.last_s - self.first_s if self.mix.events else 0.0
        return self.mix


def history(
    n: int, *, seed: int, partitions: int, span_h: float = 24.0, end_before_s: float
) -> tuple[list[Record], Mix]:
    """The first ``n`` events of a realistic history of about ``span_h`` hours.

    The arrival rate is chosen so that ``n`` events cover ``span_h`` hours of the daily
    curve (all five queues, every channel and event type); the history starts far enough
    before ``end_before_s`` that none of it lies in the future. Tickets still running when
    the history is cut stay unsolved, as in a live help desk.
    """
    rate = n / (EVENTS_PER_RATE_HOUR * span_h)
    duration_s = span_h * 3600 * 1.5  # margin: the day's curve is not exactly average
    start_s = math.floor(end_before_s - duration_s - 3600)
    tracker = _Tracker(partitions)
    records: list[Record] = []
    for event in generate_events(seed=seed, start_s=start_s, duration_s=duration_s,
                                 tickets_per_minute=rate):  # fmt: skip
        rec = to_record(event, partitions)
        tracker.add(event, rec)
        records.append(rec)
        if len(records) == n:
            break
    if len(records) < n:
        raise ValueError(f"the simulator gave only {len(records)} of {n} events")
    return records, tracker.finish()


def open_ticket_burst(
    open_target: int, *, seed: int, partitions: int, start_s: float
) -> tuple[list[Record], Mix]:
    """A busy help desk cut at the moment it holds ``open_target`` unsolved tickets.

    The simulator runs at a very high arrival rate (its agent roster kept at its default
    size, so agents do not outnumber tickets) and the stream is cut as soon as
    ``open_target`` tickets are unsolved: the state of a help desk with that backlog, each
    ticket with the events of its first minutes (created, assigned, messages, ...).
    """
    rate = open_target / 10.0  # tickets per minute: the target in about 10 simulated minutes
    profile = Profile(reference_tickets_per_minute=rate)
    tracker = _Tracker(partitions)
    records: list[Record] = []
    for event in generate_events(seed=seed, start_s=start_s, duration_s=6 * 3600,
                                 tickets_per_minute=rate, profile=profile):  # fmt: skip
        rec = to_record(event, partitions)
        tracker.add(event, rec)
        records.append(rec)
        if len(tracker.open) >= open_target:
            break
    return records, tracker.finish()


def live_pool(n: int, *, seed: int) -> Iterator[Event]:
    """``n`` realistic events in order, for the paced producer (which re-times them).

    A full day at 60 tickets per minute, from its start: the mix matures within the first
    simulated hour (replies, solves, surveys on earlier tickets).
    """
    start_s = math.floor(time.time()) - 3 * 86400
    events = generate_events(seed=seed, start_s=start_s, duration_s=86400 * 7,
                             tickets_per_minute=60.0)  # fmt: skip
    for count, event in enumerate(events, 1):
        yield event
        if count == n:
            return


# -- publishing -------------------------------------------------------------------------


def create_topic(bootstrap: list[str], topic: str, partitions: int) -> None:
    """Create the topic with ``partitions`` partitions (as ``replay --partitions`` does)."""
    ensure_topics(bootstrap, {topic: partitions})


async def publish(
    bootstrap: list[str], topic: str, records: Iterable[Record], *, batch_bytes: int = 512 * 1024
) -> float:
    """Publish records as fast as possible, in order per partition; return the seconds taken.

    One task per partition fills record batches directly (aiokafka's ``create_batch``),
    which avoids the per-message overhead of ``send``; each partition keeps one batch in
    flight, so order within a partition is kept.
    """
    by_partition: dict[int, list[Record]] = collections.defaultdict(list)
    for rec in records:
        by_partition[rec.partition].append(rec)
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=0,
                                max_batch_size=batch_bytes,
                                max_request_size=2 * batch_bytes)  # fmt: skip
    await producer.start()
    started = time.monotonic()
    try:
        await asyncio.gather(*(_publish_partition(producer, topic, p, recs)
                               for p, recs in by_partition.items()))  # fmt: skip
        await producer.flush()
    finally:
        await producer.stop()
    return time.monotonic() - started


async def _publish_partition(
    producer: AIOKafkaProducer, topic: str, partition: int, records: list[Record]
) -> None:
    futures = []
    batch = producer.create_batch()
    for rec in records:
        if batch.append(key=rec.key, value=rec.value, timestamp=rec.timestamp_ms) is None:
            futures.append(await producer.send_batch(batch, topic, partition=partition))
            batch = producer.create_batch()
            if batch.append(key=rec.key, value=rec.value, timestamp=rec.timestamp_ms) is None:
                raise ValueError(f"a record of {len(rec.value)} bytes does not fit a batch")
    if batch.record_count():
        futures.append(await producer.send_batch(batch, topic, partition=partition))
    for fut in futures:
        await fut
