"""Binds the processor to a Faust app: ownership, batches, effects, housekeeping, snapshots."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterable
from typing import Any

import faust
from faust.types import TP, TableT

from stream.domain.ticket import DeadLetter
from stream.processing.config import ProcessorConfig
from stream.processing.messages import (
    DETAIL_HEADER,
    REASON_HEADER,
    SRC_HEADER,
    TRUNCATED_HEADER,
    Forward,
    Message,
)
from stream.processing.processor import Processor
from stream.processing.snapshot import Snapshot, take_snapshot
from stream.wiring.broker_health import BrokerHealth
from stream.wiring.changelog import ChangelogWriter
from stream.wiring.delivery import Sent, deliver

log = logging.getLogger(__name__)

#: Messages applied between two turns of the event loop within a batch. A batch of 5,000
#: takes about a second of CPU; without turns, /healthz, /metrics and Faust's own tasks
#: would wait for all of it (a liveness probe with a 1 s timeout fails at full load).
YIELD_EVERY = 200
#: A dead letter the broker refuses as too large is sent again cut to this: Kafka's default
#: ``max.message.bytes`` (1 MiB plus framing) less room for the headers.
DLQ_FALLBACK_VALUE_BYTES = 1024 * 1024 - 64 * 1024


def _headers(raw: Any) -> dict[str, bytes]:
    if not raw:
        return {}
    items = raw.items() if isinstance(raw, dict) else raw
    return {k: (val if isinstance(val, bytes) else str(val).encode()) for k, val in items}


class Runtime:
    """Everything one worker process holds besides Faust itself."""

    def __init__(
        self,
        app: faust.App,
        table: TableT,
        config: ProcessorConfig,
        *,
        purge_interval_s: float = 60.0,
        catch_up_lag_s: float = 60.0,
        wall: Callable[[], float] = time.time,
        broker_health: BrokerHealth | None = None,
        dlq_max_value_bytes: int = 16 * 1024 * 1024 - 64 * 1024,
        batch_size: int = 5000,
        changelog: ChangelogWriter | None = None,
    ) -> None:
        self.app = app
        # Faust's own producer, its aiokafka producer reached when the first batch is sent.
        self.changelog = changelog or ChangelogWriter(
            lambda: app.producer._ensure_producer(),  # type: ignore[attr-defined]
            table.changelog_topic.get_topic_name(),
        )
        self.batch_size = batch_size
        # The longest dead-letter value sent whole: the producer's request limit less room
        # for the record's headers and framing.
        self.dlq_max_value_bytes = dlq_max_value_bytes
        self.table = table
        self.config = config
        self.broker_health = broker_health
        self.wall = wall
        self.catch_up_lag_s = catch_up_lag_s
        self.processor = Processor(config, table.data, wall=wall)
        # Retention scans every ticket of the owned partitions; not needed often.
        self.purge_interval_s = purge_interval_s
        self._next_purge = 0.0
        # Held while a batch is applied: the timers (deadlines, housekeeping) run between
        # batches, never in the turns a batch gives the event loop.
        self._applying = asyncio.Lock()
        self.rekey_topic = app.topic(
            config.rekey_topic, key_type=bytes, value_type=bytes,
            key_serializer="raw", value_serializer="raw",
        )  # fmt: skip
        self.dlq_topic = app.topic(
            config.dlq_topic, key_type=bytes, value_type=bytes,
            key_serializer="raw", value_serializer="raw",
        )  # fmt: skip

    # -- ownership ---------------------------------------------------------------------

    def active_input_partitions(self) -> set[int]:
        """Input partitions the group assigned to this worker as active (not standby)."""
        actives: Iterable[TP] = self.app.assignor.assigned_actives()
        return {tp.partition for tp in actives if tp.topic == self.config.input_topic}

    def sync_ownership(self) -> None:
        """Align the processor with the current assignment (called before each batch)."""
        active = self.active_input_partitions()
        owned = set(self.processor.owned)
        if active == owned:
            return
        gone, new = owned - active, active - owned
        self.processor.revoke(gone)
        self.processor.assign(new)
        log.info(
            "owns input partitions %s of %s (%d partitions); standby: %s",
            sorted(active), self.config.input_topic, self.config.partitions,
            sorted(tp.partition for tp in self.app.assignor.assigned_standbys()
                   if tp.topic == self.config.input_topic),
        )  # fmt: skip

    def on_revoked(self, revoked: Iterable[TP]) -> None:
        """Drop revoked partitions at once, so their gauges leave this worker's /metrics."""
        gone = {tp.partition for tp in revoked if tp.topic == self.config.input_topic}
        if gone:
            self.processor.revoke(gone)
            log.info("revoked input partitions %s", sorted(gone))

    def sync_catching_up(self) -> None:
        """Mark the owned partitions that are reading old events as catching up.

        A partition catches up while messages are waiting behind its read position (the
        high watermark of the consumer's last fetch) and the events read are more than
        ``catch_up_lag_s`` old; a partition at the end of its topics, or reading fresh
        events, is live. Until the first fetch says otherwise, a new partition counts as
        catching up (see ``Processor.sla_clock_s``).
        """
        proc = self.processor
        wall = self.wall()
        for p, rec in proc.records.items():
            behind = self._behind(p, rec.offsets)
            if behind is None:
                continue  # not fetched yet: keep what we knew
            catching_up = behind > 0 and wall - rec.stream_time_s > self.catch_up_lag_s
            if catching_up and p not in proc.catching_up:
                proc.catching_up.add(p)
                log.info("partition %d is catching up (%d messages behind): its SLA clocks "
                         "follow its stream time until it is live", p, behind)  # fmt: skip
            elif not catching_up and p in proc.catching_up:
                proc.catching_up.discard(p)
                log.info("partition %d is live: its SLA clocks follow the wall clock", p)

    def _behind(self, partition: int, offsets: dict[str, int]) -> int | None:
        """Messages of the partition waiting to be read (None before its first fetch)."""
        total = 0
        for topic in (self.config.input_topic, self.config.rekey_topic):
            try:
                hw = self.app.consumer.highwater(TP(topic, partition))
            except Exception:  # not assigned (yet), or the consumer is not running
                hw = None
            if hw is None:
                if topic == self.config.input_topic:
                    return None
                continue
            total += max(0, hw - 1 - offsets.get(topic, -1))
        return total

    # -- processing --------------------------------------------------------------------

    async def process_batch(self, events: Iterable[faust.EventT]) -> int:
        """Apply a batch of events from the agent's stream, then execute the effects."""
        return await self._apply([e.message for e in events])

    async def process_messages(self, messages: list[Any]) -> None:
        """Apply the messages of one fetch (see ``FastConsumer``), then ack them.

        Acked only once their effects are on the broker (``flush_effects`` waits for
        them): an offset is never committed before its effects are sent.
        """
        ack = self.app.consumer.ack
        size = self.batch_size
        for start in range(0, len(messages), size):
            chunk = messages[start : start + size]
            await self._apply(chunk)
            for m in chunk:
                ack(m)

    async def _apply(self, messages: list[Any]) -> int:
        async with self._applying:
            self.sync_ownership()
            self.sync_catching_up()  # a batch of old events must not be judged at wall time
            now = self.wall()
            handle = self.processor.handle
            for start in range(0, len(messages), YIELD_EVERY):
                if start:
                    # Web requests and Faust's tasks get a turn. A rebalance cannot take
                    # the batch's partitions meanwhile: Faust waits for every message it
                    # tracks (these are tracked) to be acked before it revokes them.
                    await asyncio.sleep(0)
                for m in messages[start : start + YIELD_EVERY]:
                    handle(Message(m.topic, m.partition, m.offset, m.key, m.value or b"",
                                   _headers(m.headers)), now)  # fmt: skip
            # This batch may have moved stream time past deadlines, or caught it up.
            self.sync_catching_up()
            self.processor.fire_deadlines(now)
            await self.flush_effects()
            return len(messages)

    async def flush_effects(self) -> None:
        """Send changelog writes, dead letters and re-key forwards, and wait until sent.

        The messages whose effects these are get acked only once this returns: Faust's
        producer does not fail a commit when a send failed, so the wait is what keeps an
        offset from being committed before its effects are on the broker (see
        ``stream.wiring.delivery`` for what happens to a send that fails).
        """
        effects = self.processor.take_effects()
        records = [self._dead_letter(dl.raw, dl) for dl in effects.dead_letters]
        records += [self._forward(fwd) for fwd in effects.forwards]
        # Last: a partition's record follows its ticket states (see ChangelogWriter).
        records += self.changelog.sends(effects.writes)
        if records:
            await deliver(records)

    def _dead_letter(self, value: bytes, dl: DeadLetter, limit: int | None = None) -> Sent:
        headers = [(REASON_HEADER, dl.reason.encode()), (DETAIL_HEADER, dl.detail.encode()),
                   (SRC_HEADER, dl.src.encode())]  # fmt: skip
        limit = self.dlq_max_value_bytes if limit is None else limit
        raw = value
        if len(raw) > limit:
            # Larger than the producer (or, on a second try, the broker) takes: the send
            # would fail on every restart. The head of the message goes, and its length.
            raw = raw[:limit]
            headers.append((TRUNCATED_HEADER, str(len(dl.raw)).encode()))
            log.warning("dead letter %s: value of %d bytes cut to %d to fit the producer",
                        dl.src, len(dl.raw), len(raw))  # fmt: skip

        def cut() -> Sent | None:
            if len(raw) <= DLQ_FALLBACK_VALUE_BYTES:
                return None
            return self._dead_letter(dl.raw, dl, DLQ_FALLBACK_VALUE_BYTES)

        return Sent(
            f"dead letter of {dl.src} ({len(raw)} bytes) to {self.config.dlq_topic}",
            lambda: self.dlq_topic.send(key=None, value=raw, headers=headers, force=True),
            cut=cut,
        )  # fmt: skip

    def _forward(self, fwd: Forward) -> Sent:
        return Sent(
            f"re-key forward of {fwd.src} to {self.config.rekey_topic}[{fwd.partition}]",
            lambda: self.rekey_topic.send(key=fwd.key, value=fwd.value, partition=fwd.partition,
                                          headers=[(SRC_HEADER, fwd.src.encode())], force=True),
        )  # fmt: skip

    async def fire_deadlines(self) -> None:
        """Turn SLA deadlines the processing clock has passed into breaches (timer, ~1 s)."""
        if self.app.rebalancing or not self._recovered():
            return
        async with self._applying:
            self.sync_ownership()
            self.sync_catching_up()
            if self.processor.fire_deadlines(self.wall()):
                await self.flush_effects()

    async def housekeeping(self) -> None:
        """Expire orphans (wall clock) and old window buckets (processing clock)."""
        if self.app.rebalancing or not self._recovered():
            return
        async with self._applying:
            self.sync_ownership()
            self.processor.expire_orphans(self.wall())
            self.processor.expire_windows(self.now_s())
            if self.wall() >= self._next_purge:
                self._next_purge = self.wall() + self.purge_interval_s
                if self.processor.purge(self.now_s()):
                    await self.flush_effects()
                    self.processor.finish_purge()
            await self.flush_effects()

    def settled(self) -> bool:
        """Recovered and not rebalancing: the owned partitions' state is complete."""
        if self.app.rebalancing or not self._recovered():
            return False
        self.sync_ownership()
        return True

    def _recovered(self) -> bool:
        tables: Any = self.app.tables  # the manager's recovery service is not in its type
        return bool(tables.recovery.completed.is_set())

    # -- reading -----------------------------------------------------------------------

    def now_s(self) -> float:
        """The processing clock: wall time, or stream time with ``--clock event``."""
        return self.processor.clock_s(self.wall())

    def snapshot(self) -> Snapshot:
        """Everything exported, at the processing clock."""
        p = self.processor
        wall = self.wall()
        return take_snapshot(p.aggregates, p.records, now_s=p.clock_s(wall),
                             held=p.held_events(), tracked_tickets=p.tracked_tickets(),
                             sla_clocks=p.sla_clocks(wall))  # fmt: skip

    def readiness(self) -> dict[str, Any]:
        """What /readyz reports: ready, or the reasons why not.

        Ready means the owned partitions' state is recovered, the group is not rebalancing
        and the cluster answers (see ``BrokerHealth``): a worker that cannot reach the
        broker processes nothing and its numbers go stale.
        """
        recovered = self._recovered()
        rebalancing = bool(self.app.rebalancing)
        if recovered and not rebalancing:
            self.sync_ownership()
        reasons: list[str] = []
        if not recovered:
            reasons.append("recovering the state table from its changelog")
        if rebalancing:
            reasons.append("the consumer group is rebalancing")
        body: dict[str, Any] = {"ready": False, "reasons": reasons, "recovered": recovered,
                                "rebalancing": rebalancing}  # fmt: skip
        if self.broker_health is not None:
            broker = self.broker_health.status()
            if not broker["reachable"]:
                reasons.append(f"broker unreachable: {broker['problem']}")
            body["broker"] = broker
        body["ready"] = not reasons
        body.update(input_topic=self.config.input_topic, partitions=self.config.partitions,
                    owned_partitions=self.processor.owned, clock=self.config.clock)  # fmt: skip
        return body
