"""Ticket facts as a pure function of the set of a ticket's events, and what they contribute.

The whole history is re-derived on every change. Tickets have tens of events, so this is
cheap, and it makes order-independence hold by construction: the result depends only on
the sorted, deduplicated event list, never on the order in which events arrived.
"""

from __future__ import annotations

from collections.abc import Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field

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
    """The derived facts of one ticket and their contributions to the aggregates."""

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

    @property
    def unsolved(self) -> bool:
        """Whether the ticket counts in the unsolved level gauges."""
        return self.created_at is not None and not self.closed and self.status in v.UNSOLVED


def _add(contrib: dict[ContribKey, float], key: ContribKey, value: float) -> None:
    old = contrib.get(key)
    if old is None:
        contrib[pooled(key, key)] = 0.0 + value  # a float, as the sum always was
    else:
        contrib[key] = old + value


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
    facts = Facts()
    created = next((e for e in events if e.type == v.TICKET_CREATED), None)
    if created is None:
        return facts
    contrib = facts.contrib
    ct = created.t
    cf = created.f
    q = cf.get("queue") or v.OTHER_QUEUE
    pr = cf.get("priority") or "normal"
    ch = cf.get("channel") or "other"
    st = cf.get("status") or "new"
    facts.created_at, facts.channel, facts.assignee = ct, ch, cf.get("assignee")
    _w(contrib, "created_tickets", q, ct, 1)
    _w(contrib, "severity_sum", q, ct, v.SEVERITY.get(pr, 2))
    facts.counted["created"] = share(("created", q, pr, ch))

    first_solved_queue = q
    agent_times: list[float] = []
    reopen_times: list[float] = []
    csat: tuple[float, int, str] | None = None

    def solve(t: float, fact_id: str) -> None:
        nonlocal first_solved_queue
        _w(contrib, "solved_tickets", q, t, 1)
        facts.counted[f"s:{fact_id}"] = share(("solved", q, pr, ch))
        if facts.first_solved_at is None:
            facts.first_solved_at = t
            first_solved_queue = q
            ttr = t - ct
            _w(contrib, "resolution_seconds_sum", q, t, ttr)
            _w(contrib, "resolution_seconds_count", q, t, 1)
            facts.observations["ttr"] = ("resolution", share((q, pr)), ttr)

    if st == v.SOLVED:
        solve(ct, created.event_id)
    closed = st == v.CLOSED
    after_close: set[str] = set()
    for ev in events:
        if ev is created:
            continue
        if closed:
            after_close.add(ev.event_id)
            continue
        t = ev.t if ev.t > ct else ct
        f = ev.f
        etype = ev.type
        if etype == v.TICKET_STATUS_CHANGED:
            new = f["status"]
            if new == v.SOLVED and st in v.UNSOLVED:
                solve(t, ev.event_id)
            elif st == v.SOLVED and new in v.UNSOLVED:
                reopen_times.append(t)
                _w(contrib, "reopened_tickets", q, t, 1)
                facts.counted[f"r:{ev.event_id}"] = share(("reopened", q, pr))
            closed = new == v.CLOSED
            st = new
        elif etype == v.TICKET_MESSAGE:
            if f.get("author") == "agent" and f.get("public", True):
                agent_times.append(t)
                if facts.first_reply_at is None:
                    facts.first_reply_at = t
                    frt = t - ct
                    _w(contrib, "first_reply_seconds_sum", q, t, frt)
                    _w(contrib, "first_reply_seconds_count", q, t, 1)
                    facts.observations["frt"] = ("first_reply", share((q, pr)), frt)
        elif etype == v.INTERACTION_COMPLETED:
            handle = float(f.get("handle", 0.0))
            agent_times.append(t)
            b = bucket_of(t)
            _add(contrib, ("w", "handle_seconds_sum", q, ch, b), handle)
            _add(contrib, ("w", "interactions", q, ch, b), 1)
            facts.observations[f"h:{ev.event_id}"] = ("handle", share((q, ch)), handle)
        elif etype == v.TICKET_ASSIGNED:
            facts.assignee = f.get("assignee")
        elif etype == v.TICKET_QUEUE_CHANGED:
            q = f["queue"]
        elif etype == v.TICKET_PRIORITY_CHANGED:
            pr = f["priority"]
        elif etype == v.SURVEY_CSAT:
            csat = (t, int(f["score"]), q)  # a later rating replaces the earlier one
        elif etype == v.SURVEY_NPS:
            _nps(contrib, f.get("queue") or q, t, int(f["score"]))

    if csat is not None:
        t, score, cq = csat
        _w(contrib, "csat_responses", cq, t, 1)
        _w(contrib, "csat_score_sum", cq, t, score)
        if score >= 4:
            _w(contrib, "csat_satisfied", cq, t, 1)

    fs = facts.first_solved_at
    if fs is not None:
        facts.agent_touches = sum(1 for t in agent_times if t <= fs)
        if facts.agent_touches >= 1:
            _w(contrib, "fcr_eligible_tickets", first_solved_queue, fs, 1)
            reopened_in_window = any(fs < r <= fs + fcr_reopen_window_s for r in reopen_times)
            if facts.agent_touches == 1 and not reopened_in_window:
                _w(contrib, "fcr_tickets", first_solved_queue, fs, 1)
    if after_close:
        facts.after_close = after_close
    facts.reopens = len(reopen_times)
    facts.queue, facts.priority, facts.status, facts.closed = q, pr, st, closed
    if facts.unsolved:
        _add(contrib, ("l", "tickets_unsolved", q, pr, st), 1)
        if not facts.assignee:
            _add(contrib, ("l", "tickets_unassigned", q, pr, ""), 1)
    return facts


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
