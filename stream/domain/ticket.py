"""A ticket's state and how one event changes it: dedupe, hold, apply, close, derive delta.

``apply`` mutates the state in place (it is owned by one partition's processor) and returns
an :class:`Outcome` that says what the aggregates, counters and dead-letter topic must do.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field
from typing import Any

from stream.domain import vocabulary as v
from stream.domain.facts import (
    ContribKey,
    CounterKey,
    Facts,
    Observation,
    contribution_delta,
)
from stream.domain.records import TicketEvent
from stream.domain.rules import TicketRules
from stream.domain.shared import share, share_str
from stream.domain.sla_clocks import NO_OUTCOMES, LiveClock, SlaFacts, SlaWalk
from stream.domain.ticket_fold import Moved, derive_all, finish_again, fold_in

APPLIED = "applied"
DUPLICATE = "duplicate"
HELD = "held"
# Already accounted: a second copy of a re-keyed message whose first copy was processed.
ACCOUNTED = "accounted"
DEAD_LETTER = "dead_letter"

# An unsolved ticket as the live gauges see it: queue, priority, created_at, the instant from
# which it counts as backlog, and its live SLA clocks.
OpenInfo = tuple[str, str, float, float, tuple[LiveClock, ...]]

TICKET_CLOSED = "ticket_closed"
#: The contract's ``too_large`` reason, here for a ticket at its limits (see TicketRules).
TICKET_TOO_LARGE = "too_large"
#: Tickets with more events than this keep an index of their event ids (see TicketState).
_INDEX_FROM = 16
UNKNOWN_TICKET = "unknown_ticket"


@dataclass(slots=True, frozen=True)
class DeadLetter:
    """An event that cannot be applied, with its original bytes."""

    raw: bytes
    reason: str
    detail: str
    src: str


@dataclass(slots=True)
class HeldEvent:
    """An event waiting for its ticket's ``ticket.created``."""

    event: TicketEvent
    raw: bytes
    arrived_wall_s: float


@dataclass(slots=True)
class Outcome:
    """What applying one message did, for the processor to act on.

    ``status`` classifies the message itself; ``applied`` also counts held events released
    by a late ``ticket.created``.
    """

    status: str
    applied: int = 0
    dead_letters: list[DeadLetter] = field(default_factory=list)
    delta: dict[ContribKey, float] = field(default_factory=dict)
    new_counts: list[CounterKey] = field(default_factory=list)
    new_observations: list[Observation] = field(default_factory=list)
    released: int = 0
    was_open: OpenInfo | None = None
    now_open: OpenInfo | None = None
    next_deadline_s: float | None = None
    #: False when the ticket's state is exactly as before (nothing to write).
    changed: bool = True


