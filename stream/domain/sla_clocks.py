"""SLA clocks of one ticket as a pure function of its events, its policies and the processing clock.

Like the other facts, the clocks are a walk over the sorted, deduplicated events, so a late
or redelivered event gives the same cycles as in-order delivery. The walk is kept after the
last event: an event that sorts after every other (the usual case) is one more step, while
a late one makes the ticket walk its whole history again.
The processing clock only decides which running deadlines have already passed: a breach
is the instant a running clock's elapsed time first exceeds its target, a pure function
of the events, and ``now_s`` says whether that instant is in the past yet.

Each clock cycle ends as exactly one of achieved, breached or cancelled. Its identity is
the clock and the id of the event that started it, so the counters count each cycle's
outcome once, when it first becomes known.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from stream.domain import vocabulary as v
from stream.domain.facts import ContribKey, CounterKey, add_into
from stream.domain.policies import PolicySet, SlaPolicy
from stream.domain.records import TicketEvent
from stream.domain.shared import share
from stream.domain.windows import bucket_of

ACHIEVED = "achieved"
BREACHED = "breached"
CANCELLED = "cancelled"
FIRST_REPLY, NEXT_REPLY, RESOLUTION = "first_reply", "next_reply", "resolution"
# The counter / window metric of each outcome (one string object each, not one per ticket).
_METRIC = {o: f"sla_{o}" for o in (ACHIEVED, BREACHED, CANCELLED)}
# FRT and TTR in business seconds of the policy in effect at the fact (window sums; their
# counts are the calendar-time facts' counts).
FRT_BUSINESS = "first_reply_business_seconds_sum"
TTR_BUSINESS = "resolution_business_seconds_sum"


@dataclass(frozen=True, slots=True)
class LiveClock:
    """A cycle still running (or paused) at the processing clock, as the live gauges read it.

    Attributes:
        sla: the clock (first_reply, next_reply, resolution).
        breached_s: when it breached, or None; a breached clock runs on until it stops.
        deadline_s: its breach instant while running and not breached; None when paused.
        at_risk_s: from this instant it is at risk (remaining <= at_risk_within).
    """

    sla: str
    breached_s: float | None
    deadline_s: float | None
    at_risk_s: float | None


@dataclass(slots=True)
class SlaFacts:
    """What a ticket's clocks contribute: window outcomes, counted outcomes, live clocks."""

    contrib: dict[ContribKey, float] = field(default_factory=dict)
    counted: dict[str, CounterKey] = field(default_factory=dict)
    live: tuple[LiveClock, ...] = ()
    backlog_after_s: float | None = None
    #: The earliest breach instant still ahead, for the deadline queue.
    next_deadline_s: float | None = None


class Outcomes(Protocol):
    """Where a walk records outcomes: its own :class:`SlaFacts`, or a step's journal."""

    contrib: dict[ContribKey, float]
    counted: dict[str, CounterKey]


#: The walk's slot of each clock.
_SLOT = {FIRST_REPLY: "_fr", NEXT_REPLY: "_nr", RESOLUTION: "_res"}

#: The maps of SLA facts that recorded nothing: one shared empty dict, never written.
NO_OUTCOMES: dict[Any, Any] = {}
_UNSET: Any = object()


@dataclass(slots=True)
class _Clock:
    """One clock's activity (its accrual spans) and its current cycle under a policy."""

    sla: str
    #: Accrual spans, flat: start, end, start, end...; the last one is open while accruing
    #: (one list of floats per clock, not a list of pairs: every open ticket holds a few).
    spans: list[float]
    accruing: bool = True
    #: Id of the event that started the current cycle (None: no cycle under the policy).
    cause: str | None = None
    breached_s: float | None = None
    deadline_s: float | None = None
    at_risk_s: float | None = None

    @property
    def cycle(self) -> str | None:
        """The cycle's identity: the clock and the event that started it."""
        return None if self.cause is None else f"{self.sla}:{self.cause}"


