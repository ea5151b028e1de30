"""Ticket facts as a pure function of the set of a ticket's events, and what they contribute.

The facts are a fold over the sorted, deduplicated event list, which makes
order-independence hold by construction: the result depends only on that list, never on
the order in which events arrived. An event that sorts after every other (nearly all of
them) continues the fold from the ticket's current facts with :func:`step`; an event that
lands in the middle makes the ticket derive its whole history again. Both give the same
facts (``tests/domain/test_ticket_fold.py`` holds them equal at every step).
"""

from __future__ import annotations

from collections.abc import Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from typing import Protocol

from stream.domain import vocabulary as v
from stream.domain.records import TicketEvent
from stream.domain.shared import pooled, share
from stream.domain.windows import bucket_of

# A contribution key. Windowed: ("w", metric, queue, channel, bucket_start);
# level: ("l", metric, queue, priority, status). Unused parts are "".
ContribKey = tuple[str, str, str, str, int | str]
# Labels of a monotonic counter or histogram: (metric, label values...).
CounterKey = tuple[str, ...]
Observation = tuple[str, tuple[str, ...], float]

DEFAULT_FCR_REOPEN_WINDOW_S = 7 * 86400


@dataclass(slots=True)
class Facts:
    """The derived facts of one ticket and their contributions to the aggregates.

    It is also the state of the fold over the ticket's events after the last one (the
    fields after ``after_close`` are what the fold carries besides the facts), so an event
    that sorts after every other continues it with :func:`step` instead of walking the
    whole history again.
    """

    created_at: float | None = None
    queue: str = ""
    priority: str = "normal"
    channel: str = "other"
    status: str = "new"
    assignee: str | None = None
    closed: bool = False
    first_reply_at: float | None = None
    first_solved_at: float | None = None
    reopens: int = 0
    agent_touches: int = 0
    contrib: dict[ContribKey, float] = field(default_factory=dict)
    counted: dict[str, CounterKey] = field(default_factory=dict)
    observations: dict[str, Observation] = field(default_factory=dict)
    # Most tickets have none: they share one empty frozenset until one is found.
    after_close: AbstractSet[str] = frozenset()
    # -- the fold's own state ------------------------------------------------------------
    #: Queue of the first solve (FCR counts there).
    first_solved_queue: str = ""
    #: Agent touches so far (public agent messages and interactions), before or after fs.
    agent_events: int = 0
    #: A reopen came within the FCR reopen window after the first solve.
    reopened_in_window: bool = False
    #: The latest CSAT rating: (instant, score, queue at that instant).
    csat: tuple[float, int, str] | None = None

    @property
    def unsolved(self) -> bool:
        """Whether the ticket counts in the unsolved level gauges."""
        return self.created_at is not None and not self.closed and self.status in v.UNSOLVED


class Changes(Protocol):
    """Where a fold step writes what it adds: a :class:`Facts`, or a journal of one step."""

    contrib: dict[ContribKey, float]
    counted: dict[str, CounterKey]
    observations: dict[str, Observation]


@dataclass(slots=True)
class Journal:
    """What one step added (contributions to add, facts counted, observations made)."""

    contrib: dict[ContribKey, float] = field(default_factory=dict)
    counted: dict[str, CounterKey] = field(default_factory=dict)
    observations: dict[str, Observation] = field(default_factory=dict)


#: Whole counts are most of a ticket's sums: one float object for each small one, not a
#: new one per sum (24 bytes each, a few per ticket). Equal values, so sums are unchanged.
_FLOATS: dict[float, float] = {float(n): float(n) for n in range(-16, 17)}


def _add(contrib: dict[ContribKey, float], key: ContribKey, value: float) -> None:
    old = contrib.get(key)
    if old is None:
        total = 0.0 + value  # a float, as the sum always was
        contrib[pooled(key, key)] = _FLOATS.get(total, total)
    else:
        total = old + value
        contrib[key] = _FLOATS.get(total, total)


def _w(contrib: dict[ContribKey, float], metric: str, queue: str, t: float, value: float) -> None:
    _add(contrib, ("w", metric, queue, "", bucket_of(t)), value)