@dataclass(slots=True)
class TicketState:
    """Everything kept about one ticket; the facts are derived, never stored."""

    ticket_id: str
    partition: int
    events: list[TicketEvent] = field(default_factory=list)
    # Held and observed are empty for most open tickets: they share one empty object until
    # they get an entry (never mutated while shared: apply and the refresh replace them).
    held: list[HeldEvent] = field(default_factory=lambda: _NO_HELD)
    seq: int = 0
    counted: dict[str, CounterKey] = field(default_factory=dict)
    observed: dict[str, Observation] = field(default_factory=lambda: _NO_OBSERVED)
    facts: Facts = field(default_factory=Facts)
    sla: SlaFacts = field(default_factory=SlaFacts)
    # Event id -> event, only for tickets with more than _INDEX_FROM events (built on
    # demand); below that a scan of the events is as fast and the dict costs ~200 bytes.
    _ids: dict[str, TicketEvent] | None = None
    # The SLA walk after the last event (None until ``ticket.created``): with the facts,
    # which are their fold's state too, an event sorting after every other is folded in
    # alone instead of walking the whole history again (see _append).
    walk: SlaWalk | None = None

    @property
    def open_info(self) -> OpenInfo | None:
        """What the live gauges need while the ticket is unsolved, else None."""
        f, sla = self.facts, self.sla
        if f.unsolved and f.created_at is not None and sla.backlog_after_s is not None:
            return (f.queue, f.priority, f.created_at, sla.backlog_after_s, sla.live)
        return None

    @property
    def last_event_s(self) -> float:
        """Event time of the latest event (for retention)."""
        return max((e.t for e in self.events), default=0.0)

    def find(self, event_id: str) -> TicketEvent | None:
        """The stored (applied or held) event with this id, if any."""
        found = self._applied(event_id)
        if found is not None:
            return found
        return next((h.event for h in self.held if h.event.event_id == event_id), None)

    def _applied(self, event_id: str) -> TicketEvent | None:
        """The applied event with this id, if any."""
        if len(self.events) <= _INDEX_FROM:
            return next((e for e in self.events if e.event_id == event_id), None)
        if self._ids is None or len(self._ids) != len(self.events):
            self._ids = {e.event_id: e for e in self.events}
        return self._ids.get(event_id)

    def apply(
        self,
        event: dict[str, Any],
        *,
        t: float,
        raw: bytes,
        src: str,
        via: str,
        now_wall_s: float,
        rules: TicketRules,
        now_s: float,
    ) -> Outcome:
        """Apply one validated event of this ticket at processing clock ``now_s``."""
        existing = self.find(event["event_id"])
        if existing is not None:
            if existing.via == via:
                # The same message again: its state write survived a crash that its
                # accounting did not, so it is counted now (once), with any held events
                # it released.
                if self._applied(event["event_id"]) is None:
                    return Outcome(HELD)
                released = int(existing.f.get("_released", 0))
                return Outcome(APPLIED, applied=1 + released, released=released)
            if existing.src == src:
                return Outcome(ACCOUNTED)
            return Outcome(DUPLICATE)
        if len(self.events) + len(self.held) >= rules.max_events:
            return self._too_large(raw, src, f"ticket {self.ticket_id!r} already keeps "
                                   f"{rules.max_events} events, the most one ticket keeps "
                                   "(MAX_TICKET_EVENTS)")  # fmt: skip
        waiting = self.facts.created_at is None and event["type"] != v.TICKET_CREATED
        if waiting and sum(len(h.raw) for h in self.held) + len(raw) > rules.max_held_bytes:
            return self._too_large(raw, src, f"ticket {self.ticket_id!r} already holds "
                                   f"{len(self.held)} events waiting for its ticket.created; "
                                   f"this one would take them over {rules.max_held_bytes} "
                                   "bytes (MAX_HELD_BYTES)")  # fmt: skip
        self.seq += 1
        rec = TicketEvent.from_event(event, t=t, seq=self.seq, src=src, via=via)
        if waiting:
            self.held = [*self.held, HeldEvent(rec, raw, now_wall_s)]
            return Outcome(HELD)
        if (self.walk is not None and rec.type != v.TICKET_CREATED
                and rec.order > self.events[-1].order):  # fmt: skip
            return self._append(rec, raw, rules, now_s)
        to_add = [(rec, raw)]
        if rec.type == v.TICKET_CREATED and self.held:
            to_add.extend((h.event, h.raw) for h in self.held)
            rec.f = {**rec.f, "_released": len(self.held)}  # f may be shared: a copy
            self.held = _NO_HELD
        return self._insert(to_add, rules, now_s)

    def advance(self, rules: TicketRules, now_s: float) -> Outcome:
        """Finish the clocks again at a later processing clock: deadlines passed are breaches.

        Only the SLA tail (breaches up to the processing clock) can change: the events are
        the same.
        """
        if self.walk is None:
            return Outcome(APPLIED)
        was_open = self.open_info
        moved = finish_again(self.facts, self.walk, self.sla, rules, now_s)
        return self._moved(moved, Outcome(APPLIED), was_open)

    def _append(self, rec: TicketEvent, raw: bytes, rules: TicketRules, now_s: float) -> Outcome:
        """Fold in an event that sorts after every other: the same facts as a whole walk."""
        assert self.walk is not None
        if self.facts.closed:
            # Ordered after the close: it never becomes part of the ticket.
            return Outcome(DEAD_LETTER, dead_letters=[self._after_close(rec, raw)])
        was_open = self.open_info
        self.events.append(rec)
        if self._ids is not None:
            self._ids[rec.event_id] = rec
        moved = fold_in(self.facts, self.walk, self.sla, rec, rules, now_s)
        return self._moved(moved, Outcome(APPLIED, applied=1), was_open)

    def _moved(self, moved: Moved, outcome: Outcome, was_open: OpenInfo | None) -> Outcome:
        """Adopt a move of the fold; the outcome says what changed in the aggregates."""
        outcome.delta = moved.delta
        for counted in moved.counted:
            self._count(counted, outcome)
        self._observe(moved.observations, outcome)
        self.sla = moved.sla
        outcome.was_open, outcome.now_open = was_open, self.open_info
        outcome.next_deadline_s = moved.sla.next_deadline_s
        return outcome

    def _too_large(self, raw: bytes, src: str, detail: str) -> Outcome:
        """Dead-letter an event the ticket has no room for; the state stays as it was."""
        dead = DeadLetter(raw, TICKET_TOO_LARGE, detail, src)
        return Outcome(DEAD_LETTER, dead_letters=[dead], changed=False)

    def _count(self, counted: dict[str, CounterKey], outcome: Outcome) -> None:
        """Facts counted for the first time go to the outcome (counters never go down)."""
        for fact_id, key in counted.items():
            if fact_id not in self.counted:
                self.counted[fact_id] = key
                outcome.new_counts.append(key)

    def _observe(self, observations: dict[str, Observation], outcome: Outcome) -> None:
        """Observations made for the first time go to the outcome (histograms keep them)."""
        for obs_id, obs in observations.items():
            if obs_id not in self.observed:
                if self.observed is _NO_OBSERVED:
                    self.observed = {}
                self.observed[obs_id] = obs
                outcome.new_observations.append(obs)

    def _after_close(self, rec: TicketEvent, raw: bytes) -> DeadLetter:
        return DeadLetter(
            raw,
            TICKET_CLOSED,
            f"event ordered after the ticket closed: {rec.type} of ticket {self.ticket_id!r}",
            rec.src,
        )

    def _insert(
        self, items: list[tuple[TicketEvent, bytes]], rules: TicketRules, now_s: float
    ) -> Outcome:
        old = self.facts
        for rec, _ in items:
            bisect.insort(self.events, rec, key=lambda e: e.order)
            if self._ids is not None:
                self._ids[rec.event_id] = rec
        new, sla, self.walk = derive_all(self.events, rules, now_s)
        outcome = Outcome(APPLIED)
        for i, (rec, raw) in enumerate(items):
            if rec.event_id in new.after_close and rec.event_id not in old.after_close:
                # Ordered after the close: it never becomes part of the ticket.
                self.events.remove(rec)
                if self._ids is not None:
                    del self._ids[rec.event_id]
                new.after_close = new.after_close - {rec.event_id}
                outcome.dead_letters.append(self._after_close(rec, raw))
                if i == 0:
                    outcome.status = DEAD_LETTER
            else:
                outcome.applied += 1
        outcome.released = len(items) - 1
        return self._refresh(new, sla, outcome)

    def _refresh(self, new: Facts, sla: SlaFacts, outcome: Outcome) -> Outcome:
        """Adopt newly derived facts; the outcome says what changed in the aggregates."""
        old = self.facts
        was_open = self.open_info
        self.facts, self.sla = new, sla
        outcome.delta = contribution_delta(old.contrib, new.contrib)
        self._count(new.counted, outcome)
        self._observe(new.observations, outcome)
        outcome.was_open, outcome.now_open = was_open, self.open_info
        outcome.next_deadline_s = sla.next_deadline_s
        return outcome

    def expire_held(self, now_wall_s: float, orphan_timeout_s: float) -> list[DeadLetter]:
        """Dead-letter held events whose ``ticket.created`` did not come in time."""
        expired = [h for h in self.held if now_wall_s - h.arrived_wall_s >= orphan_timeout_s]
        if not expired:
            return []
        self.held = [h for h in self.held if h not in expired] or _NO_HELD
        return [
            DeadLetter(
                h.raw,
                UNKNOWN_TICKET,
                f"no ticket.created for ticket {self.ticket_id!r} within "
                f"{orphan_timeout_s:g}s of wall-clock time",
                h.event.src,
            )
            for h in expired
        ]

    def to_dict(self) -> dict[str, Any]:
        """Serialise for the changelog (facts are derived again on load)."""
        return {
            "id": self.ticket_id,
            "p": self.partition,
            "n": self.seq,
            "e": [e.to_list() for e in self.events],
            "h": [[h.event.to_list(), h.raw.decode(), h.arrived_wall_s] for h in self.held],
            "c": {k: list(key) for k, key in self.counted.items()},
            "o": {k: [m, list(labels), val] for k, (m, labels, val) in self.observed.items()},
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any], *, rules: TicketRules, now_s: float) -> TicketState:
        """Rebuild a state from :meth:`to_dict` output and derive its facts at ``now_s``."""
        events = [TicketEvent.from_list(e) for e in data["e"]]
        state = cls(
            ticket_id=data["id"],
            partition=int(data["p"]),
            events=events,
            held=[
                HeldEvent(TicketEvent.from_list(e), raw.encode(), float(ts))
                for e, raw, ts in data["h"]
            ]
            or _NO_HELD,
            seq=int(data["n"]),
            counted={k: share(tuple(key)) for k, key in data["c"].items()},
            observed={
                k: (share_str(m), share(tuple(labels)), float(val))
                for k, (m, labels, val) in data["o"].items()
            }
            or _NO_OBSERVED,
        )
        state.facts, state.sla, state.walk = derive_all(events, rules, now_s)
        return state


def derive_ticket(
    events: list[TicketEvent], rules: TicketRules, now_s: float
) -> tuple[Facts, SlaFacts]:
    """All facts of a ticket: the event facts plus its SLA clocks at processing clock ``now_s``.

    See :func:`stream.domain.ticket_fold.derive_all`.
    """
    facts, sla, _ = derive_all(events, rules, now_s)
    return facts, sla


#: Shared empty values of tickets with nothing held or observed (see TicketState).
_NO_HELD: list[HeldEvent] = []
_NO_OBSERVED: dict[str, Observation] = NO_OUTCOMES
