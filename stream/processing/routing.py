"""Which partition owns an entity: the Java client's murmur2 partitioner, as producers use."""

from __future__ import annotations

from kafka.partitioner.default import murmur2


def partition_for(entity_key: str, partitions: int) -> int:
    """Partition of ``entity_key`` (a ticket id) among ``partitions``.

    Kafka's default partitioner (Java, kafka-python, aiokafka) hashes the key bytes with
    murmur2, so a producer that keys by ticket id already lands here; anything else is
    re-keyed to this partition.
    """
    return (murmur2(entity_key.encode()) & 0x7FFFFFFF) % partitions
