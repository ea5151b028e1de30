"""SPEC: a broker unreachable for a while delays processing; it neither crashes nor loses data.

A worker (``--clock event``) reads a recorded simulator stream from a broker of its own (a
dedicated embedded broker: stopping the session broker would stall every other test). Part
of the stream is published; while the worker is consuming it, the broker process is
stopped (SIGSTOP: connections stay open but nothing answers, like a hung or partitioned
broker) for 30 s, then resumed (SIGCONT), and the rest is published. Meanwhile an
undisturbed worker (its own app id) reads the whole stream from the session broker.

Checked: the worker process stays up and its web server answers throughout; /readyz turns
503 with a reason naming the broker within seconds of the stop, stays 503 until the
resume and is 200 again soon after it; nothing is consumed while the broker is stopped;
and at the end the worker's /metrics equal the undisturbed run's exactly (every counter,
gauge and window), with every message accounted for once.

``SUPPORTPULSE_TEST_OUTAGE_S`` shortens the outage for local runs (the default, 30 s, is
what ``make test`` uses).
"""

from __future__ import annotations

import os
import signal
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import orjson

from stream.kafka.embedded import EmbeddedBroker
from tests.helpers.exactness import (
    accounting,
    comparable,
    consumed,
    diff,
    publish,
    simulate_history,
)
from tests.helpers.processes import Samples, Worker, http_get, wait_until

OUTAGE_S = float(os.environ.get("SUPPORTPULSE_TEST_OUTAGE_S", "30"))
# 24 hours of the simulator's daily curve at 2 new tickets a minute: about 29,000 events.
RATE, DURATION_S, SEED = 2.0, 86_400.0, 11
FIRST_PART = 0.6  # published before the outage; the rest after it
# The broker is stopped once the worker has consumed this share of the first part, so the
# stop lands mid-stream (a batch being fetched, applied or flushed).
STOP_AT = 0.25
# The worker's defaults: a metadata request every 2 s, unreachable after 6 s without an
# answer. The first 503 is due 4-6 s after the stop; 15 s leaves room for a slow machine.
UNREADY_WITHIN_S = 15.0
READY_AGAIN_WITHIN_S = 30.0
SETTLE_S = 5.0  # after the first 503, the prefetched messages are surely applied
REPORTING = ("support_staffing_partitions_reporting", frozenset())


def _readyz(worker: Worker) -> tuple[int, dict[str, Any]]:
    status, body = http_get(worker.base + "/readyz", timeout=3)
    return status, orjson.loads(body)


def _alive(worker: Worker) -> None:
    assert worker.proc is not None and worker.proc.poll() is None, (
        f"the worker exited during the outage; log:\n{worker.log_tail()}"
    )


