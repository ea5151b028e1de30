"""A worker restarted on the same group recovers its state from the changelog exactly."""

from __future__ import annotations

import time
import uuid
from pathlib import Path

import pytest

from stream.kafka.embedded import EmbeddedBroker
from tests.helpers.processes import Worker, run_cli, running_worker, wait_until

STORIES = Path(__file__).parent / "data" / "stories.jsonl"


@pytest.mark.parametrize("how", ["sigterm", "sigkill"])
def test_restart__metrics_equal_the_undisturbed_run(
    embedded_broker: EmbeddedBroker, tmp_path: Path, how: str
) -> None:
    topic = f"restart-{uuid.uuid4().hex[:8]}"
    # Static membership: the restarted worker takes its partitions back without waiting
    # for the killed member's session to expire.
    env = {"SUPPORTPULSE_GROUP_INSTANCE_ID": f"{topic}-w1"}
    kwargs = {"topic": topic, "app_id": f"sp-{topic}", "log_dir": tmp_path, "env": env}
    first = Worker(embedded_broker.url, **kwargs).start()  # type: ignore[arg-type]
    try:
        done = run_cli("replay", str(STORIES), "--broker", embedded_broker.url,
                       "--topic", topic)  # fmt: skip
        assert done.returncode == 0, done.stderr
        wait_until(lambda: first.json("/api/summary")["events"]["consumed"] == 35,
                   timeout=60, what="35 messages consumed")  # fmt: skip
        time.sleep(2.5)  # let Faust commit offsets (every second)
        before = first.metrics()
    finally:
        first.kill() if how == "sigkill" else first.stop()
    with running_worker(embedded_broker.url, **kwargs) as second:  # type: ignore[arg-type]
        after = wait_until(lambda: (m := second.metrics()) == before and m, timeout=30,
                           what="recovered metrics equal to the first run's")  # fmt: skip
    assert after[("support_events_consumed_total", frozenset())] == 35
    assert (
        after[("support_window_fcr_tickets", frozenset({("queue", "billing"), ("window", "24h")}))]
        == 2
    )
