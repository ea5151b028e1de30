"""End to end: an SLA breach with no later event for the ticket, seen live and alerted on.

A worker with ``--clock event`` and the policies of ``data/sla-policies.toml`` (urgent:
first reply 10m, resolution 4h, at risk 5m before; everything else: first reply 1h,
resolution 24h) runs against the real embedded broker. Ticket ``sla-1`` (billing, urgent)
is created at 09:00 and never gets another event; only ticket ``other-2`` (sales, normal)
moves stream time on. Both tickets hash to the same partition: with the event clock, SLA
deadlines run on their partition's stream time. Worked out by hand:

- 09:01 (stage 1): sla-1's first reply is due at 09:10 (540 s left), its resolution at
  13:00 (14,340 s: inside the 4h forecast only); other-2's first reply is due at 10:01,
  3,600 s away, inside the 1h forecast (inclusive). Nothing at risk, nothing breached.
- 09:06 (stage 2): sla-1's first reply is at risk (from 09:05), 240 s left.
- 09:11 (stage 3): sla-1 breached its first reply at 09:10 with no event of its own; the
  next billing deadline is its resolution (13:00, 13,740 s away); other-2's first reply
  (09:11) is achieved. A real Prometheus with the shipped rules fires SupportSLABreached.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest

from stream.kafka.embedded import EmbeddedBroker
from stream.processing.routing import partition_for
from tests.helpers.processes import Samples, Worker, run_cli, running_worker, wait_until
from tests.helpers.prometheus import (
    derive_config,
    prometheus_binary,
    running_prometheus,
)

POLICIES = Path(__file__).parent / "data" / "sla-policies.toml"
BILLING_FR = {"queue": "billing", "priority": "urgent", "sla": "first_reply"}

STAGES: list[list[dict[str, Any]]] = [
    [
        {"event_id": "s1", "type": "ticket.created", "ticket_id": "sla-1",
         "occurred_at": "2026-03-02T09:00:00Z", "queue": "billing", "priority": "urgent",
         "channel": "email"},
        {"event_id": "o1", "type": "ticket.created", "ticket_id": "other-2",
         "occurred_at": "2026-03-02T09:01:00Z", "queue": "sales", "channel": "chat"},
    ],
    [
        {"event_id": "o2", "type": "ticket.assigned", "ticket_id": "other-2",
         "occurred_at": "2026-03-02T09:06:00Z", "assignee": "ann"},
    ],
    [
        {"event_id": "o3", "type": "ticket.message", "ticket_id": "other-2",
         "occurred_at": "2026-03-02T09:11:00Z", "author": "agent"},
    ],
]  # fmt: skip


QUEUES, CLOCKS, WINDOWS = (
    ("billing", "sales"),
    ("first_reply", "next_reply", "resolution"),
    ("1h", "24h"),
)
OBJECTIVE = {"first_reply": 0.95, "next_reply": 0.90, "resolution": 0.90}
# After stage 3, per rule of deploy/prometheus/rules/support-sla.yml: the label names its
# result is keyed by, and the whole result (a label set missing here must have no sample).
ERRORS = {("billing", "first_reply"): 1.0, ("sales", "first_reply"): 0.0}
SLA_RULES: dict[str, tuple[tuple[str, ...], dict[Any, float]]] = {
    "sla:support_sla_attainment_objective:ratio": (("sla",), OBJECTIVE),
    "queue_sla:support_sla_attainment_objective:ratio": (
        ("queue", "sla"), {(q, c): OBJECTIVE[c] for q in QUEUES for c in CLOCKS}),
    "queue_sla:support_sla_breached_tickets:sum": (
        ("queue", "sla"),
        {(q, c): float((q, c) == ("billing", "first_reply")) for q in QUEUES for c in CLOCKS}),
    "queue_sla:support_sla_at_risk_tickets:sum": (
        ("queue", "sla"), {(q, c): 0.0 for q in QUEUES for c in CLOCKS}),
    # Only sla-1's resolution (13:00) is running and due, within 4h; other-2's is a day away.
    "queue_sla_within:support_sla_due_tickets:sum": (
        ("queue", "sla", "within"),
        {(q, c, w): float((q, c, w) == ("billing", "resolution", "4h"))
         for q in QUEUES for c in CLOCKS for w in ("15m", "1h", "4h")}),
    # billing: 13:00 - 09:11; sales: other-2's resolution, 09:01 + 24h - 09:11.
    "queue:support_sla_next_breach_seconds:min": (
        ("queue",), {"billing": 13740.0, "sales": 85800.0}),
    "queue_sla_window:support_sla_attainment:ratio": (
        ("queue", "sla", "window"),
        {("billing", "first_reply", w): 0.0 for w in WINDOWS}
        | {("sales", "first_reply", w): 1.0 for w in WINDOWS}),
    "queue_sla_window:support_sla_breached:sum": (
        ("queue", "sla", "window"),
        {(q, c, w): float((q, c) == ("billing", "first_reply"))
         for q in QUEUES for c in CLOCKS for w in WINDOWS}),
    # Prometheus watched one breach (billing) and one achievement (sales) happen.
    **{f"queue_sla:support_sla_errors:ratio_rate{r}": (("queue", "sla"), ERRORS)
       for r in ("5m", "30m", "1h", "2h", "6h", "1d", "3d")},
}  # fmt: skip


def v(samples: Samples, name: str, **labels: str) -> float | None:
    return samples.get((name, frozenset(labels.items())))


def replay(broker: EmbeddedBroker, topic: str, tmp: Path, stage: int) -> None:
    path = tmp / f"stage-{stage}.jsonl"
    path.write_bytes(b"".join(orjson.dumps(e) + b"\n" for e in STAGES[stage]))
    done = run_cli("replay", str(path), "--broker", broker.url, "--topic", topic,
                   "--speed", "max")  # fmt: skip
    assert done.returncode == 0, done.stderr


def applied(worker: Worker, n: int) -> Samples | None:
    samples = worker.metrics()
    return samples if v(samples, "support_events_applied_total") == n else None


@pytest.fixture(scope="module")
def sla_worker(
    embedded_broker: EmbeddedBroker, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Worker, str, Path]]:
    prometheus_binary()  # fail before starting anything when it is missing
    topic = f"sla-{uuid.uuid4().hex[:8]}"
    work = tmp_path_factory.mktemp("e2e-sla")
    with running_worker(embedded_broker.url, topic=topic, app_id=f"sp-{topic}", log_dir=work,
                        policies=str(POLICIES)) as worker:  # fmt: skip
        yield worker, topic, work


def test_sla_breach__gauges_counter_and_alert_at_the_right_moments(
    sla_worker: tuple[Worker, str, Path], embedded_broker: EmbeddedBroker
) -> None:
    worker, topic, work = sla_worker
    assert partition_for("sla-1", 4) == partition_for("other-2", 4)

    replay(embedded_broker, topic, work, 0)
    s = wait_until(lambda: applied(worker, 2), timeout=60, what="stage 1 applied")
    assert v(s, "support_sla_next_breach_seconds", queue="billing") == 540.0
    assert v(s, "support_sla_next_breach_seconds", queue="sales") == 3600.0
    assert v(s, "support_sla_at_risk_tickets", **BILLING_FR) == 0
    assert v(s, "support_sla_breached_tickets", **BILLING_FR) == 0
    assert v(s, "support_sla_breaches_total", **BILLING_FR) == 0
    due = {(q, sla, w): v(s, "support_sla_due_tickets", queue=q, sla=sla, within=w)
           for q in ("billing", "sales") for sla in ("first_reply", "resolution")
           for w in ("15m", "1h", "4h")}  # fmt: skip
    assert due == {
        ("billing", "first_reply", "15m"): 1, ("billing", "first_reply", "1h"): 1,
        ("billing", "first_reply", "4h"): 1, ("billing", "resolution", "15m"): 0,
        ("billing", "resolution", "1h"): 0, ("billing", "resolution", "4h"): 1,
        ("sales", "first_reply", "15m"): 0, ("sales", "first_reply", "1h"): 1,
        ("sales", "first_reply", "4h"): 1, ("sales", "resolution", "15m"): 0,
        ("sales", "resolution", "1h"): 0, ("sales", "resolution", "4h"): 0,
    }  # fmt: skip

    replay(embedded_broker, topic, work, 1)
    s = wait_until(lambda: applied(worker, 3), timeout=60, what="stage 2 applied")
    assert v(s, "support_sla_at_risk_tickets", **BILLING_FR) == 1
    assert v(s, "support_sla_next_breach_seconds", queue="billing") == 240.0
    assert v(s, "support_sla_breaches_total", **BILLING_FR) == 0

    config = derive_config(f"127.0.0.1:{worker.port}")
    with running_prometheus(work, config) as prom:
        # The breach counter must have been scraped at 0 before the breach, as in real life.
        wait_until(lambda: prom.query('support_sla_breaches_total{queue="billing"}'),
                   timeout=30, what="first scrape of the breach counter")  # fmt: skip
        assert not [a for a in prom.alerts() if a["labels"]["alertname"] == "SupportSLABreached"]

        replay(embedded_broker, topic, work, 2)
        s = wait_until(lambda: applied(worker, 4), timeout=60, what="stage 3 applied")
        assert v(s, "support_sla_breaches_total", **BILLING_FR) == 1
        assert v(s, "support_sla_breached_tickets", **BILLING_FR) == 1
        assert v(s, "support_sla_at_risk_tickets", **BILLING_FR) == 0
        assert v(s, "support_window_sla_breached", queue="billing", sla="first_reply",
                 window="1h") == 1  # fmt: skip
        assert v(s, "support_sla_next_breach_seconds", queue="billing") == 13740.0
        assert v(s, "support_sla_achieved_total", queue="sales", priority="normal",
                 sla="first_reply") == 1  # fmt: skip
        assert v(s, "support_sla_breaches_total", queue="sales", priority="normal",
                 sla="first_reply") == 0  # fmt: skip

        def firing() -> dict[str, Any] | None:
            return next((a for a in prom.alerts()
                         if a["labels"]["alertname"] == "SupportSLABreached"
                         and a["state"] == "firing"), None)  # fmt: skip

        alert = wait_until(firing, timeout=60, what="SupportSLABreached firing")
        assert alert["labels"]["queue"] == "billing"
        assert alert["labels"]["sla"] == "first_reply"
        assert alert["labels"]["severity"] == "page"
        assert "billing" in alert["annotations"]["description"]
        assert alert["annotations"]["runbook_url"].endswith("deploy/runbooks/SupportSLABreached.md")
