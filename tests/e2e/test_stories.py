"""End to end through the real embedded broker: hand-written stories, exact numbers.

The answers below were computed by hand from ``data/stories.jsonl`` (see the comments in
each block). The processing clock is stream time (``--clock event``): the latest event is
agent ann's presence at 2026-03-02T12:00:00Z, so the 1h window holds the buckets from 11:05
to 12:00 and the 24h window those from 2026-03-01T12:05 to 12:00.
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import orjson
import pytest
from kafka import KafkaConsumer, KafkaProducer

from stream.kafka.embedded import EmbeddedBroker
from stream.processing.routing import partition_for
from tests.helpers.processes import Samples, run_cli, running_worker, wait_until

STORIES = Path(__file__).parent / "data" / "stories.jsonl"
CONSUMED = 37  # 35 lines in the file + 2 messages of T7 sent with a missing or wrong key
HOUR, DAY = "1h", "24h"


def v(samples: Samples, name: str, **labels: str) -> float | None:
    return samples.get((name, frozenset(labels.items())))


@pytest.fixture(scope="module")
def run(embedded_broker: EmbeddedBroker, tmp_path_factory: pytest.TempPathFactory) -> Any:
    """Replay the stories into a fresh topic, run a worker, return its final state."""
    topic = f"stories-{uuid.uuid4().hex[:8]}"
    logs = tmp_path_factory.mktemp("e2e-stories")
    env = {"SUPPORTPULSE_ORPHAN_TIMEOUT_S": "3", "SUPPORTPULSE_HOUSEKEEPING_INTERVAL_S": "1"}
    with running_worker(embedded_broker.url, topic=topic, app_id=f"sp-{topic}", log_dir=logs,
                        env=env) as worker:  # fmt: skip
        done = run_cli("replay", str(STORIES), "--broker", embedded_broker.url,
                       "--topic", topic, "--speed", "max")  # fmt: skip
        assert done.returncode == 0, done.stderr
        _send_t7_with_bad_keys(embedded_broker.url, topic)

        def settled() -> dict[str, Any] | None:
            s = worker.json("/api/summary")
            ev = s["events"]
            accounted = ev["applied"] + ev["duplicate"] + sum(ev["dead_lettered"].values())
            return s if ev["consumed"] == CONSUMED and accounted == CONSUMED else None

        summary = wait_until(settled, timeout=90, what="all 37 messages accounted")
        yield {"metrics": worker.metrics(), "summary": summary,
               "ready": worker.json("/readyz"), "topic": topic,
               "dlq": _read_dlq(embedded_broker.url, f"{topic}.dlq", 7)}  # fmt: skip


def _send_t7_with_bad_keys(url: str, topic: str) -> None:
    """T7 (sales/normal/social): created with no key, replied with a key of another ticket."""
    wrong = (partition_for("T7", 4) + 1) % 4
    producer = KafkaProducer(bootstrap_servers=[url.removeprefix("kafka://")])
    created = {
        "event_id": "t7-1",
        "type": "ticket.created",
        "ticket_id": "T7",
        "occurred_at": "2026-03-02T11:55:00Z",
        "queue": "sales",
        "channel": "social",
    }
    reply = {
        "event_id": "t7-2",
        "type": "ticket.message",
        "ticket_id": "T7",
        "occurred_at": "2026-03-02T11:58:00Z",
        "author": "agent",
    }
    producer.send(topic, orjson.dumps(created), key=None, partition=wrong)
    producer.send(topic, orjson.dumps(reply), key=b"T1", partition=wrong)
    producer.flush()
    producer.close()


def _read_dlq(url: str, topic: str, expected: int) -> list[Any]:
    consumer = KafkaConsumer(topic, bootstrap_servers=[url.removeprefix("kafka://")],
                             auto_offset_reset="earliest", consumer_timeout_ms=5000,
                             enable_auto_commit=False, group_id=None)  # fmt: skip
    try:
        return wait_until(lambda: _poll(consumer, expected), timeout=30, what="DLQ messages")
    finally:
        consumer.close()


_seen: list[Any] = []


def _poll(consumer: KafkaConsumer, expected: int) -> list[Any] | None:
    for records in consumer.poll(timeout_ms=1000).values():
        _seen.extend(records)
    return list(_seen) if len(_seen) >= expected else None


def test_stories__pipeline_accounts_for_every_message(run: Any) -> None:
    m = run["metrics"]
    assert v(m, "support_events_consumed_total") == 37
    assert v(m, "support_events_applied_total") == 29
    assert v(m, "support_events_duplicate_total") == 1
    dead = {r: v(m, "support_events_dead_lettered_total", reason=r) for r in (
        "invalid_json", "unknown_type", "schema_violation", "future_timestamp", "too_large",
        "ticket_closed", "unknown_ticket")}  # fmt: skip
    assert dead == dict.fromkeys(dead, 1.0)
    assert v(m, "support_events_held") == 0
    assert v(m, "support_last_event_timestamp_seconds") == 1772452800.0  # 12:00Z
    assert run["ready"]["owned_partitions"] == [0, 1, 2, 3]


def test_stories__dead_letters_keep_original_bytes_and_reasons(run: Any) -> None:
    by_reason = {dict(r.headers)["sp-reason"].decode(): r for r in run["dlq"]}
    assert sorted(by_reason) == sorted(["invalid_json", "unknown_type", "schema_violation",
        "future_timestamp", "too_large", "ticket_closed", "unknown_ticket"])  # fmt: skip
    lines = STORIES.read_bytes().splitlines()
    assert by_reason["invalid_json"].value == lines[29]
    assert by_reason["too_large"].value == lines[33]
    assert by_reason["ticket_closed"].value == lines[26]
    assert by_reason["unknown_ticket"].value == lines[34]
    assert all(dict(r.headers)["sp-detail"] for r in run["dlq"])


def test_stories__level_gauges(run: Any) -> None:
    m = run["metrics"]
    unsolved = {
        (dict(lb)["queue"], dict(lb)["priority"], dict(lb)["status"]): val
        for (name, lb), val in m.items()
        if name == "support_tickets_unsolved" and val
    }
    # T2 reopened (open), T3 pending, T4 open for a day, T7 new.
    assert unsolved == {
        ("billing", "normal", "open"): 1,
        ("technical", "urgent", "pending"): 1,
        ("technical", "low", "open"): 1,
        ("sales", "normal", "new"): 1,
    }
    unassigned = {
        (dict(lb)["queue"], dict(lb)["priority"]): val
        for (name, lb), val in m.items()
        if name == "support_tickets_unassigned" and val
    }
    assert unassigned == {
        ("billing", "normal"): 1,
        ("technical", "urgent"): 1,
        ("sales", "normal"): 1,
    }  # T4 is assigned to bob
    backlog = {
        (dict(lb)["queue"], dict(lb)["priority"]): val
        for (name, lb), val in m.items()
        if name == "support_backlog_tickets" and val
    }
    # Backlog is now "older than the resolution target of the ticket's SLA policy, counted on
    # its calendar" (shipped default policies). T4 (technical/low/web, policy "standard":
    # 10 h on the office calendar, Mon-Fri 08:00-18:00 London) was created on Sunday 08:00:
    # only Monday 08:00-12:00 counts, 4 h, so it is not backlog although 28 h old. T2 (chat,
    # 6 h on the contact-centre calendar) has 2 h 55 min, T3 (urgent, 8 h 24x7) 40 min.
    assert backlog == {}
    assert v(m, "support_oldest_unsolved_age_seconds", queue="billing") == 10500  # T2, 09:05
    assert v(m, "support_oldest_unsolved_age_seconds", queue="technical") == 100800  # T4
    assert v(m, "support_oldest_unsolved_age_seconds", queue="sales") == 300  # T7, 11:55


def test_stories__counters(run: Any) -> None:
    m = run["metrics"]
    created = {tuple(sorted(lb)): val for (name, lb), val in m.items()
               if name == "support_tickets_created_total"}  # fmt: skip
    assert sum(created.values()) == 7
    assert v(m, "support_tickets_created_total", queue="billing", priority="high",
             channel="email") == 1  # fmt: skip
    assert v(m, "support_tickets_created_total", queue="sales", priority="normal",
             channel="social") == 1  # fmt: skip
    assert v(m, "support_tickets_solved_total", queue="billing", priority="normal",
             channel="chat") == 1  # fmt: skip
    solved = sum(val for (name, _), val in m.items() if name == "support_tickets_solved_total")
    assert solved == 3  # T1, T2, T5; closing T6 unsolved is not a solve
    assert v(m, "support_tickets_reopened_total", queue="billing", priority="normal") == 1


def test_stories__histograms(run: Any) -> None:
    m = run["metrics"]
    # FRT: T1 600 (high); T2 60 + T5 600 (normal); T7 180 (sales)
    assert v(m, "support_first_reply_seconds_sum", queue="billing", priority="normal") == 660
    assert v(m, "support_first_reply_seconds_count", queue="billing", priority="normal") == 2
    assert v(m, "support_first_reply_seconds_bucket", queue="billing", priority="normal",
             le="60.0") == 1  # fmt: skip
    assert v(m, "support_first_reply_seconds_sum", queue="billing", priority="high") == 600
    assert v(m, "support_first_reply_seconds_sum", queue="sales", priority="normal") == 180
    # TTR: T1 3600 (high); T2 900 + T5 1200 (normal)
    assert v(m, "support_resolution_seconds_sum", queue="billing", priority="normal") == 2100
    assert v(m, "support_resolution_seconds_count", queue="billing", priority="normal") == 2
    assert v(m, "support_resolution_seconds_sum", queue="billing", priority="high") == 3600
    # Handle time: T2 300+60+40 on chat; T3 600+0+120 on phone
    assert v(m, "support_handle_time_seconds_sum", queue="billing", channel="chat") == 400
    assert v(m, "support_handle_time_seconds_sum", queue="technical", channel="phone") == 720
    assert v(m, "support_handle_time_seconds_count", queue="technical", channel="phone") == 1


WINDOWS = {
    # (metric, queue, window): value
    ("created_tickets", "billing", DAY): 3, ("created_tickets", "billing", HOUR): 0,
    ("created_tickets", "technical", DAY): 1,  # T3; T4 was created before the 24h window
    ("created_tickets", "technical", HOUR): 1, ("created_tickets", "sales", DAY): 2,
    ("created_tickets", "sales", HOUR): 1,
    ("solved_tickets", "billing", DAY): 3, ("solved_tickets", "billing", HOUR): 0,
    ("reopened_tickets", "billing", DAY): 1, ("reopened_tickets", "billing", HOUR): 1,
    ("first_reply_seconds_sum", "billing", DAY): 1260,
    ("first_reply_seconds_count", "billing", DAY): 3,
    ("first_reply_seconds_sum", "billing", HOUR): 0,
    ("first_reply_seconds_sum", "sales", HOUR): 180,
    ("first_reply_seconds_count", "sales", HOUR): 1,
    ("resolution_seconds_sum", "billing", DAY): 5700,
    ("resolution_seconds_count", "billing", DAY): 3,
    ("fcr_tickets", "billing", DAY): 2,  # T1 and T5 (one touch each); T2 had two
    ("fcr_eligible_tickets", "billing", DAY): 3,
    ("csat_responses", "billing", DAY): 2,  # T1's 5 and T5's re-rating 4 (replaces 2)
    ("csat_satisfied", "billing", DAY): 2,
    ("csat_score_sum", "billing", DAY): 9,
    ("nps_promoters", "technical", DAY): 1, ("nps_promoters", "technical", HOUR): 1,
    ("nps_responses", "technical", HOUR): 1,
    ("nps_detractors", "sales", DAY): 1, ("nps_responses", "sales", DAY): 1,
    ("nps_responses", "sales", HOUR): 0,  # 11:00 is outside the 1h window
    ("severity_sum", "billing", DAY): 7,  # high 3 + normal 2 + normal 2
    ("severity_sum", "technical", HOUR): 4, ("severity_sum", "sales", DAY): 4,
}  # fmt: skip


def test_stories__window_gauges(run: Any) -> None:
    m = run["metrics"]
    got = {key: v(m, f"support_window_{key[0]}", queue=key[1], window=key[2]) for key in WINDOWS}
    assert got == WINDOWS
    assert v(m, "support_window_handle_seconds_sum", queue="billing", channel="chat",
             window=DAY) == 400  # fmt: skip
    assert v(m, "support_window_handle_seconds_sum", queue="billing", channel="chat",
             window=HOUR) == 0  # fmt: skip
    assert v(m, "support_window_interactions", queue="technical", channel="phone",
             window=HOUR) == 1  # fmt: skip


def test_stories__summary_matches_metrics(run: Any) -> None:
    q = run["summary"]["queues"]
    assert q["billing"]["unsolved"] == 1 and q["technical"]["backlog"] == 0
    assert q["billing"]["fcr_ratio_24h"] == pytest.approx(2 / 3)
    assert q["billing"]["csat_ratio_24h"] == 1.0
    assert q["sales"]["nps_24h"] == -100.0
    assert q["technical"]["handle_avg_seconds_1h"] == 720