def derive(
    events: Sequence[TicketEvent], *, fcr_reopen_window_s: float = DEFAULT_FCR_REOPEN_WINDOW_S
) -> Facts:
    """Derive a ticket's facts from its events, sorted by ``(t, seq)``.

    Events timed before ``ticket.created`` (clock skew at the source) are treated as
    happening at the creation instant, keeping their relative order. Events ordered after
    the ticket is closed have no effect and are listed in ``after_close``.
    """
    created = next((e for e in events if e.type == v.TICKET_CREATED), None)
    if created is None:
        return Facts()
    facts = begin(created)
    for ev in events:
        if ev is not created:
            step(facts, ev, fcr_reopen_window_s, facts)
    add_into(facts.contrib, tail_of(facts))
    return facts


def begin(created: TicketEvent) -> Facts:
    """The fold's state after the ticket's ``ticket.created`` alone (no tail yet)."""
    facts = Facts()
    ct, cf = created.t, created.f
    q = cf.get("queue") or v.OTHER_QUEUE
    pr = cf.get("priority") or "normal"
    ch = cf.get("channel") or "other"
    st = cf.get("status") or "new"
    facts.created_at, facts.channel, facts.assignee = ct, ch, cf.get("assignee")
    facts.queue, facts.priority, facts.status = q, pr, st
    facts.first_solved_queue = q
    contrib = facts.contrib
    _w(contrib, "created_tickets", q, ct, 1)
    _w(contrib, "severity_sum", q, ct, v.SEVERITY.get(pr, 2))
    facts.counted["created"] = share(("created", q, pr, ch))
    if st == v.SOLVED:
        _solve(facts, ct, created.event_id, facts)
    facts.closed = st == v.CLOSED
    return facts


def _solve(facts: Facts, t: float, fact_id: str, out: Changes) -> None:
    q, pr = facts.queue, facts.priority
    _w(out.contrib, "solved_tickets", q, t, 1)
    out.counted[f"s:{fact_id}"] = share(("solved", q, pr, facts.channel))
    if facts.first_solved_at is None:
        facts.first_solved_at = t
        facts.first_solved_queue = q
        # Touches so far are all at or before t: the fold goes in time order.
        facts.agent_touches = facts.agent_events
        ttr = t - facts.created_at if facts.created_at is not None else 0.0
        _w(out.contrib, "resolution_seconds_sum", q, t, ttr)
        _w(out.contrib, "resolution_seconds_count", q, t, 1)
        out.observations["ttr"] = ("resolution", share((q, pr)), ttr)


def _agent_touch(facts: Facts, t: float) -> None:
    facts.agent_events += 1
    fs = facts.first_solved_at
    if fs is not None and t <= fs:
        facts.agent_touches += 1


def step(facts: Facts, ev: TicketEvent, fcr_reopen_window_s: float, out: Changes) -> None:
    """Fold one more event, sorted after every event folded so far, into ``facts``.

    The fields of ``facts`` move on; what the event contributes, counts and observes is
    added to ``out`` (``facts`` itself in a whole derivation, a :class:`Journal` when one
    event is appended). The tail (CSAT, FCR, level gauges) is not touched: see
    :func:`tail_of`.
    """
    if facts.closed:
        if not facts.after_close:
            facts.after_close = set()
        assert isinstance(facts.after_close, set)
        facts.after_close.add(ev.event_id)
        return
    ct = facts.created_at if facts.created_at is not None else ev.t
    t = ev.t if ev.t > ct else ct
    f = ev.f
    etype = ev.type
    q = facts.queue
    contrib = out.contrib
    if etype == v.TICKET_STATUS_CHANGED:
        new = f["status"]
        st = facts.status
        if new == v.SOLVED and st in v.UNSOLVED:
            _solve(facts, t, ev.event_id, out)
        elif st == v.SOLVED and new in v.UNSOLVED:
            facts.reopens += 1
            fs = facts.first_solved_at
            if fs is not None and fs < t <= fs + fcr_reopen_window_s:
                facts.reopened_in_window = True
            _w(contrib, "reopened_tickets", q, t, 1)
            out.counted[f"r:{ev.event_id}"] = share(("reopened", q, facts.priority))
        facts.closed = new == v.CLOSED
        facts.status = new
    elif etype == v.TICKET_MESSAGE:
        if f.get("author") == "agent" and f.get("public", True):
            _agent_touch(facts, t)
            if facts.first_reply_at is None:
                facts.first_reply_at = t
                frt = t - ct
                _w(contrib, "first_reply_seconds_sum", q, t, frt)
                _w(contrib, "first_reply_seconds_count", q, t, 1)
                out.observations["frt"] = ("first_reply", share((q, facts.priority)), frt)
    elif etype == v.INTERACTION_COMPLETED:
        handle = float(f.get("handle", 0.0))
        _agent_touch(facts, t)
        b = bucket_of(t)
        ch = facts.channel
        _add(contrib, ("w", "handle_seconds_sum", q, ch, b), handle)
        _add(contrib, ("w", "interactions", q, ch, b), 1)
        out.observations[f"h:{ev.event_id}"] = ("handle", share((q, ch)), handle)
    elif etype == v.TICKET_ASSIGNED:
        facts.assignee = f.get("assignee")
    elif etype == v.TICKET_QUEUE_CHANGED:
        facts.queue = f["queue"]
    elif etype == v.TICKET_PRIORITY_CHANGED:
        facts.priority = f["priority"]
    elif etype == v.SURVEY_CSAT:
        facts.csat = (t, int(f["score"]), q)  # a later rating replaces the earlier one
    elif etype == v.SURVEY_NPS:
        _nps(contrib, f.get("queue") or q, t, int(f["score"]))


