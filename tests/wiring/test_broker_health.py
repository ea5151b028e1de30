"""The broker check behind /readyz: what counts as unreachable.

Against a fake clock, and against a real broker and a closed port. The outage itself is
tests/e2e/test_broker_outage.py.
"""

from __future__ import annotations

import logging
import time

import pytest

from stream.kafka.embedded import EmbeddedBroker, find_free_port
from stream.wiring.broker_health import BrokerHealth


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _health(clock: Clock, answers: list[bool], monkeypatch: pytest.MonkeyPatch) -> BrokerHealth:
    """A BrokerHealth whose metadata requests succeed or time out as ``answers`` says."""
    health = BrokerHealth(["k1:9092", "k2:9092"], "events", interval_s=2.0,
                          unreachable_after_s=6.0, clock=clock)  # fmt: skip

    async def ask() -> None:
        if not answers.pop(0):
            raise TimeoutError

    monkeypatch.setattr(health, "_ask", ask)
    return health


async def test_unreachable_until_a_first_answer(monkeypatch: pytest.MonkeyPatch) -> None:
    health = _health(Clock(), [False, True], monkeypatch)

    assert not health.reachable()
    assert await health.check() is False
    assert health.status() == {
        "reachable": False, "last_answer_seconds_ago": None,
        "problem": "no Kafka broker at k1:9092,k2:9092 has answered yet "
                   "(last error: no answer in time)",
    }  # fmt: skip
    assert await health.check() is True
    assert health.status() == {"reachable": True, "last_answer_seconds_ago": 0.0}


async def test_one_slow_answer_does_not_make_it_unreachable_a_silent_cluster_does(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="stream.wiring.broker_health")
    clock = Clock()
    health = _health(clock, [True, False, False, False, True], monkeypatch)
    await health.check()

    clock.now += 2
    assert await health.check() is False
    assert health.reachable()  # 2 s without an answer: within the 6 s allowed
    clock.now += 4
    await health.check()
    assert health.reachable()  # exactly 6 s
    clock.now += 0.5
    await health.check()
    assert not health.reachable()
    assert health.status()["problem"] == (
        "no Kafka broker at k1:9092,k2:9092 answered a metadata request for 6 s "
        "(last error: no answer in time)"
    )
    clock.now += 2
    assert await health.check() is True
    assert health.reachable()
    logged = [r.getMessage() for r in caplog.records]
    assert logged == [
        "Kafka unreachable, /readyz answers 503: no Kafka broker at k1:9092,k2:9092 answered "
        "a metadata request for 6 s (last error: no answer in time)",
        "Kafka at k1:9092,k2:9092 answers again",
    ]  # once each: a broker that stays down does not fill the log


async def test_a_real_broker_answers_and_a_closed_port_does_not(
    embedded_broker: EmbeddedBroker,
) -> None:
    health = BrokerHealth(embedded_broker.bootstrap_servers, "broker-health-probe",
                          interval_s=2.0, unreachable_after_s=6.0)  # fmt: skip
    try:
        assert await health.check() is True
        assert await health.check() is True  # the client is kept between checks
        assert health.reachable()
    finally:
        await health.close()

    closed = BrokerHealth([f"127.0.0.1:{find_free_port()}"], "t", interval_s=1.0,
                          unreachable_after_s=3.0)  # fmt: skip
    started = time.monotonic()
    try:
        assert await closed.check() is False
    finally:
        await closed.close()
    assert time.monotonic() - started < 2 * closed.interval_s + 1
    assert not closed.reachable()
    assert "has answered yet" in closed.status()["problem"]
