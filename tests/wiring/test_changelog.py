"""The changelog writer: Faust's bytes, partition order, one record batch per partition.

It relies on two framework facts, pinned here against the installed versions: Faust's
aiokafka producer is reachable as ``Producer._ensure_producer()``, and aiokafka's record
batches take a record larger than their size when empty and refuse one more when full.
"""

from __future__ import annotations

import asyncio
from typing import Any

import faust
import orjson
from aiokafka import AIOKafkaProducer
from aiokafka.producer.message_accumulator import BatchBuilder

from stream.wiring.changelog import ChangelogWriter


class Producer:
    """aiokafka's batch API over real builders of ``size`` bytes, recording what is sent."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.sent: list[tuple[str, int, BatchBuilder]] = []

    def create_batch(self) -> BatchBuilder:
        return BatchBuilder(self.size, 0, is_transactional=False)

    async def send_batch(self, builder: BatchBuilder, topic: str, *, partition: int) -> Any:
        self.sent.append((topic, partition, builder))
        return asyncio.get_running_loop().create_future()


def records_of(builder: BatchBuilder) -> list[tuple[bytes | None, bytes | None]]:
    from aiokafka.record.default_records import DefaultRecordBatch

    batch = DefaultRecordBatch(bytes(builder._build()))
    return [(r.key, r.value) for r in batch]


async def test_changelog__records_are_faust_bytes_in_order_per_partition() -> None:
    producer = Producer(size=1 << 20)
    writer = ChangelogWriter(lambda: producer, "app-state-changelog")
    writes = [(1, "t:A", {"id": "A"}), (0, "t:B", {"id": "B"}), (1, "t:C", None),
              (1, "~p:1", {"k": "partition"})]  # fmt: skip
    sends = writer.sends(writes)
    assert [s.what for s in sends] == [
        "changelog batch of 3 records (app-state-changelog[1])",
        "changelog batch of 1 records (app-state-changelog[0])",
    ]
    for s in sends:
        await s.send()
    by_partition = {p: records_of(b) for _, p, b in producer.sent}
    assert by_partition == {
        1: [(b"t:A", orjson.dumps({"id": "A"})), (b"t:C", None),
            (b"~p:1", orjson.dumps({"k": "partition"}))],
        0: [(b"t:B", orjson.dumps({"id": "B"}))],
    }  # fmt: skip


async def test_changelog__a_full_batch_continues_in_the_next_and_a_retry_refills() -> None:
    producer = Producer(size=300)
    writer = ChangelogWriter(lambda: producer, "c")
    big = {"x": "y" * 400}  # larger than a batch: alone in its own
    writes = [(0, f"t:{n}", {"n": n}) for n in range(20)] + [(0, "t:big", big)]
    sends = writer.sends(writes)
    assert len(sends) >= 3
    for s in sends:
        await s.send()
    keys = [k for _, _, b in producer.sent for k, _ in records_of(b)]
    assert keys == [f"t:{n}".encode() for n in range(20)] + [b"t:big"]
    await sends[0].send()  # sent again after a failure: the same records, a new batch
    assert records_of(producer.sent[-1][2]) == records_of(producer.sent[0][2])
    assert producer.sent[-1][2] is not producer.sent[0][2]


async def test_changelog__faust_exposes_its_aiokafka_producer() -> None:
    app = faust.App("pin-producer", broker="kafka://127.0.0.1:1", store="memory://")
    faust_producer: Any = app.producer
    producer = faust_producer._new_producer()  # what Faust starts on_start
    assert isinstance(producer, AIOKafkaProducer)
    assert callable(producer.create_batch) and callable(producer.send_batch)
    faust_producer._producer = producer
    assert faust_producer._ensure_producer() is producer
    await producer.stop()  # never started: nothing to close but its own bookkeeping