def tail_of(facts: Facts) -> dict[ContribKey, float]:
    """What depends on the fold's end state, not on one event.

    CSAT (only the latest rating counts), FCR (decided by the touches and reopens around
    the first solve) and the level gauges (the current queue, priority and status). Their
    keys are never written by :func:`step`, so an appended event retracts the old tail and
    adds the new one without touching the fold's own sums.
    """
    tail: dict[ContribKey, float] = {}
    if facts.csat is not None:
        t, score, cq = facts.csat
        _w(tail, "csat_responses", cq, t, 1)
        _w(tail, "csat_score_sum", cq, t, score)
        if score >= 4:
            _w(tail, "csat_satisfied", cq, t, 1)
    fs = facts.first_solved_at
    if fs is not None and facts.agent_touches >= 1:
        _w(tail, "fcr_eligible_tickets", facts.first_solved_queue, fs, 1)
        if facts.agent_touches == 1 and not facts.reopened_in_window:
            _w(tail, "fcr_tickets", facts.first_solved_queue, fs, 1)
    if facts.unsolved:
        q, pr = facts.queue, facts.priority
        _add(tail, ("l", "tickets_unsolved", q, pr, facts.status), 1)
        if not facts.assignee:
            _add(tail, ("l", "tickets_unassigned", q, pr, ""), 1)
    return tail


def add_into(contrib: dict[ContribKey, float], extra: dict[ContribKey, float]) -> None:
    """Add contributions to a ticket's sums (keys already pooled)."""
    floats = _FLOATS
    for key, value in extra.items():
        old = contrib.get(key)
        total = 0.0 + value if old is None else old + value
        contrib[key] = floats.get(total, total)


def retract_from(contrib: dict[ContribKey, float], extra: dict[ContribKey, float]) -> None:
    """Take contributions added with :func:`add_into` out again; keys left at 0 go.

    Exact: tails are counts and scores, whole numbers a double holds exactly.
    """
    for key, value in extra.items():
        left = contrib[key] - value
        if left:
            contrib[key] = _FLOATS.get(left, left)
        else:
            del contrib[key]


def _nps(contrib: dict[ContribKey, float], queue: str, t: float, score: int) -> None:
    """Add one NPS response: promoters score 9-10, detractors 0-6."""
    _w(contrib, "nps_responses", queue, t, 1)
    if score >= 9:
        _w(contrib, "nps_promoters", queue, t, 1)
    elif score <= 6:
        _w(contrib, "nps_detractors", queue, t, 1)


def nps_contribution(queue: str, t: float, score: int) -> dict[ContribKey, float]:
    """Contribution of an NPS response that belongs to no ticket."""
    contrib: dict[ContribKey, float] = {}
    _nps(contrib, queue, t, score)
    return contrib


def contribution_delta(
    old: dict[ContribKey, float], new: dict[ContribKey, float]
) -> dict[ContribKey, float]:
    """What to add to the aggregates to replace ``old`` by ``new`` (retract, then add)."""
    delta = {k: val - old.get(k, 0.0) for k, val in new.items()}
    for k, val in old.items():
        if k not in new:
            delta[k] = -val
    return {k: d for k, d in delta.items() if d != 0}
