"""Boundary codec: raw message bytes to a validated event with defaults, or a reject reason."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

import orjson

from stream.adapters.schema import (
    EVENT_TYPES,
    SchemaViolation,
    brief,
    describe_violation,
    validators,
)

# Reason codes: the dead-letter header values and `reason` label values (a stable public API).
TOO_LARGE: Final = "too_large"
INVALID_JSON: Final = "invalid_json"
SCHEMA_VIOLATION: Final = "schema_violation"
UNKNOWN_TYPE: Final = "unknown_type"
FUTURE_TIMESTAMP: Final = "future_timestamp"
#: Every reason `decode` can return, e.g. to pre-initialise a counter's label sets.
REASONS: Final[tuple[str, ...]] = (
    TOO_LARGE,
    INVALID_JSON,
    SCHEMA_VIOLATION,
    UNKNOWN_TYPE,
    FUTURE_TIMESTAMP,
)

DEFAULT_MAX_BYTES: Final = 65536
#: Earliest accepted ``occurred_at``: the Unix epoch, as for Kafka timestamps. The pattern
#: admits year 0001, whose instants business calendars cannot place (year 0 in UTC or in a
#: western zone): such an event crashed the agent while deriving its SLA clocks.
MIN_OCCURRED_AT_S: Final = 0.0
DEFAULT_MAX_FUTURE_SKEW_S: Final = 300.0

#: Deepest nesting accepted (the event object itself is level 1). The contract is flat, but
#: extra fields may nest; orjson alone allows 1024 levels, deep enough to overflow the Python
#: recursion limit in `repr`, logging or `json.dumps` further down, so the boundary caps it.
MAX_DEPTH: Final = 32

# One line in logs and dead-letter headers: long enough for the field, the rule and a short
# value, short enough that an attacker-sized value never travels with it.
_MAX_DETAIL_CHARS: Final = 300
_TYPE_LIST: Final = ", ".join(EVENT_TYPES)


@dataclass(frozen=True, slots=True)
class Decoded:
    """A valid event: `event` has the defaults filled in; `occurred_at_s` is its epoch time."""

    event: dict[str, Any]
    occurred_at_s: float


@dataclass(frozen=True, slots=True)
class Rejected:
    """An event to dead-letter: `reason` is one of `REASONS`, `detail` one human-readable line."""

    reason: str
    detail: str


def decode(
    raw: bytes,
    *,
    now_s: float,
    max_bytes: int = DEFAULT_MAX_BYTES,
    max_future_skew_s: float = DEFAULT_MAX_FUTURE_SKEW_S,
) -> Decoded | Rejected:
    """Decode and validate one message, checking the cheapest and most basic faults first.

    Args:
        raw: The message value exactly as consumed.
        now_s: Wall-clock time in epoch seconds (passed in so that tests and replays choose it).
        max_bytes: Largest accepted message.
        max_future_skew_s: How far `occurred_at` may lie ahead of `now_s` (producer clock skew).

    Returns:
        `Decoded`, or `Rejected` with the first fault found, in this order: too_large,
        invalid_json, schema_violation (not an object; `type` missing or not a string),
        unknown_type, schema_violation (the type's schema, nesting, impossible date, before
        1970), future_timestamp. Bad input never raises.
    """
    if len(raw) > max_bytes:
        return _reject(TOO_LARGE, f"message is {len(raw)} bytes, over the limit of {max_bytes}")
    try:
        event = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        return _reject(INVALID_JSON, _json_error(raw, exc))
    if type(event) is not dict:
        return _reject(SCHEMA_VIOLATION, f"event: must be a JSON object, got {brief(event)}")
    event_type = event.get("type")
    if type(event_type) is not str:
        if event_type is None and "type" not in event:
            return _reject(SCHEMA_VIOLATION, "type: required field is missing (rule required)")
        detail = f"type: must be string (rule type), got {brief(event_type)}"
        return _reject(SCHEMA_VIOLATION, detail)
    validate = validators().get(event_type)
    if validate is None:
        return _reject(
            UNKNOWN_TYPE, f"type: {brief(event_type)} is not a known event type ({_TYPE_LIST})"
        )
    try:
        validate(event)
    except SchemaViolation as exc:
        return _reject(SCHEMA_VIOLATION, describe_violation(exc))
    # Counting brackets in C is far cheaper than walking the tree; only a message with more
    # brackets than MAX_DEPTH can nest deeper than MAX_DEPTH.
    if raw.count(b"{") + raw.count(b"[") > MAX_DEPTH and _nests_deeper_than(event, MAX_DEPTH):
        return _reject(
            SCHEMA_VIOLATION, f"event: nests deeper than {MAX_DEPTH} levels (rule max_depth)"
        )
    occurred_at = event["occurred_at"]
    try:
        occurred_at_s = _epoch_seconds(occurred_at)
    except (ValueError, OverflowError) as exc:
        return _reject(
            SCHEMA_VIOLATION,
            f"occurred_at: {brief(occurred_at)} is not a real date and time ({exc})",
        )
    if occurred_at_s < MIN_OCCURRED_AT_S:
        return _reject(
            SCHEMA_VIOLATION,
            f"occurred_at: {occurred_at} is before 1970-01-01T00:00:00Z (rule min_time)",
        )
    if occurred_at_s - now_s > max_future_skew_s:
        return _reject(
            FUTURE_TIMESTAMP,
            f"occurred_at: {occurred_at} is {occurred_at_s - now_s:.0f} s ahead of the clock, "
            f"more than the allowed {max_future_skew_s:g} s (rule max_future_skew)",
        )
    return Decoded(event, occurred_at_s)


def _epoch_seconds(timestamp: str) -> float:
    """Parse an RFC 3339 timestamp that has passed the schema pattern (so it has an offset)."""
    try:
        return datetime.fromisoformat(timestamp).timestamp()
    except ValueError:
        # RFC 3339 allows a lowercase `t` and `z`, which `fromisoformat` does not; they are
        # rare enough that upper-casing only after a failure keeps the common path fast.
        return datetime.fromisoformat(timestamp.upper()).timestamp()


def _json_error(raw: bytes, exc: orjson.JSONDecodeError) -> str:
    """Explain a decode failure; orjson reports every bad UTF-8 byte as a surrogate error."""
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError as bad:
        return f"not valid UTF-8: byte 0x{raw[bad.start]:02x} at offset {bad.start}"
    return f"not valid JSON: {exc}"


def _nests_deeper_than(value: dict[str, Any], limit: int) -> bool:
    """Tell whether `value` nests more than `limit` levels, without recursion."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > limit:
            return True
        children = node.values() if isinstance(node, dict) else node
        stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return False


def _reject(reason: str, detail: str) -> Rejected:
    """Build a `Rejected` whose detail is one line of at most `_MAX_DETAIL_CHARS` characters."""
    line = " ".join(detail.split())
    if len(line) > _MAX_DETAIL_CHARS:
        line = line[: _MAX_DETAIL_CHARS - 3] + "..."
    return Rejected(reason, line)
