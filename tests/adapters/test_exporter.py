"""The Prometheus collector, against a fresh registry."""

from __future__ import annotations

from prometheus_client import generate_latest

from stream.adapters.exporter import build_registry
from stream.domain.aggregates import PartitionAggregates
from stream.domain.queue_cap import QueueCap
from stream.domain.sla_clocks import LiveClock
from stream.domain.windows import bucket_of
from stream.processing.entities import PartitionRecord
from stream.processing.snapshot import Snapshot, take_snapshot

NOW = 1_772_452_800.0  # 2026-03-02T12:00:00Z


def snapshot_of(aggs: dict[int, PartitionAggregates],
                records: dict[int, PartitionRecord]) -> Snapshot:  # fmt: skip
    return take_snapshot(aggs, records, now_s=NOW, held=2)


def sample_aggregates(cap: QueueCap | None = None) -> PartitionAggregates:
    agg = PartitionAggregates(cap=cap or QueueCap())
    agg.apply_delta({
        ("w", "first_reply_seconds_sum", "billing", "", bucket_of(NOW - 600)): 300.0,
        ("w", "first_reply_seconds_count", "billing", "", bucket_of(NOW - 600)): 1.0,
        ("w", "first_reply_seconds_sum", "billing", "", bucket_of(NOW - 7200)): 100.0,
        ("w", "first_reply_seconds_count", "billing", "", bucket_of(NOW - 7200)): 1.0,
        ("w", "interactions", "billing", "chat", bucket_of(NOW - 60)): 2.0,
        ("l", "tickets_unsolved", "billing", "high", "open"): 1.0,
        ("l", "tickets_unassigned", "billing", "high", ""): 1.0,
    })  # fmt: skip
    agg.count(("created", "billing", "high", "chat"))
    agg.observe(("first_reply", ("billing", "high"), 300.0))
    agg.observe(("first_reply", ("billing", "high"), 60.0))
    agg.set_open("T-1", ("billing", "high", NOW - 90000, NOW - 90000 + 86400, ()))
    return agg


def test_collector__exports_every_family_with_exact_values() -> None:
    rec = PartitionRecord(0, consumed=10, applied=7, duplicate=1,
                          dead_lettered={"invalid_json": 1}, last_event_s=NOW)  # fmt: skip
    registry = build_registry(lambda: snapshot_of({0: sample_aggregates()}, {0: rec}))
    get = registry.get_sample_value
    assert get("support_tickets_unsolved",
               {"queue": "billing", "priority": "high", "status": "open"}) == 1  # fmt: skip
    assert get("support_tickets_unsolved",
               {"queue": "billing", "priority": "low", "status": "pending"}) == 0  # fmt: skip
    assert get("support_backlog_tickets", {"queue": "billing", "priority": "high"}) == 1
    assert get("support_oldest_unsolved_age_seconds", {"queue": "billing"}) == 90000
    assert get("support_tickets_created_total",
               {"queue": "billing", "priority": "high", "channel": "chat"}) == 1  # fmt: skip
    labels = {"queue": "billing", "priority": "high"}
    assert get("support_first_reply_seconds_bucket", {**labels, "le": "60.0"}) == 1
    assert get("support_first_reply_seconds_bucket", {**labels, "le": "300.0"}) == 2
    assert get("support_first_reply_seconds_bucket", {**labels, "le": "+Inf"}) == 2
    assert get("support_first_reply_seconds_sum", labels) == 360
    hour = {"queue": "billing", "window": "1h"}
    assert get("support_window_first_reply_seconds_sum", hour) == 300
    assert get("support_window_first_reply_seconds_sum", {**hour, "window": "24h"}) == 400
    assert get("support_window_interactions", {**hour, "channel": "chat"}) == 2
    assert get("support_window_handle_seconds_sum", {**hour, "channel": "chat"}) == 0
    assert get("support_window_nps_responses", hour) == 0  # known queue: 0, not absent
    assert get("support_events_consumed_total") == 10
    assert get("support_events_dead_lettered_total", {"reason": "invalid_json"}) == 1
    assert get("support_events_dead_lettered_total", {"reason": "unknown_ticket"}) == 0
    assert get("support_events_held") == 2
    assert get("support_last_event_timestamp_seconds") == NOW
    assert get("support_owned_partitions") == 1


