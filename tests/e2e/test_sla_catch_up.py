"""End to end, wall clock: a backlog of old events does not count breaches its replies disprove.

A live worker (``--clock wall``) reads a ticket's history only after the fact, as after a
restart, an outage or a backfill: an urgent ticket created two hours ago and answered five
minutes later (first reply target 10 minutes). Judged at the wall clock when its creation is
read, it would look breached and page; its partition is catching up, so its clocks run on
the partition's stream time and the reply, read next, stops the clock in time.
"""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import orjson

from stream.kafka.embedded import EmbeddedBroker
from tests.e2e.test_sla_breach import POLICIES, v
from tests.helpers.processes import run_cli, running_worker, wait_until

FR = {"queue": "billing", "priority": "urgent", "sla": "first_reply"}


def at(epoch_s: float) -> str:
    return datetime.fromtimestamp(epoch_s, UTC).isoformat().replace("+00:00", "Z")


def test_catch_up__old_events_read_late_are_judged_at_their_stream_time(
    embedded_broker: EmbeddedBroker, tmp_path: Path
) -> None:
    topic = f"catchup-{uuid.uuid4().hex[:8]}"
    start = time.time() - 7200
    events = [
        {"event_id": "c1", "type": "ticket.created", "ticket_id": "late-1",
         "occurred_at": at(start), "queue": "billing", "priority": "urgent", "channel": "email"},
        {"event_id": "c2", "type": "ticket.message", "ticket_id": "late-1",
         "occurred_at": at(start + 300), "author": "agent"},
        {"event_id": "c3", "type": "ticket.created", "ticket_id": "late-2",
         "occurred_at": at(start + 60), "queue": "billing", "priority": "urgent",
         "channel": "email"},
    ]  # fmt: skip
    path = tmp_path / "history.jsonl"
    path.write_bytes(b"".join(orjson.dumps(e) + b"\n" for e in events))
    policies = str(POLICIES)
    with running_worker(embedded_broker.url, topic=topic, app_id=f"sp-{topic}",
                        log_dir=tmp_path, clock="wall", policies=policies) as worker:  # fmt: skip
        done = run_cli("replay", str(path), "--broker", embedded_broker.url, "--topic", topic)
        assert done.returncode == 0, done.stderr

        def settled() -> object:
            s = worker.metrics()
            return s if v(s, "support_sla_breaches_total", **FR) == 1 else None

        # late-2 was never answered: once its partition is live it breaches at the wall
        # clock (deadline 09:11 two hours ago), and only it.
        s = wait_until(settled, timeout=60, what="late-2's breach")
        time.sleep(2)  # a few more deadline ticks: nothing else may breach
        s = worker.metrics()
        assert v(s, "support_sla_breaches_total", **FR) == 1
        assert v(s, "support_sla_achieved_total", **FR) == 1
        assert v(s, "support_sla_breached_tickets", **FR) == 1
        assert v(s, "support_window_sla_breached", queue="billing", sla="first_reply",
                 window="24h") == 1  # fmt: skip
