"""A worker reading a backlog at full speed still answers its HTTP endpoints promptly.

The worker applies whole fetches (tens of thousands of messages, seconds of CPU) on the
event loop that also serves /healthz and /metrics. Unless a batch gives the loop turns, a
liveness probe with a 1 s timeout fails and an orchestrator kills a healthy worker exactly
when it is busiest; a Prometheus scrape stalls too. Before the fix, /healthz here took up to
several seconds while the backlog was read.
"""

from __future__ import annotations

import statistics
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest

from soak.probes import publish_keyed
from stream.kafka.embedded import EmbeddedBroker
from stream.kafka.topics import ensure_topics
from tests.helpers.events import created, reply
from tests.helpers.processes import Worker, http_get

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]

TICKETS = 25_000  # 50,000 events: ten seconds or more of CPU for the worker
PARTS = 4
POLL_S = 0.1
# A liveness probe's default timeout is 1 s; the worker answers in tens of milliseconds
# when idle. The bound leaves room for a CI machine whose other test takes half the CPU.
MAX_LATENCY_S = 1.0


def backlog() -> Iterator[tuple[bytes, bytes]]:
    for i in range(TICKETS):
        ticket = f"L-{i}"
        for event in (created(i * 0.5, ticket, queue="billing"), reply(i * 0.5 + 60, ticket)):
            yield ticket.encode(), orjson.dumps(event)


def test_healthz_and_metrics_answer_promptly_while_a_backlog_is_read(
    embedded_broker: EmbeddedBroker, tmp_path: Path
) -> None:
    topic = f"load-{uuid.uuid4().hex[:8]}"
    ensure_topics(embedded_broker.bootstrap_servers, {topic: PARTS})
    worker = Worker(embedded_broker.url, topic=topic, app_id=f"app-{topic}", log_dir=tmp_path)
    worker.start()
    try:
        publish_keyed(embedded_broker.bootstrap_servers, topic, PARTS, backlog())
        latencies: list[float] = []
        metrics_latencies: list[float] = []
        consumed = 0
        deadline = time.monotonic() + 240
        while consumed < 2 * TICKETS:
            assert time.monotonic() < deadline, f"consumed only {consumed}; {worker.log_tail()}"
            t0 = time.monotonic()
            status, _ = http_get(worker.base + "/healthz", timeout=30)
            latencies.append(time.monotonic() - t0)
            assert status == 200
            if len(latencies) % 10 == 0:
                t0 = time.monotonic()
                status, _ = http_get(worker.base + "/metrics", timeout=30)
                metrics_latencies.append(time.monotonic() - t0)
                assert status == 200
                consumed = worker.json("/api/summary")["events"]["consumed"]
            time.sleep(POLL_S)
        summary = (
            f"{len(latencies)} /healthz polls: median {statistics.median(latencies):.3f} s, "
            f"max {max(latencies):.3f} s; /metrics max {max(metrics_latencies):.3f} s"
        )
        print(summary)
        # Reading the backlog took several polls, or the test says nothing.
        assert len(latencies) >= 20, summary
        assert max(latencies) <= MAX_LATENCY_S, summary
        assert max(metrics_latencies) <= MAX_LATENCY_S, summary
    finally:
        worker.stop()