def test_collector__sums_partitions() -> None:
    aggs = {0: sample_aggregates(), 1: sample_aggregates()}
    registry = build_registry(lambda: snapshot_of(aggs, {}))
    assert (
        registry.get_sample_value(
            "support_tickets_unsolved", {"queue": "billing", "priority": "high", "status": "open"}
        )
        == 2
    )


def test_collector__labels_stay_bounded_by_the_queue_cap() -> None:
    cap = QueueCap(max_queues=3)
    agg = PartitionAggregates(cap=cap)
    for i in range(100):
        agg.apply_delta({("l", "tickets_unsolved", f"q{i}", "normal", "new"): 1.0})
    registry = build_registry(lambda: snapshot_of({0: agg}, {}))
    text = generate_latest(registry).decode()
    queues = {line.split('queue="')[1].split('"')[0] for line in text.splitlines()
              if line.startswith("support_tickets_unsolved{")}  # fmt: skip
    assert queues == {"q0", "q1", "q2", "other"}
    assert (
        registry.get_sample_value(
            "support_tickets_unsolved", {"queue": "other", "priority": "normal", "status": "new"}
        )
        == 97
    )


def test_queue_cap__counts_events_naming_overflowing_queues() -> None:
    cap = QueueCap(max_queues=2)
    for name in ["a", "b", "a", "c", "d", "other", "b"]:
        cap.note_event(name)
    assert cap.admitted == {"a", "b", "other"} and cap.overflow_events == 2


def test_collector__exports_the_live_sla_gauges_and_counters() -> None:
    agg = PartitionAggregates()
    agg.count(("created", "billing", "urgent", "email"))
    agg.count(("created", "sales", "normal", "chat"))
    agg.count(("sla_breached", "billing", "urgent", "first_reply"))
    agg.apply_delta({("w", "sla_breached", "billing", "first_reply", bucket_of(NOW - 60)): 1.0})
    breached = LiveClock("first_reply", NOW - 60, None, None)
    at_risk = LiveClock("resolution", None, NOW + 600, NOW - 10)  # 10 min left, at risk
    agg.set_open("T-1", ("billing", "urgent", NOW - 3600, NOW + 3600, (breached, at_risk)))
    registry = build_registry(lambda: snapshot_of({0: agg}, {0: PartitionRecord(0)}))
    get = registry.get_sample_value
    fr = {"queue": "billing", "priority": "urgent", "sla": "first_reply"}
    res = {"queue": "billing", "priority": "urgent", "sla": "resolution"}
    assert get("support_sla_breaches_total", fr) == 1
    assert get("support_sla_achieved_total", fr) == 0  # pre-initialised for increase()
    assert get("support_sla_cancelled_total", res) == 0
    assert get("support_sla_breached_tickets", fr) == 1
    assert get("support_sla_at_risk_tickets", res) == 1
    assert get("support_sla_at_risk_tickets", fr) == 0
    assert get("support_sla_next_breach_seconds", {"queue": "billing"}) == 600
    assert get("support_sla_next_breach_seconds", {"queue": "sales"}) == float("inf")
    due = {
        w: get("support_sla_due_tickets", {"queue": "billing", "sla": "resolution", "within": w})
        for w in ("15m", "1h", "4h")
    }
    assert due == {"15m": 1, "1h": 1, "4h": 1}
    assert get("support_window_sla_breached",
               {"queue": "billing", "sla": "first_reply", "window": "1h"}) == 1  # fmt: skip
    assert get("support_window_sla_achieved",
               {"queue": "sales", "sla": "next_reply", "window": "24h"}) == 0  # fmt: skip
