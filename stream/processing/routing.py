"""Which partition owns an entity: the Java client's murmur2 partitioner, as producers use."""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from kafka.partitioner.default import murmur2


# Cached: a ticket's tens of events hash the same key, and murmur2 runs in Python.
@lru_cache(maxsize=1 << 16)
def partition_for(entity_key: str, partitions: int) -> int:
    """Partition of ``entity_key`` (a ticket id) among ``partitions``.

    Kafka's default partitioner (Java, kafka-python, aiokafka) hashes the key bytes with
    murmur2, so a producer that keys by ticket id already lands here; anything else is
    re-keyed to this partition.
    """
    return (murmur2(entity_key.encode()) & 0x7FFFFFFF) % partitions


def entity_key(event: Mapping[str, Any]) -> str | None:
    """The key that decides an event's partition, or None when the event has none.

    A ticket's events are keyed by its ``ticket_id``; an agent's presence by ``agent:``
    and the name; an NPS response with no ticket by ``nps:`` and its event id. Producers
    that use the same key save the worker a re-key hop.
    """
    ticket_id = event.get("ticket_id")
    if isinstance(ticket_id, str):
        return ticket_id
    if event.get("type") == "agent.presence" and isinstance(event.get("agent"), str):
        return f"agent:{event['agent']}"
    if event.get("type") == "survey.nps" and isinstance(event.get("event_id"), str):
        return f"nps:{event['event_id']}"
    return None
