"""Changelog writes of a batch as whole record batches, one or a few per partition.

Faust's ``Table.send_changelog`` takes one record at a time: a ``FutureMessage``, a slot in
its producer buffer, a task that hands it to aiokafka and a future there. Profiled under
``make bench`` that path was an eighth of the worker's time, at about half a record per
input event. Here the records of a batch go straight into aiokafka record batches
(``AIOKafkaProducer.create_batch`` / ``send_batch``) on the same producer Faust uses, so
Faust's flush before a commit still covers them, and there is one future per record batch.

The bytes are what Faust would write: the key as UTF-8 (the table's ``raw`` key
serializer), the value encoded with orjson (its value codec), ``None`` for a tombstone.
Within a partition the records keep their order, which the partition record relies on (it
is written after the ticket states of its batch).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import orjson

from stream.wiring.delivery import Sent

Record = tuple[bytes, bytes | None]


class ChangelogWriter:
    """Turns a batch's changelog writes into record batches for ``deliver``."""

    def __init__(self, producer: Callable[[], Any], topic: str) -> None:
        """``producer`` gives the started aiokafka producer (Faust's own)."""
        self._producer = producer
        self.topic = topic

    def sends(self, writes: Iterable[tuple[int, str, Any]]) -> list[Sent]:
        """One :class:`Sent` per record batch, in write order within each partition."""
        by_partition: dict[int, list[Record]] = {}
        dumps = orjson.dumps
        for partition, key, value in writes:
            record = (key.encode(), None if value is None else dumps(value))
            by_partition.setdefault(partition, []).append(record)
        producer = self._producer()
        out: list[Sent] = []
        for partition, records in by_partition.items():
            while records:
                builder = producer.create_batch()
                n = _fill(builder, records)
                out.append(self._sent(partition, records[:n], builder))
                records = records[n:]
        return out

    def _sent(self, partition: int, records: list[Record], first: Any) -> Sent:
        builders = [first]

        async def send() -> Any:
            producer = self._producer()
            if builders:
                builder = builders.pop()
            else:  # sent before and failed: a builder is used once, so fill a new one
                builder = producer.create_batch()
                _fill(builder, records)
            return await producer.send_batch(builder, self.topic, partition=partition)

        what = f"changelog batch of {len(records)} records ({self.topic}[{partition}])"
        return Sent(what, send)


def _fill(builder: Any, records: list[Record]) -> int:
    """Append records until the batch is full; returns how many went in (at least one)."""
    n = 0
    for key, value in records:
        if builder.append(key=key, value=value, timestamp=None) is None:
            break
        n += 1
    if n == 0:
        raise ValueError(f"a changelog record of {len(records[0][1] or b'')} bytes does not "
                         "fit an empty record batch")  # fmt: skip
    return n
