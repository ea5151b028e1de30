"""Fixtures for the ingest tests: fresh topics on the session's real broker, reading them back."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable

import pytest
from kafka.consumer.fetcher import ConsumerRecord

from stream.ingest.producer import IngestProducer
from stream.kafka.embedded import EmbeddedBroker, find_free_port
from stream.kafka.topics import ensure_topics
from tests.helpers.kafka import read_records
from tests.ingest.ingest_helpers import PARTITIONS


@pytest.fixture
def make_topic(
    request: pytest.FixtureRequest, embedded_broker: EmbeddedBroker
) -> Callable[[], str]:
    """Factory of new topics (PARTITIONS partitions) with names unique across the session."""
    stem = re.sub(r"[^A-Za-z0-9._-]", "-", request.node.name)[:150]

    def make() -> str:
        name = f"{stem}-{uuid.uuid4().hex[:8]}"
        ensure_topics(embedded_broker.bootstrap_servers, {name: PARTITIONS})
        return name

    return make


@pytest.fixture
def read_topic(embedded_broker: EmbeddedBroker) -> Callable[..., list[ConsumerRecord]]:
    """Read ``count`` records of a topic from the beginning (see ``read_records``)."""

    def read(topic: str, count: int, timeout_s: float = 10.0) -> list[ConsumerRecord]:
        return read_records(embedded_broker.bootstrap_servers, topic, count, timeout_s)

    return read


@pytest.fixture
def topic(make_topic: Callable[[], str]) -> str:
    """A fresh input topic."""
    return make_topic()


@pytest.fixture
def producer(embedded_broker: EmbeddedBroker, topic: str) -> IngestProducer:
    """An ingest producer on the real broker, writing to ``topic``."""
    return IngestProducer(embedded_broker.bootstrap_servers, topic, ack_timeout_s=5.0,
                          probe_interval_s=0.5)  # fmt: skip


@pytest.fixture
def dead_producer() -> IngestProducer:
    """A producer pointed at a port where nothing listens."""
    return IngestProducer([f"127.0.0.1:{find_free_port()}"], "nowhere", ack_timeout_s=1.0)
