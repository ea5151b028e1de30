"""Reading a topic back in tests: every record from the beginning, without a consumer group."""

from __future__ import annotations

import time

from kafka import KafkaConsumer, TopicPartition
from kafka.consumer.fetcher import ConsumerRecord


def read_records(bootstrap: list[str], topic: str, count: int,
                 timeout_s: float = 15.0) -> list[ConsumerRecord]:  # fmt: skip
    """Read ``count`` records from every partition of ``topic``, from the beginning.

    Partitions are assigned directly, without a consumer group: Tansu makes a group's
    first join wait half the session timeout (pinned in tests/kafka/test_embedded.py).
    Reading stops at the expected count rather than at the end offsets, which Tansu
    under-reports (also pinned there); one more short poll then shows any record beyond
    the expected ones.
    """
    consumer = KafkaConsumer(bootstrap_servers=bootstrap)
    try:
        partitions = consumer.partitions_for_topic(topic) or set()
        assert partitions, f"topic {topic} does not exist"
        consumer.assign([TopicPartition(topic, p) for p in sorted(partitions)])
        consumer.seek_to_beginning()
        records: list[ConsumerRecord] = []
        deadline = time.monotonic() + timeout_s
        while len(records) < count and time.monotonic() < deadline:
            for batch in consumer.poll(timeout_ms=200).values():
                records.extend(batch)
        for batch in consumer.poll(timeout_ms=500).values():
            records.extend(batch)
        return records
    finally:
        consumer.close()
