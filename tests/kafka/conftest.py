"""Fixtures for the Kafka plumbing tests: one real embedded broker for the session."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable

import pytest
from kafka.consumer.fetcher import ConsumerRecord

from stream.kafka.embedded import EmbeddedBroker
from tests.helpers.kafka import read_records


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
def consume_all(broker: EmbeddedBroker) -> Callable[..., list[ConsumerRecord]]:
    """Read ``count`` records of a topic from the beginning (see ``read_records``)."""

    def consume(topic: str, count: int, timeout_s: float = 15.0) -> list[ConsumerRecord]:
        return read_records(broker.bootstrap_servers, topic, count, timeout_s)

    return consume
