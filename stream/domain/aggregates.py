"""Per-partition aggregates: sums of every ticket's contributions, plus counters and histograms.

Everything here can be rebuilt from the tickets of a partition, which is what makes a
restarted or rebalanced worker exact: the ticket states are the only durable truth.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable
from dataclasses import dataclass, field

from stream.domain.definitions import HISTOGRAM_BUCKETS
from stream.domain.facts import ContribKey, CounterKey, Observation
from stream.domain.queue_cap import QueueCap
from stream.domain.ticket import OpenInfo
from stream.domain.windows import retention_floor, trailing_range

# (metric, queue, channel) -> bucket start -> value
SeriesKey = tuple[str, str, str]
# (metric, queue, priority, status)
LevelKey = tuple[str, str, str, str]


@dataclass(slots=True)
class HistogramState:
    """Non-cumulative bucket counts (the last slot is +Inf), sum and count."""

    counts: list[int]
    total: float = 0.0
    count: int = 0

    @classmethod
    def empty(cls, metric: str) -> HistogramState:
        """A histogram with the buckets of ``metric``."""
        return cls([0] * (len(HISTOGRAM_BUCKETS[metric]) + 1))

    def observe(self, metric: str, value: float) -> None:
        """Add one observation."""
        # bisect_left: a value equal to a bound belongs to that bound's bucket (le).
        self.counts[bisect.bisect_left(HISTOGRAM_BUCKETS[metric], value)] += 1
        self.total += value
        self.count += 1

    def merge(self, other: HistogramState) -> None:
        """Add another histogram of the same buckets."""
        self.counts = [a + b for a, b in zip(self.counts, other.counts, strict=True)]
        self.total += other.total
        self.count += other.count


@dataclass(slots=True)
class PartitionAggregates:
    """The aggregates of one input partition; queue labels pass through the worker's cap."""

    cap: QueueCap = field(default_factory=QueueCap)
    windowed: dict[SeriesKey, dict[int, float]] = field(default_factory=dict)
    level: dict[LevelKey, float] = field(default_factory=dict)
    counters: dict[CounterKey, int] = field(default_factory=dict)
    histograms: dict[tuple[str, tuple[str, ...]], HistogramState] = field(default_factory=dict)
    open_tickets: dict[str, OpenInfo] = field(default_factory=dict)

    def apply_delta(self, delta: dict[ContribKey, float]) -> None:
        """Add a ticket's contribution delta."""
        label = self.cap.label
        for (kind, metric, raw_queue, extra, last), value in delta.items():
            queue = label(raw_queue)
            if kind == "w":
                series = self.windowed.setdefault((metric, queue, extra), {})
                bucket = int(last)
                series[bucket] = series.get(bucket, 0.0) + value
            else:
                key = (metric, queue, extra, str(last))
                # Level series stay at 0 once seen, so dashboards do not flicker.
                self.level[key] = self.level.get(key, 0.0) + value

    def count(self, key: CounterKey, n: int = 1) -> None:
        """Increment a monotonic counter (labels: metric, queue, ...)."""
        key = (key[0], self.cap.label(key[1]), *key[2:])
        self.counters[key] = self.counters.get(key, 0) + n

    def observe(self, obs: Observation) -> None:
        """Record one histogram observation."""
        metric, labels, value = obs
        self._histogram(metric, labels).observe(metric, value)

    def add_histogram(self, metric: str, labels: tuple[str, ...], hist: HistogramState) -> None:
        """Merge a whole histogram (retired observations)."""
        self._histogram(metric, labels).merge(hist)

    def _histogram(self, metric: str, labels: tuple[str, ...]) -> HistogramState:
        labels = (self.cap.label(labels[0]), *labels[1:])
        hist = self.histograms.get((metric, labels))
        if hist is None:
            hist = self.histograms[(metric, labels)] = HistogramState.empty(metric)
        return hist

    def set_open(self, ticket_id: str, info: OpenInfo | None) -> None:
        """Track the ticket in the unsolved index (backlog, oldest age, live SLA clocks)."""
        if info is None:
            self.open_tickets.pop(ticket_id, None)
        else:
            self.open_tickets[ticket_id] = (self.cap.label(info[0]), info[1], info[2], info[3],
                                            info[4])  # fmt: skip

    def window_sum(self, key: SeriesKey, now_s: float, window_s: int) -> float:
        """Sum of the buckets of the trailing window at ``now_s``."""
        series = self.windowed.get(key)
        if not series:
            return 0.0
        first, last = trailing_range(now_s, window_s)
        return sum(val for b, val in series.items() if first <= b <= last)

    def expire(self, now_s: float) -> int:
        """Drop buckets past retention; returns how many were dropped."""
        floor = retention_floor(now_s)
        dropped = 0
        for series in self.windowed.values():
            old = [b for b in series if b < floor]
            for b in old:
                del series[b]
            dropped += len(old)
        return dropped

    def rebuild(
        self,
        contribs: Iterable[dict[ContribKey, float]],
        counted: Iterable[Iterable[CounterKey]],
        observed: Iterable[Iterable[Observation]],
        open_tickets: Iterable[tuple[str, OpenInfo]],
    ) -> None:
        """Recompute everything from the tickets of the partition (after recovery)."""
        self.windowed.clear()
        self.level.clear()
        self.counters.clear()
        self.histograms.clear()
        self.open_tickets.clear()
        for contrib in contribs:
            self.apply_delta(contrib)
        for keys in counted:
            for key in keys:
                self.count(key)
        for observations in observed:
            for obs in observations:
                self.observe(obs)
        for ticket_id, info in open_tickets:
            self.set_open(ticket_id, info)
