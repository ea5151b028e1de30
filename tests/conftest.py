"""Shared fixtures: one real embedded broker per test session."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from stream.kafka.embedded import EmbeddedBroker


@pytest.fixture(scope="session")
def embedded_broker() -> Iterator[EmbeddedBroker]:
    """A real Tansu broker on a free 127.0.0.1 port, stopped at the end of the session."""
    broker = EmbeddedBroker()
    broker.start()
    try:
        yield broker
    finally:
        broker.stop()
