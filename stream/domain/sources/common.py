"""What every source mapping returns, and how source ids become stable event ids.

Event ids are derived from the source's own ids (never random, never the import time), so
importing the same data twice produces the same ids and the worker drops the second copy
as duplicates. Whatever a mapping cannot translate is counted in ``unmapped`` with a short
description, so an import reports it instead of silently dropping it.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

# The contract's limit on event_id and ticket_id lengths.
MAX_ID_CHARS = 128


@dataclass(slots=True)
class Mapped:
    """Contract events produced from some source data, and what could not be mapped.

    Attributes:
        events: contract events (dicts shaped as ``schemas/v1``), in source order.
        unmapped: description -> occurrences of input that produced no event, e.g.
            ``"zendesk child_event field 'tags'"`` or ``"eventlog activity 'Wait'"``.
        skipped: description -> occurrences of input deliberately ignored because it
            carries no fact the contract has (reported separately from unmapped).
    """

    events: list[dict[str, Any]] = field(default_factory=list)
    unmapped: Counter[str] = field(default_factory=Counter)
    skipped: Counter[str] = field(default_factory=Counter)

    def extend(self, other: Mapped) -> None:
        """Add another mapping's results (e.g. of the next page of an export)."""
        self.events.extend(other.events)
        self.unmapped.update(other.unmapped)
        self.skipped.update(other.skipped)


def stable_id(source: str, *parts: object) -> str:
    """A deterministic id for a source object: ``source:part:part...``.

    Longer than the contract allows, it is shortened to a prefix plus a SHA-256 digest,
    which stays deterministic and unique for practical purposes.
    """
    text = ":".join([source, *(str(p) for p in parts)])
    if len(text) <= MAX_ID_CHARS:
        return text
    digest = hashlib.sha256(text.encode()).hexdigest()[:40]
    return f"{text[: MAX_ID_CHARS - 41]}~{digest}"


def rfc3339(value: datetime) -> str:
    """An aware datetime as the contract's RFC 3339 form (UTC, ``Z``)."""
    if value.tzinfo is None:
        raise ValueError(f"timestamp without a timezone: {value.isoformat()}")
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def from_epoch(seconds: float) -> str:
    """Epoch seconds as the contract's RFC 3339 form."""
    return rfc3339(datetime.fromtimestamp(seconds, UTC))