def test_broker_outage__worker_waits_unready_then_ends_with_the_undisturbed_metrics(
    embedded_broker: EmbeddedBroker, tmp_path: Path
) -> None:
    started = time.monotonic()
    lines = simulate_history(tmp_path / "history.jsonl", rate=RATE, duration_s=DURATION_S,
                             seed=SEED)  # fmt: skip
    n, cut = len(lines), int(len(lines) * FIRST_PART)
    topic = f"outage-{uuid.uuid4().hex[:8]}"
    publish(embedded_broker.url, topic, lines, tmp_path / "all.jsonl")
    broker = EmbeddedBroker().start()
    assert broker.pid is not None
    stopped = False
    undisturbed = Worker(embedded_broker.url, topic=topic, app_id=f"sp-{topic}-undisturbed",
                         log_dir=tmp_path)  # fmt: skip
    worker = Worker(broker.url, topic=topic, app_id=f"sp-{topic}-outage", log_dir=tmp_path)
    try:
        with ThreadPoolExecutor(2) as pool:  # both start (join, recover) at the same time
            list(pool.map(Worker.start, (undisturbed, worker)))
        status, body = _readyz(worker)
        assert status == 200 and body["broker"]["reachable"] is True, body
        publish(broker.url, topic, lines[:cut], tmp_path / "first.jsonl")
        wait_until(lambda: consumed(worker) >= cut * STOP_AT, timeout=60, interval=0.05,
                   what=f"{cut * STOP_AT:.0f} messages consumed")  # fmt: skip

        os.killpg(broker.pid, signal.SIGSTOP)
        stopped = True
        t_stop = time.monotonic()
        at_stop = consumed(worker)
        unready: list[tuple[float, dict[str, Any]]] = []  # (seconds after the stop, body)
        consumed_unready: list[tuple[float, int]] = []
        while (t := time.monotonic() - t_stop) < OUTAGE_S:
            _alive(worker)
            assert http_get(worker.base + "/healthz", timeout=3)[0] == 200
            status, body = _readyz(worker)
            if status == 503:
                assert body["ready"] is False and body["broker"]["reachable"] is False, body
                assert any(r.startswith("broker unreachable: ") for r in body["reasons"]), body
                unready.append((t, body))
                consumed_unready.append((t, consumed(worker)))
            else:
                assert status == 200 and not unready, (
                    f"/readyz said ready again {t:.1f} s into the outage: {body}"
                )  # fmt: skip
            time.sleep(0.5)
        os.killpg(broker.pid, signal.SIGCONT)
        stopped = False
        t_resume = time.monotonic()

        assert unready, f"/readyz never answered 503 during the {OUTAGE_S:g} s outage"
        first_unready_s, first_body = unready[0]
        assert first_unready_s <= UNREADY_WITHIN_S, unready[0]
        # Processing waits. The worker goes on applying what it had fetched before the stop
        # (aiokafka prefetches up to 1 MiB per partition; the changelog writes wait in the
        # producer's buffer), then nothing moves until the broker is back.
        late = {c for t, c in consumed_unready if t >= first_unready_s + SETTLE_S}
        short = first_unready_s + SETTLE_S + 1 > OUTAGE_S  # a shortened local run
        assert len(late) == 1 or (short and not late), consumed_unready
        frozen = late.pop() if late else consumed_unready[-1][1]
        print(f"\n{n} events; broker stopped at consumed={at_stop} of the first {cut}; "
              f"/readyz 503 from {first_unready_s:.1f} s to the resume at {OUTAGE_S:g} s "
              f"({len(unready)} polls), consumed frozen at {frozen}; first 503 body: "
              f"{orjson.dumps(first_body).decode()}")  # fmt: skip

        def ready_again() -> dict[str, Any] | None:
            _alive(worker)
            status, body = _readyz(worker)
            return body if status == 200 else None

        body = wait_until(ready_again, timeout=READY_AGAIN_WITHIN_S, interval=0.2,
                          what="/readyz 200 after the broker resumed")  # fmt: skip
        ready_after_s = time.monotonic() - t_resume
        print(f"ready again {ready_after_s:.1f} s after SIGCONT: {orjson.dumps(body).decode()}")

        publish(broker.url, topic, lines[cut:], tmp_path / "rest.jsonl")
        wait_until(lambda: consumed(worker) == n, timeout=120,
                   what=f"the worker to consume all {n} messages")  # fmt: skip
        wait_until(lambda: consumed(undisturbed) == n, timeout=120,
                   what=f"the undisturbed worker to consume all {n} messages")  # fmt: skip
        pair: list[Samples] = []

        # Both idle at the end of the stream: their scrapes agree once each has published
        # its final staffing inputs (every STAFFING_INTERVAL_S, 10 s) and read them back.
        def agree() -> bool:
            pair[:] = [comparable(undisturbed.metrics()), comparable(worker.metrics())]
            return pair[0] == pair[1] and pair[0].get(REPORTING) == 4

        try:
            wait_until(agree, timeout=30, what="equal metrics")
        except AssertionError:
            raise AssertionError(diff(*pair)) from None
        final = accounting(worker)
        assert accounting(undisturbed) == final
        _alive(worker)
        log = worker.log_path.read_text(errors="replace")
        assert "Kafka unreachable, /readyz answers 503" in log
        assert "answers again" in log
    finally:
        if stopped:
            os.killpg(broker.pid, signal.SIGCONT)
        try:
            worker.stop()
        finally:
            undisturbed.stop()
            broker.stop()
    assert pair[1] == pair[0]
    # Nothing lost, nothing counted twice: the stream has no duplicates or bad events.
    assert final == {"consumed": n, "applied": n, "duplicate": 0, "dead_lettered": 0,
                     "held": 0}, final  # fmt: skip
    print(f"equal: {len(pair[0])} samples; {final}; {time.monotonic() - started:.0f} s")
