"""Prometheus exposition of a :class:`Snapshot`, computed at scrape time by a custom collector.

Nothing is updated per event: a scrape sums the owned partitions once, so /metrics costs
nothing on the hot path and always agrees with /api/summary.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
)
from prometheus_client.registry import Collector, CollectorRegistry

from stream.domain.definitions import (
    CHANNEL_WINDOW_METRICS,
    HISTOGRAM_BUCKETS,
    SLA_WINDOW_METRICS,
)
from stream.processing.snapshot import Snapshot

Metric = GaugeMetricFamily | CounterMetricFamily | HistogramMetricFamily

_COUNTERS = {
    "created": ("support_tickets_created", "Tickets created.", ["queue", "priority", "channel"]),
    "solved": ("support_tickets_solved", "Transitions into solved.",
               ["queue", "priority", "channel"]),
    "reopened": ("support_tickets_reopened", "Reopens (solved -> unsolved).",
                 ["queue", "priority"]),
    "sla_breached": ("support_sla_breaches",
                     "SLA clock cycles breached (counted when first known; never retracted).",
                     ["queue", "priority", "sla"]),
    "sla_achieved": ("support_sla_achieved",
                     "SLA clock cycles stopped within target (counted when first known).",
                     ["queue", "priority", "sla"]),
    "sla_cancelled": ("support_sla_cancelled",
                      "SLA clock cycles cancelled: closed unsolved, or no policy applies any more.",
                      ["queue", "priority", "sla"]),
}  # fmt: skip
_HISTOGRAMS = {
    "first_reply": ("support_first_reply_seconds",
                    "First reply time: first agent public reply - created.", ["queue", "priority"]),
    "resolution": ("support_resolution_seconds",
                   "Time to resolution: first solve - created.", ["queue", "priority"]),
    "handle": ("support_handle_time_seconds",
               "Handle time of one interaction: talk + hold + wrap.", ["queue", "channel"]),
}  # fmt: skip
_WINDOW_HELP = {
    "created_tickets": "Tickets created in the trailing window.",
    "solved_tickets": "Transitions into solved in the trailing window.",
    "reopened_tickets": "Reopens in the trailing window.",
    "first_reply_seconds_sum": "Sum of first reply times of replies in the window.",
    "first_reply_seconds_count": "First replies in the window.",
    "resolution_seconds_sum": "Sum of times to first resolution of tickets first solved in it.",
    "resolution_seconds_count": "Tickets first solved in the window.",
    "first_reply_business_seconds_sum": "Sum of first reply times in business seconds of the "
    "ticket's SLA calendar (count: support_window_first_reply_seconds_count).",
    "resolution_business_seconds_sum": "Sum of times to first resolution in business seconds "
    "of the ticket's SLA calendar (count: support_window_resolution_seconds_count).",
    "handle_seconds_sum": "Sum of handle time (talk + hold + wrap) of interactions in it.",
    "interactions": "Interactions completed in the window.",
    "fcr_tickets": "First-contact resolutions: eligible, one touch, no reopen within 7 days.",
    "fcr_eligible_tickets": "Tickets first solved in the window with at least one agent touch.",
    "csat_satisfied": "CSAT ratings of 4 or 5 (latest rating per ticket) in the window.",
    "csat_responses": "CSAT ratings (latest per ticket) in the window.",
    "csat_score_sum": "Sum of CSAT scores (latest per ticket) in the window.",
    "nps_promoters": "NPS responses scoring 9-10 in the window.",
    "nps_detractors": "NPS responses scoring 0-6 in the window.",
    "nps_responses": "NPS responses in the window.",
    "severity_sum": "Severity (low=1 .. urgent=4) summed over tickets created in the window.",
    "sla_breached": "SLA breaches whose breach instant is in the window (exact; late events "
    "correct it).",
    "sla_achieved": "SLA clock cycles achieved (stopped within target) in the window (exact).",
}


class SupportCollector(Collector):
    """Exports every supportpulse metric from a snapshot taken at scrape time."""

    def __init__(self, snapshot: Callable[[], Snapshot]) -> None:
        self._snapshot = snapshot

    def collect(self) -> Iterator[Metric]:
        """Build the metric families of one scrape."""
        snap = self._snapshot()
        yield from _levels(snap)
        yield from _counters(snap)
        yield from _histograms(snap)
        yield from _windows(snap)
        yield from _sla(snap)
        yield from _pipeline(snap)


def _levels(snap: Snapshot) -> Iterator[Metric]:
    unsolved = GaugeMetricFamily("support_tickets_unsolved",
                                 "Tickets in an unsolved status (new, open, pending, on_hold).",
                                 labels=["queue", "priority", "status"])  # fmt: skip
    unassigned = GaugeMetricFamily("support_tickets_unassigned",
                                   "Unsolved tickets with no assignee.",
                                   labels=["queue", "priority"])  # fmt: skip
    for (metric, queue, priority, status), val in sorted(snap.level.items()):
        if metric == "tickets_unsolved":
            unsolved.add_metric([queue, priority, status], val)
        else:
            unassigned.add_metric([queue, priority], val)
    backlog = GaugeMetricFamily("support_backlog_tickets",
                                "Unsolved tickets older than the ideal resolution window.",
                                labels=["queue", "priority"])  # fmt: skip
    for (queue, priority), n in sorted(snap.backlog.items()):
        backlog.add_metric([queue, priority], n)
    oldest = GaugeMetricFamily("support_oldest_unsolved_age_seconds",
                               "Processing clock - created_at of the oldest unsolved ticket.",
                               labels=["queue"])  # fmt: skip
    for queue, age in sorted(snap.oldest_age_s.items()):
        oldest.add_metric([queue], age)
    yield from (unsolved, unassigned, backlog, oldest)


def _counters(snap: Snapshot) -> Iterator[Metric]:
    families = {name: CounterMetricFamily(prom, doc, labels=labels)
                for name, (prom, doc, labels) in _COUNTERS.items()}  # fmt: skip
    for key, n in sorted(snap.counters.items()):
        families[key[0]].add_metric(list(key[1:]), n)
    yield from families.values()


def _histograms(snap: Snapshot) -> Iterator[Metric]:
    families = {name: HistogramMetricFamily(prom, doc, labels=labels)
                for name, (prom, doc, labels) in _HISTOGRAMS.items()}  # fmt: skip
    for (metric, labels), hist in sorted(snap.histograms.items()):
        bounds = HISTOGRAM_BUCKETS[metric]
        cumulative, running = [], 0
        for bound, n in zip((*bounds, float("inf")), hist.counts, strict=True):
            running += n
            cumulative.append((_le(bound), running))
        families[metric].add_metric(list(labels), cumulative, hist.total)
    yield from families.values()


def _le(bound: float) -> str:
    return "+Inf" if bound == float("inf") else repr(bound)


def _windows(snap: Snapshot) -> Iterator[Metric]:
    families: dict[str, GaugeMetricFamily] = {}
    for (metric, queue, channel, window), val in sorted(snap.windows.items()):
        family = families.get(metric)
        extra = ("channel" if metric in CHANNEL_WINDOW_METRICS
                 else "sla" if metric in SLA_WINDOW_METRICS else None)  # fmt: skip
        if family is None:
            labels = ["queue", extra, "window"] if extra else ["queue", "window"]
            family = families[metric] = GaugeMetricFamily(
                f"support_window_{metric}", _WINDOW_HELP[metric], labels=labels
            )
        family.add_metric([queue, channel, window] if extra else [queue, window], val)
    yield from families.values()


# The live SLA gauges: (name, help, labels, Snapshot attribute keyed by those labels).
_SLA_GAUGES = (
    ("support_sla_breached_tickets", "Unsolved tickets with an SLA clock currently in breach.",
     ["queue", "priority", "sla"], "sla_breached"),
    ("support_sla_at_risk_tickets",
     "Tickets with an SLA clock running, not breached, and at most at_risk_within left.",
     ["queue", "priority", "sla"], "sla_at_risk"),
    ("support_sla_due_tickets",
     "Running SLA clocks that breach within the horizon if nobody acts (cumulative).",
     ["queue", "sla", "within"], "sla_due"),
    ("support_sla_next_breach_seconds",
     "Seconds until the earliest running SLA deadline of the queue (+Inf when none).",
     ["queue"], "sla_next_breach_s"),
)  # fmt: skip


def _sla(snap: Snapshot) -> Iterator[Metric]:
    for name, doc, labels, attr in _SLA_GAUGES:
        family = GaugeMetricFamily(name, doc, labels=labels)
        values: dict[str | tuple[str, ...], float] = getattr(snap, attr)
        for key, value in sorted(values.items()):
            family.add_metric(list(key) if isinstance(key, tuple) else [key], value)
        yield family


def _pipeline(snap: Snapshot) -> Iterator[Metric]:
    yield CounterMetricFamily("support_events_consumed", "Messages consumed from the input topic.",
                              value=snap.consumed)  # fmt: skip
    yield CounterMetricFamily("support_events_applied", "Events applied to ticket state.",
                              value=snap.applied)  # fmt: skip
    yield CounterMetricFamily("support_events_duplicate", "Events ignored as duplicates.",
                              value=snap.duplicate)  # fmt: skip
    dead = CounterMetricFamily(
        "support_events_dead_lettered", "Messages sent to the dead-letter topic.", labels=["reason"]
    )
    for reason, n in sorted(snap.dead_lettered.items()):
        dead.add_metric([reason], n)
    yield dead
    yield GaugeMetricFamily("support_events_held",
                            "Events held until their ticket.created arrives (not yet applied).",
                            value=snap.held)  # fmt: skip
    yield GaugeMetricFamily(
        "support_last_event_timestamp_seconds",
        "occurred_at of the latest applied event.",
        value=snap.last_event_s,
    )
    yield GaugeMetricFamily("support_processing_clock_seconds",
                            "The processing clock: wall time, or stream time in event mode.",
                            value=snap.now_s)  # fmt: skip
    yield CounterMetricFamily("support_queue_overflow",
                              "Events naming a queue beyond max_queues (exported as other).",
                              value=snap.queue_overflow)  # fmt: skip
    yield GaugeMetricFamily("support_tickets_tracked",
                            "Tickets kept in state (unsolved, or solved/closed within retention).",
                            value=snap.tracked_tickets)  # fmt: skip
    yield GaugeMetricFamily("support_owned_partitions", "Input partitions this worker owns.",
                            value=len(snap.partitions))  # fmt: skip


def build_registry(snapshot: Callable[[], Snapshot], *extra: Collector) -> CollectorRegistry:
    """A fresh registry holding the supportpulse collector and any ``extra`` ones."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(SupportCollector(snapshot))
    for collector in extra:
        registry.register(collector)
    return registry
