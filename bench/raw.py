"""Phase (a): the physical limit of a Python consumer here, aiokafka + orjson and nothing else."""

from __future__ import annotations

import time
from dataclasses import dataclass

import orjson
from aiokafka import AIOKafkaConsumer, TopicPartition


@dataclass(frozen=True, slots=True)
class RawRun:
    """What the raw loop measured."""

    n: int
    elapsed_s: float
    bytes: int
    cpu_s: float

    @property
    def rate(self) -> float:
        """Messages per second, first message received to last decoded."""
        return self.n / self.elapsed_s


async def consume_all(bootstrap: list[str], topic: str, partitions: int, n: int) -> RawRun:
    """Read ``n`` messages of the topic from the beginning and decode every value.

    No consumer group (partitions assigned by hand, nothing committed), so nothing but
    fetching and decoding is measured. Fetch sizes are raised from aiokafka's defaults so
    that the loop, not the fetch size, is the limit. The clock starts when the first batch
    arrives (connection set-up is not consumption) and stops after the last decode.
    """
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False,
        auto_offset_reset="earliest", max_partition_fetch_bytes=4 << 20,
        fetch_max_bytes=64 << 20,
    )  # fmt: skip
    await consumer.start()
    try:
        tps = [TopicPartition(topic, p) for p in range(partitions)]
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        loads = orjson.loads
        count = size = 0
        started = cpu0 = 0.0
        while count < n:
            batches = await consumer.getmany(timeout_ms=1000, max_records=50_000)
            if batches and not started:
                started, cpu0 = time.monotonic(), time.process_time()
            for messages in batches.values():
                for m in messages:
                    loads(m.value)
                    size += len(m.value)
                count += len(messages)
        return RawRun(count, time.monotonic() - started, size, time.process_time() - cpu0)
    finally:
        await consumer.stop()
