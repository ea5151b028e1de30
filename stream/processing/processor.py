"""The message processor: route, decode, apply to entity state, account, emit effects.

It holds no Faust objects: the wiring feeds it Kafka messages and executes the effects
(changelog writes, dead letters, re-key forwards). Kept synchronous so a batch is applied
without interleaving with timers or scrapes.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, MutableMapping
from typing import Any

from stream.adapters.codec import Decoded, Rejected, decode
from stream.domain import shared
from stream.domain import vocabulary as v
from stream.domain.aggregates import PartitionAggregates
from stream.domain.deadlines import DeadlineQueue
from stream.domain.facts import nps_contribution
from stream.domain.queue_cap import QueueCap
from stream.domain.staffing import PartitionActivity, partition_activity
from stream.domain.ticket import (
    ACCOUNTED,
    DUPLICATE,
    DeadLetter,
    Outcome,
    TicketState,
)
from stream.processing.config import ProcessorConfig
from stream.processing.entities import (
    AgentPresence,
    LoneNps,
    PartitionRecord,
)
from stream.processing.messages import (
    SRC_HEADER,
    Effects,
    Forward,
    Message,
    record_key,
    ticket_key,
)
from stream.processing.recovery import load_entity, rebuild_aggregates
from stream.processing.retention import mark_expired
from stream.processing.routing import entity_key as entity_key_of
from stream.processing.routing import partition_for

log = logging.getLogger(__name__)

# The types whose schema declares `queue` (a validated string). On any other type a field
# of that name is an ignored extra field, of any JSON type: an unhashable one crashed the
# agent in the queue cap, and a string one took a slot of the cap.
_QUEUE_TYPES = frozenset({v.TICKET_CREATED, v.TICKET_QUEUE_CHANGED, v.SURVEY_NPS})


class Processor:
    """Applies messages of the partitions this worker owns."""

    def __init__(
        self,
        config: ProcessorConfig,
        store: MutableMapping[str, Any],
        wall: Callable[[], float] = time.time,
    ) -> None:
        self.config = config
        self.store = store
        self.wall = wall
        self.rules = config.rules()
        # Per partition: each ticket's earliest SLA breach instant still ahead.
        self.deadlines: dict[int, DeadlineQueue] = {}
        # Partitions still reading old events (after a restart, an outage or a backfill):
        # their SLA clock is their stream time until they catch up (see sla_clock_s).
        self.catching_up: set[int] = set()
        self.cap = QueueCap(config.max_queues)
        self.aggregates: dict[int, PartitionAggregates] = {}
        self.records: dict[int, PartitionRecord] = {}
        self.held: dict[int, set[str]] = {}
        self.agents: dict[int, dict[str, AgentPresence]] = {}
        self._effects = Effects()
        self._pending: dict[tuple[int, str], Any] = {}
        self._dirty: set[int] = set()

    # -- ownership ---------------------------------------------------------------------

    @property
    def owned(self) -> list[int]:
        """Input partitions this worker owns now."""
        return sorted(self.aggregates)

    def assign(self, partitions: Iterable[int]) -> None:
        """Take ownership: rebuild aggregates of new partitions from the recovered store."""
        new = set(partitions) - set(self.aggregates)
        for p in new:
            self.aggregates[p] = PartitionAggregates(cap=self.cap)
            self.held[p] = set()
            self.agents[p] = {}
            self.deadlines[p] = DeadlineQueue()
            if self.config.clock == "wall":
                self.catching_up.add(p)  # until the runtime sees it at the end of its topic
            rec = self.store.get(record_key(p))
            self.records[p] = (
                PartitionRecord.from_dict(rec) if isinstance(rec, dict)
                else rec if isinstance(rec, PartitionRecord) else PartitionRecord(p)
            )  # fmt: skip
            if rec is not None:
                self.store[record_key(p)] = self.records[p]
        if new:
            self._rebuild(new)

    def revoke(self, partitions: Iterable[int]) -> None:
        """Drop what belongs to partitions another worker now owns."""
        for p in partitions:
            self.aggregates.pop(p, None)
            self.records.pop(p, None)
            self.held.pop(p, None)
            self.agents.pop(p, None)
            self.deadlines.pop(p, None)
            self.catching_up.discard(p)

    def _rebuild(self, partitions: set[int]) -> None:
        tickets: dict[int, list[TicketState]] = {p: [] for p in partitions}
        nps: dict[int, list[LoneNps]] = {p: [] for p in partitions}
        purging = {key: p for p in partitions for key in self.records[p].purging}
        for key in list(self.store.keys()):
            value = self.store[key]
            p = value.partition if not isinstance(value, dict) else int(value.get("p", -1))
            if p not in partitions:
                continue
            if key in purging:  # retired already; its tombstone did not make it
                self._delete(p, key)
                continue
            entity = self._load(key, value)
            if isinstance(entity, TicketState):
                tickets[p].append(entity)
                self.deadlines[p].schedule(key, entity.sla.next_deadline_s)
                if entity.held:
                    self.held[p].add(key)
            elif isinstance(entity, LoneNps):
                nps[p].append(entity)
            elif isinstance(entity, AgentPresence):
                self.agents[p][entity.agent] = entity
        for p in partitions:
            ts = tickets[p]
            rebuild_aggregates(self.aggregates[p], ts, nps[p], self.records[p])
            log.info(
                "partition %d rebuilt: %d tickets, %d held, %d lone NPS, %d agents, "
                "%d SLA deadlines",
                p, len(ts), len(self.held[p]), len(nps[p]), len(self.agents[p]),
                len(self.deadlines[p]),
            )  # fmt: skip

    def _load(self, key: str, value: Any) -> Any:
        """The entity object of a store value, converting recovered dicts once."""
        if not isinstance(value, dict):
            return value
        p = value.get("p")
        now_s = self.sla_clock_s(self.wall(), p) if isinstance(p, int) else self.wall()
        entity = load_entity(value, rules=self.rules, now_s=now_s)
        self.store[key] = entity
        return entity

    # -- processing --------------------------------------------------------------------

    def clock_s(self, now_wall_s: float) -> float:
        """The processing clock: wall time, or stream time with the event clock."""
        if self.config.clock == "event":
            return self.stream_time_s()
        return now_wall_s

    def sla_clock_s(self, now_wall_s: float, partition: int) -> float:
        """The clock SLA deadlines of a partition run on.

        With the event clock it is the partition's own stream time, not the worker's: a
        breach, once counted, is never undone, so when it is counted must not depend on
        which other partitions the worker happens to own. Every worker then counts the
        same breaches at the same point of each partition's stream, which keeps the sum
        over workers equal to one worker's numbers through rebalances.

        With the wall clock, a partition that is catching up (reading events well behind
        the end of its topic, after a restart, an outage or a backfill) also uses its stream
        time: the replies that stop its clocks are among the events not read yet, and
        judging those clocks at the wall clock would count, and page on, breaches that did
        not happen. Once caught up it runs on the wall clock again.
        """
        if self.config.clock == "event" or partition in self.catching_up:
            rec = self.records.get(partition)
            return rec.stream_time_s if rec is not None else self.stream_time_s()
        return now_wall_s

    def sla_clocks(self, now_wall_s: float) -> dict[int, float]:
        """The SLA clock of every owned partition (for the live SLA gauges)."""
        return {p: self.sla_clock_s(now_wall_s, p) for p in self.records}

    def take_effects(self) -> Effects:
        """Effects since the last call; partition records are written last (see record).

        Entities are serialised here, once per key, in their state at this moment, so a
        batch processed while the effects are being sent cannot leak into them.
        """
        for p in sorted(self._dirty):
            if p in self.records:
                self._write(p, record_key(p), self.records[p])
        self._dirty.clear()
        effects, self._effects = self._effects, Effects()
        effects.writes = [(p, key, None if entity is None else entity.to_dict())
                          for (p, key), entity in self._pending.items()]  # fmt: skip
        self._pending = {}
        return effects

    def handle(self, msg: Message, now_wall_s: float) -> None:
        """Process one message of an owned partition."""
        rec = self.records.get(msg.partition)
        if rec is None:
            log.warning("message of a partition not owned, skipped: %s", msg.coords)
            return
        if msg.offset <= rec.offsets.get(msg.topic, -1):
            return  # already fully accounted before a restart
        rec.offsets[msg.topic] = msg.offset
        self._dirty.add(msg.partition)
        from_input = msg.topic == self.config.input_topic
        if from_input:
            rec.consumed += 1
        src = msg.coords if from_input else msg.headers.get(SRC_HEADER, b"").decode()
        result = decode(
            msg.value,
            now_s=now_wall_s,
            max_bytes=self.config.max_message_bytes,
            max_future_skew_s=self.config.max_future_skew_s,
        )
        if isinstance(result, Rejected):
            self._dead_letter(rec, DeadLetter(msg.value, result.reason, result.detail, src))
            return
        event = result.event
        entity_key = str(entity_key_of(event))  # validated: always derivable
        target = partition_for(entity_key, self.config.partitions)
        if from_input and target != msg.partition:
            self._effects.forwards.append(Forward(target, entity_key.encode(), msg.value, src))
            return
        if result.occurred_at_s > rec.stream_time_s:
            rec.stream_time_s = result.occurred_at_s
        self._apply(rec, msg, result, src, now_wall_s)

    def _apply(
        self, rec: PartitionRecord, msg: Message, result: Decoded, src: str, now_wall_s: float
    ) -> None:
        event = result.event
        etype = event["type"]
        if etype in _QUEUE_TYPES and "queue" in event:
            rec.queue_overflow += self.cap.note_event(event["queue"])
        if event.get("ticket_id") is not None:
            self._apply_ticket(rec, msg, result, src, now_wall_s)
        elif etype == v.AGENT_PRESENCE:
            self._apply_presence(rec, msg, result)
        else:
            self._apply_lone_nps(rec, msg, result, src)

    def _apply_ticket(
        self, rec: PartitionRecord, msg: Message, result: Decoded, src: str, now_wall_s: float
    ) -> None:
        p = msg.partition
        key = ticket_key(str(result.event["ticket_id"]))
        state = self.store.get(key)
        if state is None:
            state = TicketState(str(result.event["ticket_id"]), p)
        elif isinstance(state, dict):
            state = self._load(key, state)
        outcome = state.apply(
            result.event,
            t=result.occurred_at_s,
            raw=msg.value,
            src=src,
            via=msg.coords,
            now_wall_s=now_wall_s,
            rules=self.rules,
            now_s=self.sla_clock_s(now_wall_s, p),
        )
        self._account(rec, outcome, result.occurred_at_s)
        self._absorb(p, key, state, outcome)
        if state.held:
            self.held[p].add(key)
        else:
            self.held[p].discard(key)
        if outcome.status not in (DUPLICATE, ACCOUNTED) and outcome.changed:
            self._write(p, key, state)

    def _absorb(self, p: int, key: str, state: TicketState, outcome: Outcome) -> None:
        """Fold what a ticket's re-derivation changed into the partition's aggregates."""
        agg = self.aggregates[p]
        agg.apply_delta(outcome.delta)
        for ckey in outcome.new_counts:
            agg.count(ckey)
        for obs in outcome.new_observations:
            agg.observe(obs)
        if outcome.was_open != outcome.now_open:
            agg.set_open(state.ticket_id, outcome.now_open)
        if outcome.status not in (DUPLICATE, ACCOUNTED):
            self.deadlines[p].schedule(key, state.sla.next_deadline_s)

    def _account(self, rec: PartitionRecord, outcome: Outcome, t: float) -> None:
        if outcome.status == DUPLICATE:
            rec.duplicate += 1
        rec.applied += outcome.applied
        if outcome.applied and t > rec.last_event_s:
            rec.last_event_s = t
        for dl in outcome.dead_letters:
            self._dead_letter(rec, dl)

    def _apply_presence(self, rec: PartitionRecord, msg: Message, result: Decoded) -> None:
        event = result.event
        p = msg.partition
        key = f"a:{event['agent']}"
        state = self.store.get(key)
        if isinstance(state, dict):
            state = self._load(key, state)
        if state is None:
            state = AgentPresence(p, str(event["agent"]))
        outcome = state.observe(event, t=result.occurred_at_s, via=msg.coords)
        if outcome == DUPLICATE:
            rec.duplicate += 1
            return
        rec.applied += 1
        if outcome == ACCOUNTED:
            return
        self.agents[p][state.agent] = state
        rec.last_event_s = max(rec.last_event_s, result.occurred_at_s)
        self._write(p, key, state)

    def _apply_lone_nps(
        self, rec: PartitionRecord, msg: Message, result: Decoded, src: str
    ) -> None:
        event = result.event
        p = msg.partition
        key = f"n:{event['event_id']}"
        existing = self.store.get(key)
        if isinstance(existing, dict):
            existing = self._load(key, existing)
        if isinstance(existing, LoneNps):
            if existing.via == msg.coords:
                rec.applied += 1
            elif existing.src != src:
                rec.duplicate += 1
            return
        nps = LoneNps(p, result.occurred_at_s, int(event["score"]), str(event["queue"]), src,
                      msg.coords)  # fmt: skip
        self.aggregates[p].apply_delta(nps_contribution(nps.queue, nps.t, nps.score))
        rec.applied += 1
        rec.last_event_s = max(rec.last_event_s, nps.t)
        self._write(p, key, nps)

    def _dead_letter(self, rec: PartitionRecord, dl: DeadLetter) -> None:
        rec.dead_lettered[dl.reason] = rec.dead_lettered.get(dl.reason, 0) + 1
        self._dirty.add(rec.partition)
        self._effects.dead_letters.append(dl)
        log.warning("dead-lettered %s: %s: %s", dl.src, dl.reason, dl.detail)

    def _write(self, partition: int, key: str, value: Any) -> None:
        self.store[key] = value
        self._pending[(partition, key)] = value

    def _delete(self, partition: int, key: str) -> None:
        self.store.pop(key, None)
        self._pending.pop((partition, key), None)
        self._pending[(partition, key)] = None

    # -- time-driven work --------------------------------------------------------------

    def fire_deadlines(self, now_wall_s: float) -> int:
        """Breach the clocks whose deadline the processing clock has passed; count tickets.

        No event arrives for a ticket that nobody answers, so its breach comes from here:
        the ticket is re-derived at the processing clock, which turns the passed deadline
        into a breach (counter, window gauge, breached gauge) and schedules the next one.
        """
        fired = 0
        for p, queue in self.deadlines.items():
            now_s = self.sla_clock_s(now_wall_s, p)
            for key in queue.pop_due(now_s):
                state = self.store.get(key)
                if not isinstance(state, TicketState):
                    continue  # purged, or never loaded on this worker
                self._absorb(p, key, state, state.advance(self.rules, now_s))
                self._write(p, key, state)
                fired += 1
        return fired

    def expire_orphans(self, now_wall_s: float) -> None:
        """Dead-letter held events whose ``ticket.created`` never came (wall-clock timeout)."""
        for p, keys in self.held.items():
            rec = self.records[p]
            for key in list(keys):
                state = self.store.get(key)
                if not isinstance(state, TicketState):
                    keys.discard(key)
                    continue
                expired = state.expire_held(now_wall_s, self.config.orphan_timeout_s)
                for dl in expired:
                    self._dead_letter(rec, dl)
                if expired:
                    self._write(p, key, state)
                if not state.held:
                    keys.discard(key)

    def purge(self, now_s: float) -> int:
        """Drop expired tickets (see :func:`mark_expired`); returns how many.

        Call :meth:`finish_purge` once the effects are sent.
        """
        dropped = 0
        mark_expired(self.store.items(), self.records, self.config, now_s)
        for p, rec in self.records.items():
            if rec.purging:
                # The record (with the keys) goes before the tombstones, in one partition.
                self._write(p, record_key(p), rec)
                for key in rec.purging:
                    self._delete(p, key)
                dropped += len(rec.purging)
        if dropped:
            log.info("dropped %d solved or closed tickets past retention", dropped)
        return dropped

    def finish_purge(self) -> None:
        """The tombstones are sent: the next record write no longer lists the keys."""
        for p, rec in self.records.items():
            if rec.purging:
                rec.purging.clear()
                self._dirty.add(p)

    def expire_windows(self, now_s: float) -> None:
        """Drop window buckets past retention (and keep the pool of shared keys bounded)."""
        for agg in self.aggregates.values():
            agg.expire(now_s)
        shared.trim()

    # -- reading -----------------------------------------------------------------------

    def stream_time_s(self) -> float:
        """Highest event time seen on the owned partitions (the event-mode clock)."""
        return max((r.stream_time_s for r in self.records.values()), default=0.0)

    def staffing_activity(self, now_wall_s: float) -> list[PartitionActivity]:
        """Each owned partition's share of the staffing inputs, to publish for every worker.

        A partition's clock is its own stream time with the event clock, so the window a
        reader sums does not depend on which partitions the writer happened to own.
        """
        out = []
        for p, agg in self.aggregates.items():
            rec = self.records[p]
            clock = rec.stream_time_s if self.config.clock == "event" else now_wall_s
            agents = ((a.status, a.queues, a.t) for a in self.agents[p].values())
            out.append(partition_activity(p, clock, now_wall_s, agg.windowed, agents,
                                          self.cap.label))  # fmt: skip
        return out

    def tracked_tickets(self) -> int:
        """Tickets kept in state on the owned partitions (what retention bounds)."""
        owned = self.records.keys()
        return sum(1 for e in self.store.values()
                   if isinstance(e, TicketState) and e.partition in owned)  # fmt: skip

    def held_events(self) -> int:
        """Events waiting for their ticket's creation, on the owned partitions."""
        total = 0
        for keys in self.held.values():
            for key in keys:
                state = self.store.get(key)
                if isinstance(state, TicketState):
                    total += len(state.held)
        return total
