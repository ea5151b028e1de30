"""Kafka messages in, effects out: the processor's boundary with the wiring."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from stream.domain.ticket import DeadLetter

SRC_HEADER = "sp-src"
REASON_HEADER = "sp-reason"
DETAIL_HEADER = "sp-detail"
#: On a dead letter whose value had to be cut to fit the producer: the original length.
TRUNCATED_HEADER = "sp-truncated-from"


@dataclass(frozen=True, slots=True)
class Message:
    """One consumed Kafka message."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes
    headers: Mapping[str, bytes] = field(default_factory=dict)

    @property
    def coords(self) -> str:
        """``topic[partition]@offset``, as every log line names a message."""
        return f"{self.topic}[{self.partition}]@{self.offset}"


@dataclass(frozen=True, slots=True)
class Forward:
    """A message to re-publish on the re-key topic, in its ticket's partition."""

    partition: int
    key: bytes
    value: bytes
    src: str


@dataclass(slots=True)
class Effects:
    """What the wiring must do after a batch: write, dead-letter, forward."""

    # In order: (partition, key, serialised entity, or None for a tombstone).
    writes: list[tuple[int, str, dict[str, Any] | None]] = field(default_factory=list)
    dead_letters: list[DeadLetter] = field(default_factory=list)
    forwards: list[Forward] = field(default_factory=list)


def ticket_key(ticket_id: str) -> str:
    """Table key of a ticket (prefixed so ids never collide with other entities)."""
    return f"t:{ticket_id}"


def record_key(partition: int) -> str:
    """Table key of a partition's accounting record."""
    return f"~p:{partition}"