class _Walk:
    """Walks a ticket's events in order, keeping its clocks and recording their outcomes.

    After the last event it is also the state to continue from: an event that sorts after
    every other is one more :meth:`step`, not a walk of the whole history.
    """

    __slots__ = (
        "_backlog_for",
        "_backlog_s",
        "_fr",
        "_nr",
        "_res",
        "ch",
        "ct",
        "ended",
        "first_reply_done",
        "out",
        "policies",
        "policy",
        "pr",
        "q",
        "replied",
        "resolution_spans",
        "solved_once",
        "status",
        "unanswered_while_solved",
    )  # fmt: skip

    def __init__(self, policies: PolicySet, queue: str, priority: str, channel: str) -> None:
        self.policies = policies
        self.q, self.pr, self.ch = queue, priority, channel
        self.policy: SlaPolicy | None = policies.select(queue, priority, channel)
        # The running clocks, one slot each (a dict per open ticket cost 184 bytes).
        self._fr: _Clock | None = None
        self._nr: _Clock | None = None
        self._res: _Clock | None = None
        self.out: Outcomes = SlaFacts()
        # The backlog instant depends on the policy and the creation only: kept per policy.
        self._backlog_for: SlaPolicy | None = _UNSET
        self._backlog_s: float = 0.0
        self.ct = 0.0
        self.status = "new"
        self.first_reply_done = self.replied = self.solved_once = False
        self.resolution_spans: list[float] = []
        self.unanswered_while_solved = False
        self.ended = False  # closed: nothing after it counts

    @property
    def clocks(self) -> tuple[_Clock, ...]:
        """The running clocks, always in the order first reply, next reply, resolution."""
        return tuple(c for c in (self._fr, self._nr, self._res) if c is not None)

    @classmethod
    def begin(cls, created: TicketEvent, policies: PolicySet) -> _Walk:
        """The clocks a ``ticket.created`` starts (or settles, created solved or closed)."""
        ct, cf = created.t, created.f
        w = cls(policies, cf.get("queue") or v.OTHER_QUEUE, cf.get("priority") or "normal",
                cf.get("channel") or "other")  # fmt: skip
        w.ct = ct
        w.status = status = cf.get("status") or "new"
        w.start(FIRST_REPLY, ct, created.event_id)
        w.start(RESOLUTION, ct, created.event_id, w.resolution_spans,
                accruing=status != "pending")  # fmt: skip
        if status == v.SOLVED:
            w.stop(FIRST_REPLY, ct)
            w.stop(RESOLUTION, ct)
            w.business_duration(TTR_BUSINESS, ct, ct)
            w.first_reply_done = w.solved_once = True
        elif status == v.CLOSED:
            w.cancel_all(ct)
            w.ended = True
        return w

    # -- outcomes ----------------------------------------------------------------------

    def _record(self, c: _Clock, outcome: str, at_s: float) -> None:
        assert c.cause is not None
        self.out.counted[f"sla:{c.sla}:{c.cause}"] = share(
            (_METRIC[outcome], self.q, self.pr, c.sla)
        )
        if outcome != CANCELLED:
            key: ContribKey = share(("w", _METRIC[outcome], self.q, c.sla, bucket_of(at_s)))
            self.out.contrib[key] = self.out.contrib.get(key, 0.0) + 1.0

    def _breach(self, c: _Clock, at_s: float) -> None:
        c.breached_s, c.deadline_s, c.at_risk_s = at_s, None, None
        self._record(c, BREACHED, at_s)

    def business_duration(self, key: str, start_s: float, t: float) -> None:
        """Add an FRT/TTR fact in business seconds of the policy in effect at ``t``.

        Calendar seconds for a ticket no policy covers, so the sum always pairs with the
        fact's count.
        """
        cal = None if self.policy is None else self.policy.calendar
        seconds = t - start_s if cal is None else cal.business_seconds(start_s, t)
        ckey: ContribKey = share(("w", key, self.q, "", bucket_of(t)))
        self.out.contrib[ckey] = self.out.contrib.get(ckey, 0.0) + seconds

    def advance(self, t: float) -> None:
        """Breach every running clock whose deadline passed before ``t``."""
        for c in self.clocks:
            if c.deadline_s is not None and c.deadline_s < t:
                self._breach(c, c.deadline_s)

    # -- measuring ---------------------------------------------------------------------

    def measure(self, c: _Clock, t: float, cause: str) -> None:
        """(Re)compute a clock under the policy in effect at ``t``.

        Elapsed time is always recomputed from the clock's own start on the policy's
        calendar; a cycle that has breached stays breached.
        """
        policy = self.policy
        target = None if policy is None else policy.targets.get(c.sla)
        if policy is None or target is None:
            if c.cause is not None and c.breached_s is None:
                self._record(c, CANCELLED, t)
            c.cause, c.breached_s, c.deadline_s, c.at_risk_s = None, None, None, None
            return
        if c.cause is None:
            c.cause = cause
        if c.breached_s is not None:
            return
        cal = policy.calendar
        elapsed = 0.0
        spans = c.spans
        last = len(spans) - 2 if c.accruing else -1  # the open span runs up to t
        for i in range(0, len(spans), 2):
            elapsed += cal.business_seconds(spans[i], t if i == last else spans[i + 1])
        if elapsed > target:
            self._breach(c, t)
            return
        if not c.accruing:
            c.deadline_s = c.at_risk_s = None
            return
        c.deadline_s = cal.breach_instant(t, target - elapsed)
        risk = target - policy.at_risk_within_s - elapsed
        c.at_risk_s = t if risk <= 0 else cal.reach_instant(t, risk)

    def reselect(self, t: float, cause: str) -> None:
        """Queue or priority changed: choose the policy again and re-measure every clock."""
        self.policy = self.policies.select(self.q, self.pr, self.ch)
        for c in self.clocks:
            self.measure(c, t, cause)

    # -- clock transitions -------------------------------------------------------------

    def start(self, sla: str, t: float, cause: str, spans: list[float] | None = None,
              *, accruing: bool = True) -> None:  # fmt: skip
        """Start a clock (its spans may carry earlier cycles' time, as on reopen)."""
        spans = [] if spans is None else spans
        if accruing:
            spans += (t, t)
        c = _Clock(sla, spans, accruing)
        setattr(self, _SLOT[sla], c)
        self.measure(c, t, cause)

    def stop(self, sla: str, t: float) -> None:
        """Stop a clock: achieved unless it breached already."""
        slot = _SLOT[sla]
        c = getattr(self, slot)
        if c is None:
            return
        setattr(self, slot, None)
        if c.accruing:
            c.spans[-1] = t
        if c.cause is not None and c.breached_s is None:
            self._record(c, ACHIEVED, t)

    def pause(self, t: float) -> None:
        """Pause the resolution clock (the ticket waits on the customer)."""
        c = self._res
        if c is not None and c.accruing:
            c.spans[-1] = t
            c.accruing = False
            c.deadline_s = c.at_risk_s = None

    def resume(self, t: float, cause: str) -> None:
        """Resume the resolution clock; past its target already, it breaches now."""
        c = self._res
        if c is not None and not c.accruing:
            c.spans += (t, t)
            c.accruing = True
            self.measure(c, t, cause)

    def cancel_all(self, t: float) -> None:
        """The ticket closed unsolved: every running cycle is cancelled."""
        for c in self.clocks:
            if c.cause is not None and c.breached_s is None:
                self._record(c, CANCELLED, t)
        self._fr = self._nr = self._res = None

    # -- one event -----------------------------------------------------------------------

    def step(self, ev: TicketEvent) -> None:
        """Walk one more event, sorted after every event walked so far (after a close: none).

        Its outcomes are recorded in ``self.out``.
        """
        if self.ended:
            return
        ct = self.ct
        t = ev.t if ev.t > ct else ct
        self.advance(t)
        f, etype = ev.f, ev.type
        status = self.status
        if etype == v.TICKET_MESSAGE and f.get("public", True):
            if f.get("author") == "agent":
                if not self.replied:
                    self.business_duration(FRT_BUSINESS, ct, t)
                    self.replied = True
                self.stop(FIRST_REPLY, t)
                self.stop(NEXT_REPLY, t)
                self.first_reply_done = True
                self.unanswered_while_solved = False
            elif status == v.SOLVED:
                self.unanswered_while_solved = True
            elif self.first_reply_done and self._nr is None:
                self.start(NEXT_REPLY, t, ev.event_id)
        elif etype == v.TICKET_STATUS_CHANGED:
            new = f["status"]
            if new == status:
                return
            if new == v.CLOSED:
                if status in v.UNSOLVED:
                    self.cancel_all(t)
                self.status = new
                self.ended = True
                return
            if new == v.SOLVED:
                self.stop(FIRST_REPLY, t)
                self.stop(NEXT_REPLY, t)
                self.stop(RESOLUTION, t)
                if not self.solved_once:
                    self.business_duration(TTR_BUSINESS, ct, t)
                self.first_reply_done = self.solved_once = True
            elif status == v.SOLVED:  # a reopen: a new resolution cycle carrying the old time
                self.start(RESOLUTION, t, ev.event_id, self.resolution_spans,
                           accruing=new != "pending")  # fmt: skip
                if self.unanswered_while_solved:
                    self.start(NEXT_REPLY, t, ev.event_id)
                    self.unanswered_while_solved = False
            elif new == "pending":
                self.pause(t)
            elif status == "pending":
                self.resume(t, ev.event_id)
            self.status = new
        elif etype == v.TICKET_QUEUE_CHANGED:
            self.q = f["queue"]
            self.reselect(t, ev.event_id)
        elif etype == v.TICKET_PRIORITY_CHANGED:
            self.pr = f["priority"]
            self.reselect(t, ev.event_id)

    def finish(
        self, now_s: float, default_backlog_age_s: float, previous: SlaFacts | None = None
    ) -> SlaFacts:
        """The clocks at the processing clock, leaving the walk as it was.

        Breaches up to ``now_s`` are recorded in the result's maps (and only those): the
        walk can go on with a later event, and a later ``now_s`` finishes it again.
        ``previous`` (the last finish, if any) is returned itself when nothing changed, and
        its live clocks are reused where they are equal: most events move no clock, and
        every object a ticket keeps is one more for the garbage collector to walk.
        """
        walked = self.out
        tail: SlaFacts | None = None  # maps made only when a breach is recorded
        old = () if previous is None else previous.live
        live: list[LiveClock] = []
        deadline: float | None = None
        clock: tuple[str, float | None, float | None, float | None]
        try:
            for c in self.clocks:
                if c.cause is None:
                    continue
                due = c.deadline_s
                if due is not None and due < now_s:
                    if tail is None:
                        self.out = tail = SlaFacts()
                    self._record(c, BREACHED, due)
                    clock = (c.sla, due, None, None)
                else:
                    if due is not None and (deadline is None or due < deadline):
                        deadline = due
                    clock = (c.sla, c.breached_s, due, c.at_risk_s)
                i = len(live)
                same = old[i] if i < len(old) else None
                if same is not None and (same.sla, same.breached_s, same.deadline_s,
                                         same.at_risk_s) == clock:  # fmt: skip
                    live.append(same)
                else:
                    live.append(LiveClock(*clock))
        finally:
            self.out = walked
        backlog_after_s = None
        if self.status in v.UNSOLVED:
            if self._backlog_for is not self.policy:
                self._backlog_for = self.policy
                self._backlog_s = _backlog_after(self.policy, self.ct, default_backlog_age_s)
            backlog_after_s = self._backlog_s
        if (tail is None and previous is not None and not previous.contrib
                and not previous.counted and len(live) == len(old)
                and all(a is b for a, b in zip(live, old, strict=True))
                and previous.next_deadline_s == deadline
                and previous.backlog_after_s == backlog_after_s):  # fmt: skip
            return previous
        if tail is None:
            tail = SlaFacts(NO_OUTCOMES, NO_OUTCOMES)
        tail.live, tail.next_deadline_s = tuple(live), deadline
        tail.backlog_after_s = backlog_after_s
        return tail


