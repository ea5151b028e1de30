"""Aggregates: trailing windows, expiry (bounded growth), histograms."""

from __future__ import annotations

from stream.domain.aggregates import PartitionAggregates
from stream.domain.windows import BUCKET_SECONDS, RETENTION_SECONDS, bucket_of, trailing_range

T0 = 1_772_452_800.0  # a bucket boundary


def test_trailing_range__holds_12_and_288_buckets() -> None:
    first, last = trailing_range(T0 + 10, 3600)
    assert (last - first) / BUCKET_SECONDS + 1 == 12 and last == bucket_of(T0 + 10)
    first, last = trailing_range(T0, 86400)
    assert (last - first) / BUCKET_SECONDS + 1 == 288


def test_window_sum__counts_only_buckets_in_the_window() -> None:
    agg = PartitionAggregates()
    for minutes in (0, 30, 55, 60, 65, 120):
        agg.apply_delta({("w", "created_tickets", "q", "", bucket_of(T0 - minutes * 60)): 1})
    # 1h at T0: buckets T0-55min .. T0 -> minutes 0, 30, 55
    assert agg.window_sum(("created_tickets", "q", ""), T0, 3600) == 3
    assert agg.window_sum(("created_tickets", "q", ""), T0, 86400) == 6


def test_expire__keeps_48h_and_memory_stays_bounded_over_a_long_stream() -> None:
    agg = PartitionAggregates()
    sizes = []
    for step in range(20 * 288):  # 20 days of 5-minute buckets, 3 series each
        t = T0 + step * BUCKET_SECONDS
        for metric in ("created_tickets", "solved_tickets", "severity_sum"):
            agg.apply_delta({("w", metric, "q", "", bucket_of(t)): 1})
        agg.expire(t)
        sizes.append(sum(len(s) for s in agg.windowed.values()))
    per_series = RETENTION_SECONDS // BUCKET_SECONDS + 1
    assert max(sizes) == 3 * per_series
    assert sizes[-1] == sizes[len(sizes) // 2] == 3 * per_series
    assert agg.window_sum(("created_tickets", "q", ""), T0 + 19 * 86400, 86400) == 288


def test_observe__value_on_a_bound_goes_in_that_bucket() -> None:
    agg = PartitionAggregates()
    agg.observe(("handle", ("q", "chat"), 60.0))
    agg.observe(("handle", ("q", "chat"), 60.5))
    hist = agg.histograms[("handle", ("q", "chat"))]
    assert hist.counts[:3] == [0, 1, 1] and hist.count == 2 and hist.total == 120.5
