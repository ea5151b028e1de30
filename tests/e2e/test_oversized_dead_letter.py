"""A message larger than the worker's producer may send is still dead-lettered, and nothing stops.

A broker configured for large messages (Tansu accepts 17 MiB here) delivers what the
worker's producer (16 MiB per request) cannot send back whole. Before, the dead-letter send
raised, the agent restarted, and the batch's effects were lost; on every restart it would
fail again. Now the dead letter carries the head of the message and its original length.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from pathlib import Path

import orjson
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from stream.kafka.embedded import EmbeddedBroker
from stream.kafka.topics import ensure_topics
from stream.processing.messages import REASON_HEADER, SRC_HEADER, TRUNCATED_HEADER
from stream.wiring.app import DLQ_HEADROOM_BYTES, PRODUCER_MAX_REQUEST_BYTES
from tests.helpers.events import created, reply
from tests.helpers.processes import Worker, wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(240)]

HUGE = 17 * 1024 * 1024
BIG_FETCH = 64 * 1024 * 1024


async def _publish(bootstrap: list[str], topic: str, messages: list[tuple[bytes, bytes]]) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, max_request_size=BIG_FETCH)
    await producer.start()
    try:
        for key, value in messages:
            await producer.send_and_wait(topic, value, key=key, partition=0)
    finally:
        await producer.stop()


async def _dead_letters(bootstrap: list[str], topic: str, count: int) -> list[object]:
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, max_partition_fetch_bytes=BIG_FETCH,
                                fetch_max_bytes=BIG_FETCH)  # fmt: skip
    await consumer.start()
    try:
        tps = await _partitions(consumer, topic)
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        out: list[object] = []
        deadline = time.monotonic() + 30
        while len(out) < count and time.monotonic() < deadline:
            for records in (await consumer.getmany(timeout_ms=500)).values():
                out.extend(records)
        return out
    finally:
        await consumer.stop()


async def _partitions(consumer: AIOKafkaConsumer, topic: str) -> list[object]:
    from aiokafka import TopicPartition

    parts = consumer.partitions_for_topic(topic) or set()
    if not parts:
        await consumer._client.force_metadata_update()
        parts = consumer.partitions_for_topic(topic) or set()
    return [TopicPartition(topic, p) for p in sorted(parts)]


def test_an_oversized_message_is_dead_lettered_cut_and_the_rest_applied(
    embedded_broker: EmbeddedBroker, tmp_path: Path
) -> None:
    topic = f"oversized-{uuid.uuid4().hex[:8]}"
    ensure_topics(embedded_broker.bootstrap_servers, {topic: 1})
    before = [created(100, "T-1"), reply(200, "T-1")]
    after = [created(300, "T-2"), reply(400, "T-2")]
    huge = b'{"type": "ticket.created", "pad": "' + b"x" * HUGE + b'"}'
    messages = [(b"T-1", orjson.dumps(e)) for e in before] + [(b"T-9", huge)]
    messages += [(b"T-2", orjson.dumps(e)) for e in after]
    worker = Worker(embedded_broker.url, topic=topic, app_id=f"app-{topic}", log_dir=tmp_path)
    worker.start()
    try:
        asyncio.run(_publish(embedded_broker.bootstrap_servers, topic, messages))

        def accounted() -> dict[str, object] | None:
            ev = worker.json("/api/summary")["events"]
            return ev if ev["consumed"] == len(messages) and ev["applied"] == 4 else None

        events = wait_until(accounted, timeout=90, what="every message accounted")
        assert {k: n for k, n in events["dead_lettered"].items() if n} == {"too_large": 1}
        assert worker.proc is not None and worker.proc.poll() is None  # still running
        log = worker.log_path.read_text(errors="replace")
        assert "Traceback" not in log, worker.log_tail()
        assert f"value of {len(huge)} bytes cut to" in log

        (record,) = asyncio.run(_dead_letters(embedded_broker.bootstrap_servers, f"{topic}.dlq", 1))
        headers = dict(record.headers)  # type: ignore[attr-defined]
        value: bytes = record.value  # type: ignore[attr-defined]
        assert headers[REASON_HEADER] == b"too_large"
        assert headers[SRC_HEADER] == f"{topic}[0]@2".encode()
        assert headers[TRUNCATED_HEADER] == str(len(huge)).encode()
        assert len(value) == PRODUCER_MAX_REQUEST_BYTES - DLQ_HEADROOM_BYTES
        assert huge.startswith(value)
    finally:
        worker.stop()
