"""The ingest producer on the real broker: acknowledgements, readiness, a broker that vanishes."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

import pytest

from stream.ingest.producer import BrokerUnavailable, Delivered, IngestProducer
from stream.kafka.embedded import EmbeddedBroker, find_free_port
from stream.kafka.topics import ensure_topics
from stream.processing.routing import partition_for
from tests.ingest.ingest_helpers import PARTITIONS


async def until(check: Callable[[], bool], timeout_s: float = 15.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not check():
        assert time.monotonic() < deadline, "condition not reached in time"
        await asyncio.sleep(0.05)


async def test_produce__waits_for_acks_and_keys_route_like_the_worker(
    embedded_broker: EmbeddedBroker, make_topic: Callable[[], str], read_topic: Callable[..., Any]
) -> None:
    topic = make_topic()
    producer = IngestProducer(embedded_broker.bootstrap_servers, topic)
    await producer.start()
    try:
        await until(lambda: producer.ready)
        assert producer.status() == {"ready": True, "topic": topic, "partitions": PARTITIONS}
        delivered = await producer.produce([(b"T-1", b"one"), (b"T-2", b"two"), (b"T-1", b"3")])
    finally:
        await producer.stop()
    assert [d.partition for d in delivered] == [partition_for(t, PARTITIONS)
                                                for t in ("T-1", "T-2", "T-1")]  # fmt: skip
    assert delivered[2].offset == delivered[0].offset + 1
    records = await asyncio.to_thread(read_topic, topic, 3)
    got = {(Delivered(r.partition, r.offset), r.key, r.value) for r in records}
    assert got == {(delivered[0], b"T-1", b"one"), (delivered[1], b"T-2", b"two"),
                   (delivered[2], b"T-1", b"3")}  # fmt: skip


async def test_produce__not_connected_fails_at_once_with_the_problem() -> None:
    producer = IngestProducer([f"127.0.0.1:{find_free_port()}"], "t", ack_timeout_s=1.0)
    await producer.start()
    try:
        await until(lambda: "cannot reach Kafka" in producer.status().get("problem", ""))
        started = time.monotonic()
        with pytest.raises(BrokerUnavailable, match="not connected to Kafka: cannot reach"):
            await producer.produce([(b"k", b"v")])
        assert time.monotonic() - started < 0.5
        assert producer.status()["ready"] is False
    finally:
        await producer.stop()


async def test_produce__no_acknowledgement_in_time_raises_and_turns_not_ready() -> None:
    with EmbeddedBroker(stop_grace_s=0.5) as broker:
        ensure_topics(broker.bootstrap_servers, {"acks": PARTITIONS})
        # Probes far apart: only the missing acknowledgement can reveal the lost broker.
        producer = IngestProducer(broker.bootstrap_servers, "acks", ack_timeout_s=1.5,
                                  probe_interval_s=600)  # fmt: skip
        await producer.start()
        try:
            await until(lambda: producer.ready)
            await asyncio.to_thread(broker.stop)
            started = time.monotonic()
            with pytest.raises(BrokerUnavailable, match=r"no acknowledgement within 1\.5 s"):
                await producer.produce([(b"T-1", b"lost")])
            assert 1.0 < time.monotonic() - started < 5.0
            assert producer.ready is False
        finally:
            await producer.stop()


async def test_stop__while_connecting_returns_promptly() -> None:
    producer = IngestProducer([f"127.0.0.1:{find_free_port()}"], "t", ack_timeout_s=5.0)
    await producer.start()
    started = time.monotonic()
    await producer.stop()
    assert time.monotonic() - started < 2.0 and producer.ready is False
