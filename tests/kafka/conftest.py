"""Fixtures for the Kafka plumbing tests: one real embedded broker for the session."""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Callable

import pytest
from kafka import KafkaConsumer, TopicPartition
from kafka.consumer.fetcher import ConsumerRecord

from stream.kafka.embedded import EmbeddedBroker


@pytest.fixture(scope="session")
def broker(embedded_broker: EmbeddedBroker) -> EmbeddedBroker:
    """The session's real Tansu broker (see tests/conftest.py)."""
    return embedded_broker


@pytest.fixture
def make_topic_name(request: pytest.FixtureRequest) -> Callable[[], str]:
    """Factory of topic names unique across the session, readable in broker logs."""
    stem = re.sub(r"[^A-Za-z0-9._-]", "-", request.node.name)[:150]

    def make() -> str:
        return f"{stem}-{uuid.uuid4().hex[:8]}"

    return make


@pytest.fixture
def consume_all(broker: EmbeddedBroker) -> Callable[[str, int], list[ConsumerRecord]]:
    """Read ``count`` records from every partition of a topic, from the beginning.

    Partitions are assigned directly, without a consumer group: Tansu makes a group's
    first join wait half the session timeout (pinned in test_embedded.py). Reading stops
    at the expected count rather than at the end offsets, which Tansu under-reports
    (also pinned there).
    """

    def consume(topic: str, count: int, timeout_s: float = 15.0) -> list[ConsumerRecord]:
        consumer = KafkaConsumer(bootstrap_servers=broker.bootstrap_servers)
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
            # One more short poll, so that a test sees any record beyond the expected ones.
            for batch in consumer.poll(timeout_ms=200).values():
                records.extend(batch)
            return records
        finally:
            consumer.close()

    return consume