#: The walk, for the ticket state that keeps one to continue from.
SlaWalk = _Walk


def walk(events: Sequence[TicketEvent], policies: PolicySet) -> _Walk | None:
    """The walk over a ticket's events sorted by ``(t, seq)`` (None: no ``ticket.created``).

    Events timed before ``ticket.created`` count at the creation instant, as in the other
    facts; events after a close have no effect. The walk's ``out`` holds the outcomes
    recorded on the way.
    """
    created = next((e for e in events if e.type == v.TICKET_CREATED), None)
    if created is None:
        return None
    w = _Walk.begin(created, policies)
    for ev in events:
        if w.ended:
            break
        if ev is not created:
            w.step(ev)
    return w


def derive_sla(
    events: Sequence[TicketEvent],
    policies: PolicySet,
    *,
    now_s: float,
    default_backlog_age_s: float,
) -> SlaFacts:
    """Derive a ticket's SLA clocks from its events sorted by ``(t, seq)``.

    Everything the clocks contribute and count, up to the processing clock ``now_s``.
    """
    w = walk(events, policies)
    if w is None:
        return SlaFacts()
    out = w.out
    assert isinstance(out, SlaFacts)  # a fresh walk records in its own SlaFacts
    tail = w.finish(now_s, default_backlog_age_s)
    out.counted.update(tail.counted)
    add_into(out.contrib, tail.contrib)
    out.live, out.backlog_after_s = tail.live, tail.backlog_after_s
    out.next_deadline_s = tail.next_deadline_s
    return out


def _backlog_after(policy: SlaPolicy | None, created_s: float, default_age_s: float) -> float:
    """From when an unsolved ticket is backlog: older than its policy's resolution target.

    Age counts the policy's calendar from creation, with no pauses; a ticket whose policy
    sets no resolution target (or with no policy) uses the plain default age.
    """
    target = None if policy is None else policy.targets.get(RESOLUTION)
    if policy is None or target is None:
        return created_s + default_age_s
    return policy.calendar.breach_instant(created_s, target)
