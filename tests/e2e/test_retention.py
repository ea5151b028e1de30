"""Retention: closed tickets leave the state (tombstones), counters stay, restart agrees."""

from __future__ import annotations

import uuid
from pathlib import Path

from stream.kafka.embedded import EmbeddedBroker
from tests.helpers.processes import run_cli, running_worker, wait_until

DATA = Path(__file__).parent / "data" / "retention.jsonl"
NO_LABELS: frozenset[tuple[str, str]] = frozenset()


def test_retention__closed_tickets_are_dropped_and_a_restart_agrees(
    embedded_broker: EmbeddedBroker, tmp_path: Path
) -> None:
    # Stream time ends at 2026-03-03T10:01Z: R1 (closed 03-01 09:00) and R2 (closed 08:20)
    # are more than 49 h past their last event; R3 is open.
    topic = f"retention-{uuid.uuid4().hex[:8]}"
    env = {"SUPPORTPULSE_PURGE_INTERVAL_S": "1", "SUPPORTPULSE_HOUSEKEEPING_INTERVAL_S": "1"}
    kwargs = {"topic": topic, "app_id": f"sp-{topic}", "log_dir": tmp_path, "env": env}
    with running_worker(embedded_broker.url, **kwargs) as worker:  # type: ignore[arg-type]
        done = run_cli("replay", str(DATA), "--broker", embedded_broker.url, "--topic", topic)
        assert done.returncode == 0, done.stderr

        def purged() -> object:
            m = worker.metrics()
            applied = m[("support_events_applied_total", NO_LABELS)]
            return applied == 7 and m[("support_tickets_tracked", NO_LABELS)] == 1 and m

        before = wait_until(purged, timeout=60, what="R1 and R2 dropped, R3 kept")
    created = {dict(lb)["channel"]: val for (name, lb), val in before.items()
               if name == "support_tickets_created_total" and val}  # fmt: skip
    assert created == {"chat": 1, "email": 2}
    assert before[("support_first_reply_seconds_count",
                   frozenset({("queue", "billing"), ("priority", "normal")}))] == 1  # fmt: skip
    with running_worker(embedded_broker.url, **kwargs) as again:  # type: ignore[arg-type]
        wait_until(lambda: again.metrics() == before, timeout=30,
                   what="the restarted worker's metrics equal the first run's")  # fmt: skip
