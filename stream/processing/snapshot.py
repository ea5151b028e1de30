"""A consistent read of the owned partitions at one instant, shared by /metrics and /api/summary.

Both surfaces sum the same snapshot, so they can never disagree.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from stream.domain.aggregates import HistogramState, PartitionAggregates
from stream.domain.definitions import (
    CHANNEL_WINDOW_METRICS,
    DUE_HORIZONS_S,
    SLA_COUNTERS,
    SLA_WINDOW_METRICS,
    WINDOW_METRICS,
)
from stream.domain.policies import CLOCKS
from stream.domain.sla_clocks import LiveClock
from stream.domain.vocabulary import PRIORITIES, STATUSES, UNSOLVED
from stream.domain.windows import WINDOWS_SECONDS
from stream.processing.entities import PartitionRecord

UNSOLVED_STATUSES = tuple(st for st in STATUSES if st in UNSOLVED)
DEAD_LETTER_REASONS = (
    "invalid_json",
    "schema_violation",
    "unknown_type",
    "too_large",
    "future_timestamp",
    "ticket_closed",
    "unknown_ticket",
)


@dataclass(slots=True)
class Snapshot:
    """Everything exported, keyed by label values."""

    now_s: float
    level: dict[tuple[str, str, str, str], float] = field(default_factory=dict)
    backlog: dict[tuple[str, str], int] = field(default_factory=dict)
    oldest_age_s: dict[str, float] = field(default_factory=dict)
    counters: dict[tuple[str, ...], int] = field(default_factory=dict)
    histograms: dict[tuple[str, tuple[str, ...]], HistogramState] = field(default_factory=dict)
    # (metric, queue, channel, window) -> value; channel is "" for queue-only metrics
    windows: dict[tuple[str, str, str, str], float] = field(default_factory=dict)
    consumed: int = 0
    applied: int = 0
    duplicate: int = 0
    dead_lettered: dict[str, int] = field(default_factory=dict)
    held: int = 0
    tracked_tickets: int = 0
    last_event_s: float = 0.0
    queue_overflow: int = 0
    partitions: list[int] = field(default_factory=list)
    # SLA live gauges: (queue, priority, sla) -> tickets; (queue, sla, within) -> clocks;
    # queue -> seconds to the earliest running deadline (+Inf when none).
    sla_breached: dict[tuple[str, str, str], int] = field(default_factory=dict)
    sla_at_risk: dict[tuple[str, str, str], int] = field(default_factory=dict)
    sla_due: dict[tuple[str, str, str], int] = field(default_factory=dict)
    sla_next_breach_s: dict[str, float] = field(default_factory=dict)

    @property
    def queues(self) -> list[str]:
        """Every queue with any data."""
        names = {k[1] for k in self.level} | {k[1] for k in self.windows}
        names |= {k[1] for k in self.counters} | set(self.oldest_age_s)
        return sorted(names)


def take_snapshot(
    aggregates: dict[int, PartitionAggregates],
    records: dict[int, PartitionRecord],
    *,
    now_s: float,
    held: int,
    tracked_tickets: int = 0,
    sla_clocks: dict[int, float] | None = None,
) -> Snapshot:
    """Sum the owned partitions at processing time ``now_s``.

    ``sla_clocks`` gives a partition's own SLA clock where it differs from ``now_s`` (its
    stream time with the event clock; see ``Processor.sla_clock_s``).
    """
    snap = Snapshot(now_s=now_s, partitions=sorted(aggregates), held=held,
                    tracked_tickets=tracked_tickets)  # fmt: skip
    level: dict[tuple[str, str, str, str], float] = defaultdict(float)
    backlog: dict[tuple[str, str], int] = defaultdict(int)
    oldest: dict[str, float] = {}
    counters: dict[tuple[str, ...], int] = defaultdict(int)
    windows: dict[tuple[str, str, str, str], float] = defaultdict(float)
    live = _LiveSla()
    for p, agg in aggregates.items():
        sla_now = now_s if sla_clocks is None else sla_clocks.get(p, now_s)
        for key, val in agg.level.items():
            level[key] += val
        for queue, priority, created_at, backlog_after_s, clocks in agg.open_tickets.values():
            age = now_s - created_at
            if now_s > backlog_after_s:
                backlog[(queue, priority)] += 1
            if age > oldest.get(queue, 0.0):
                oldest[queue] = age
            if clocks:
                live.add(queue, priority, clocks, sla_now)
        for ckey, n in agg.counters.items():
            counters[ckey] += n
        for hkey, hist in agg.histograms.items():
            into = snap.histograms.get(hkey)
            if into is None:
                into = snap.histograms[hkey] = HistogramState([0] * len(hist.counts))
            into.counts = [a + b for a, b in zip(into.counts, hist.counts, strict=True)]
            into.total += hist.total
            into.count += hist.count
        for metric, queue, channel in agg.windowed:
            for window, window_s in WINDOWS_SECONDS.items():
                windows[(metric, queue, channel, window)] += agg.window_sum(
                    (metric, queue, channel), now_s, window_s
                )
    # Every known queue shows every label set (0 rather than no data), so series neither
    # flicker nor depend on history that a restart does not replay: a queue is known when
    # it has a counted fact, a non-zero level or window bucket.
    queues = {k[1] for k in counters} | {k[1] for k, val in level.items() if val}
    queues |= {k[1] for k, val in windows.items() if val}
    level = defaultdict(float, {k: val for k, val in level.items() if val})
    for queue in queues:
        oldest.setdefault(queue, 0.0)
        live.next_breach_s.setdefault(queue, float("inf"))
        for sla in CLOCKS:
            for within in DUE_HORIZONS_S:
                live.due.setdefault((queue, sla, within), 0)
        for priority in PRIORITIES:
            backlog.setdefault((queue, priority), 0)
            for sla in CLOCKS:
                live.breached.setdefault((queue, priority, sla), 0)
                live.at_risk.setdefault((queue, priority, sla), 0)
                for outcome in SLA_COUNTERS:
                    counters.setdefault((outcome, queue, priority, sla), 0)
            level[("tickets_unassigned", queue, priority, "")] += 0.0
            for status in UNSOLVED_STATUSES:
                level[("tickets_unsolved", queue, priority, status)] += 0.0
    windows = defaultdict(float, {k: val for k, val in windows.items() if val})
    for queue in queues:
        for window in WINDOWS_SECONDS:
            for metric in WINDOW_METRICS:
                windows[(metric, queue, "", window)] += 0.0
            for metric in SLA_WINDOW_METRICS:
                for sla in CLOCKS:
                    windows[(metric, queue, sla, window)] += 0.0
    channels = {(k[1], k[3]) for k in counters if k[0] in ("created", "solved")}
    channels |= {(k[1], k[2]) for k in windows if k[0] in CHANNEL_WINDOW_METRICS}
    for queue, channel in channels:
        for window in WINDOWS_SECONDS:
            for metric in CHANNEL_WINDOW_METRICS:
                windows[(metric, queue, channel, window)] += 0.0
    snap.level, snap.backlog, snap.oldest_age_s = dict(level), dict(backlog), oldest
    snap.counters, snap.windows = dict(counters), dict(windows)
    snap.sla_breached, snap.sla_at_risk = dict(live.breached), dict(live.at_risk)
    snap.sla_due, snap.sla_next_breach_s = dict(live.due), live.next_breach_s
    snap.dead_lettered = dict.fromkeys(DEAD_LETTER_REASONS, 0)
    for rec in records.values():
        snap.consumed += rec.consumed
        snap.applied += rec.applied
        snap.duplicate += rec.duplicate
        snap.queue_overflow += rec.queue_overflow
        snap.last_event_s = max(snap.last_event_s, rec.last_event_s)
        for reason, n in rec.dead_lettered.items():
            snap.dead_lettered[reason] = snap.dead_lettered.get(reason, 0) + n
    return snap


class _LiveSla:
    """Sums the live SLA clocks of unsolved tickets."""

    def __init__(self) -> None:
        self.breached: dict[tuple[str, str, str], int] = defaultdict(int)
        self.at_risk: dict[tuple[str, str, str], int] = defaultdict(int)
        self.due: dict[tuple[str, str, str], int] = defaultdict(int)
        self.next_breach_s: dict[str, float] = {}

    def add(self, queue: str, priority: str, clocks: tuple[LiveClock, ...], now: float) -> None:
        """One ticket's live clocks (at most one per sla) at its partition's SLA clock."""
        for c in clocks:
            deadline = c.deadline_s
            if c.breached_s is not None or (deadline is not None and deadline < now):
                # A deadline passed since the last timer tick is a breach already.
                self.breached[(queue, priority, c.sla)] += 1
                continue
            if deadline is None:
                continue  # paused: neither at risk nor due
            if c.at_risk_s is not None and c.at_risk_s <= now:
                self.at_risk[(queue, priority, c.sla)] += 1
            left = deadline - now
            for within, horizon_s in DUE_HORIZONS_S.items():
                if left <= horizon_s:
                    self.due[(queue, c.sla, within)] += 1
            if left < self.next_breach_s.get(queue, float("inf")):
                self.next_breach_s[queue] = left


def _ratio(num: float, den: float) -> float | None:
    return num / den if den else None


def queue_summary(snap: Snapshot) -> dict[str, dict[str, float | int | None]]:
    """Per-queue headline numbers for /api/summary and the wall page.

    Ratios are computed here for convenience; Prometheus users get the additive parts and
    compute ratios in recording rules.
    """
    # Every series grouped by queue once: looking each queue up in all the series made a
    # request cost queues x series (4 s at the 500-queue cap, blocking the event loop).
    windows: dict[str, dict[tuple[str, str, str], float]] = defaultdict(dict)
    for (metric, q, channel, window), val in snap.windows.items():
        windows[q][(metric, channel, window)] = val
    levels: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for (metric, q, _p, _s), val in snap.level.items():
        levels[q][metric] += val
    per_queue: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for (q, _p), n in snap.backlog.items():
        per_queue[q]["backlog"] += n
    for (q, _p, _s), n in snap.sla_breached.items():
        per_queue[q]["sla_breached_tickets"] += n
    for (q, _p, _s), n in snap.sla_at_risk.items():
        per_queue[q]["sla_at_risk_tickets"] += n
    for (q, _s, within), n in snap.sla_due.items():
        per_queue[q][f"sla_due_{within}"] += n
    out: dict[str, dict[str, float | int | None]] = {}
    for queue in snap.queues:
        wq, counts = windows[queue], per_queue[queue]

        def w(metric: str, window: str, channel: str | None = None,
              wq: dict[tuple[str, str, str], float] = wq) -> float:  # fmt: skip
            if channel is None:
                return wq.get((metric, "", window), 0.0)
            return sum(val for (m, _c, win), val in wq.items() if m == metric and win == window)

        unsolved = levels[queue]["tickets_unsolved"]
        unassigned = levels[queue]["tickets_unassigned"]
        nps_n = w("nps_responses", "24h")

        def sla_w(metric: str, wq: dict[tuple[str, str, str], float] = wq) -> float:
            return sum(val for (m, _s, win), val in wq.items() if m == metric and win == "24h")

        breached_24h, achieved_24h = sla_w("sla_breached"), sla_w("sla_achieved")
        next_breach = snap.sla_next_breach_s.get(queue, float("inf"))
        out[queue] = {
            "unsolved": int(unsolved),
            "unassigned": int(unassigned),
            "backlog": counts["backlog"],
            "oldest_unsolved_age_seconds": snap.oldest_age_s.get(queue, 0.0),
            "created_1h": int(w("created_tickets", "1h")),
            "solved_1h": int(w("solved_tickets", "1h")),
            "created_24h": int(w("created_tickets", "24h")),
            "solved_24h": int(w("solved_tickets", "24h")),
            "reopened_24h": int(w("reopened_tickets", "24h")),
            "first_reply_avg_seconds_1h": _ratio(
                w("first_reply_seconds_sum", "1h"), w("first_reply_seconds_count", "1h")),
            "resolution_avg_seconds_24h": _ratio(
                w("resolution_seconds_sum", "24h"), w("resolution_seconds_count", "24h")),
            "handle_avg_seconds_1h": _ratio(
                w("handle_seconds_sum", "1h", "*"), w("interactions", "1h", "*")),
            "fcr_ratio_24h": _ratio(w("fcr_tickets", "24h"), w("fcr_eligible_tickets", "24h")),
            "csat_ratio_24h": _ratio(w("csat_satisfied", "24h"), w("csat_responses", "24h")),
            "nps_24h": None if not nps_n else
            100.0 * (w("nps_promoters", "24h") - w("nps_detractors", "24h")) / nps_n,
            "reopen_rate_24h": _ratio(w("reopened_tickets", "24h"), w("solved_tickets", "24h")),
            "severity_avg_24h": _ratio(w("severity_sum", "24h"), w("created_tickets", "24h")),
            "sla_breached_tickets": counts["sla_breached_tickets"],
            "sla_at_risk_tickets": counts["sla_at_risk_tickets"],
            "sla_next_breach_seconds": None if next_breach == float("inf") else next_breach,
            **{f"sla_due_{within}": counts[f"sla_due_{within}"] for within in DUE_HORIZONS_S},
            "sla_breaches_24h": int(breached_24h),
            "sla_achieved_24h": int(achieved_24h),
            "sla_attainment_24h": _ratio(achieved_24h, achieved_24h + breached_24h),
        }  # fmt: skip
    return out
