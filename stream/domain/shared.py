"""One copy of the small values that many tickets hold alike.

Every ticket keeps its window contributions, counted outcomes and observations keyed by
tuples such as ``("w", "created_tickets", "billing", "", 1795298400)``, and its events keep
strings such as ``"ticket.message"`` or ``"billing"``. Built afresh on each derivation or
decode, each ticket would hold its own copies: over a third of its memory. Passing
them through :func:`share` makes equal values one object.

The pool is bounded: once it holds more than ``MAX_SHARED`` distinct values, :func:`trim`
starts it again, which only costs sharing for values made before (equality, never
identity, is what the code relies on).
"""

from __future__ import annotations

import sys
from typing import Any, TypeVar

T = TypeVar("T")

#: Distinct values kept. About 20 metrics x 576 five-minute buckets (48 hours of windows)
#: make ~11,500 keys per queue, so this holds about 20 queues' worth; with more queues the
#: pool starts again more often, which costs some sharing, never correctness.
MAX_SHARED = 1 << 18

_pool: dict[Any, Any] = {}


#: ``share`` without the Python call: ``pooled(value, value)`` (hot paths use it; the pool
#: is kept bounded by :func:`trim`, which the processor's housekeeping calls).
pooled = _pool.setdefault


def share(value: T) -> T:
    """The pooled object equal to ``value`` (``value`` itself the first time)."""
    return pooled(value, value)


def trim() -> None:
    """Start the pool again if it holds more than ``MAX_SHARED`` values."""
    if len(_pool) > MAX_SHARED:
        _pool.clear()


_fields: dict[int, dict[str, Any]] = {}


def share_fields(fields: dict[str, Any]) -> dict[str, Any]:
    """One copy of an event's kept fields per distinct content (never mutate the result).

    Most events of a kind keep the same few values (an agent's public message, a status
    change to ``solved``): one dict for all of them instead of one per event, which was a
    third of an event's memory. The pool is keyed by the content's hash, so a content seen
    only once (a queue name of its own) costs an int and a slot, about 70 bytes; a
    different content with the same hash is simply not shared. Bounded like the other pool.
    """
    try:
        key = hash((*fields, *fields.values()))
    except TypeError:  # an unhashable value: kept as it is
        return fields
    found = _fields.get(key)
    if found is not None:
        return found if found == fields else fields
    if len(_fields) > MAX_SHARED:
        _fields.clear()
    _fields[key] = fields
    return fields


def share_str(value: Any) -> Any:
    """An interned copy of a string (other values unchanged), for event field values."""
    return sys.intern(value) if type(value) is str else value
