"""Replay a JSON-lines file of recorded events into Kafka, at their own pace or faster."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
from kafka.errors import MessageSizeTooLargeError

from stream.kafka import KafkaUnavailableError
from stream.kafka.publish import DeliveryError, EventPublisher
from stream.kafka.topics import TopicPartitionMismatchError, ensure_topics
from stream.kafka.urls import format_broker_url
from stream.processing.routing import entity_key

__all__ = ["MAX_SLEEP_S", "ReplayStats", "record_key_and_timestamp", "replay_file", "run_replay"]

#: Longest single pause between two events, in wall-clock seconds. A recording with a
#: quiet night in it would otherwise stall a replay for hours; the events still carry
#: their own timestamps, so event-time metrics see the full gap regardless.
MAX_SLEEP_S = 60.0

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MS = timedelta(milliseconds=1)


@dataclass(frozen=True, slots=True)
class ReplayStats:
    """What a replay did.

    Attributes:
        lines: Lines read, blank ones included.
        published: Non-blank lines published (``keyed + unkeyed``).
        keyed: Published with the event's ``ticket_id`` as the key.
        unkeyed: Published without a key (no string ``ticket_id``, or not JSON at all).
    """

    lines: int
    published: int
    keyed: int
    unkeyed: int


def record_key_and_timestamp(raw: bytes) -> tuple[bytes | None, int | None]:
    """Derive the Kafka key and timestamp of one recorded event.

    The key is the ``ticket_id`` (UTF-8), so that one ticket's events share a partition
    and stay in order (events with no ticket get the worker's own key for them, see
    :func:`stream.processing.routing.entity_key`). The timestamp is ``occurred_at`` in
    epoch milliseconds, because Kafka timestamps drive stream time and a replay must look
    like the original traffic.
    Anything that does not yield them (bad JSON, a missing or malformed field) yields
    None: the bytes are published anyway and the worker dead-letters what is invalid.

    Args:
        raw: One line of the file, without its line terminator.

    Returns:
        ``(key, timestamp_ms)``, each None when not derivable.
    """
    try:
        event = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return None, None
    if not isinstance(event, dict):
        return None, None
    entity = entity_key(event)
    key = entity.encode() if entity is not None else None
    return key, _timestamp_ms(event.get("occurred_at"))


def _timestamp_ms(value: Any) -> int | None:
    """Epoch milliseconds of an RFC 3339 timestamp with offset, else None."""
    if not isinstance(value, str):
        return None
    try:
        # RFC 3339 allows a lowercase "t" and "z"; fromisoformat wants them uppercase.
        moment = datetime.fromisoformat(value.upper())
    except ValueError:
        return None
    if moment.tzinfo is None:  # no offset: the instant is ambiguous
        return None
    millis = (moment - _EPOCH) // _MS
    return millis if millis >= 0 else None  # Kafka reserves negative timestamps


def replay_file(
    path: Path,
    publisher: EventPublisher,
    *,
    speed: float | None,
    sleep: Callable[[float], None] = time.sleep,
) -> ReplayStats:
    """Publish every non-blank line of a JSON-lines file, bytes unchanged.

    Bad lines are published too (unkeyed, with the producer's time when they carry no
    usable ``occurred_at``): the worker's dead-letter path is what handles them, and a
    replay is how that path is exercised.

    Pacing follows stream time, the highest ``occurred_at`` seen so far: before each
    event that moves it forward, the replay sleeps for that step divided by ``speed``
    (at most ``MAX_SLEEP_S`` at a time). An event older than one already published goes
    out at once, as a late event would have arrived; measuring from stream time rather
    than from the previous line keeps late events from adding pauses, so the whole
    replay takes the recording's span divided by ``speed`` (less what the cap cuts).
    Publishing does not block, so the pauses alone set the pace.

    Args:
        path: The JSON-lines file (one event per line, LF or CRLF line endings).
        publisher: Where the lines go. Flushed before returning, not closed.
        speed: None for as fast as possible; N for N times real time (N > 0).
        sleep: Injected for tests; receives the seconds to pause.

    Returns:
        Counts of what was read and published.

    Raises:
        ValueError: ``speed`` is not positive, or a line is too large for Kafka.
        OSError: The file cannot be read.
        DeliveryError, KafkaUnavailableError: From the publisher.
    """
    if speed is not None and not speed > 0:  # also rejects NaN
        raise ValueError(f"replay speed must be > 0 (or None for as fast as possible): {speed}")
    lines = keyed = unkeyed = 0
    stream_time_ms: int | None = None
    with path.open("rb") as source:
        for line in source:
            lines += 1
            raw = line.removesuffix(b"\n").removesuffix(b"\r")
            if not raw.strip():
                continue
            key, timestamp_ms = record_key_and_timestamp(raw)
            if timestamp_ms is not None:
                if stream_time_ms is None:
                    stream_time_ms = timestamp_ms
                elif timestamp_ms > stream_time_ms:
                    if speed is not None:
                        _pause((timestamp_ms - stream_time_ms) / 1000 / speed, sleep)
                    stream_time_ms = timestamp_ms
            try:
                publisher.publish(raw, key=key, timestamp_ms=timestamp_ms)
            except MessageSizeTooLargeError as exc:
                raise ValueError(f"{path}:{lines}: event of {len(raw)} bytes: {exc}") from exc
            if key is None:
                unkeyed += 1
            else:
                keyed += 1
    publisher.flush()
    return ReplayStats(lines=lines, published=keyed + unkeyed, keyed=keyed, unkeyed=unkeyed)


def _pause(seconds: float, sleep: Callable[[float], None]) -> None:
    if seconds > 0:  # speed=inf gives 0: as fast as possible
        sleep(min(seconds, MAX_SLEEP_S))


def run_replay(
    path: Path,
    brokers: list[str],
    topic: str,
    speed: float | None,
    *,
    partitions: int | None = None,
    security: Mapping[str, Any] | None = None,
) -> int:
    """Replay a file for ``supportpulse replay`` and print a one-line summary.

    Args:
        path: The JSON-lines file.
        brokers: ``host:port`` bootstrap addresses.
        topic: The input topic.
        speed: None for as fast as possible; N for N times real time.
        partitions: If given, create the topic with this many partitions first when it
            does not exist (and fail if it exists with another count). Without it, a
            broker that auto-creates topics picks its own count on first publish (4 on
            the embedded broker), which the worker will then refuse.
        security: kafka-python security options.

    Returns:
        The process exit code: 0 on success, 1 on an error (printed to stderr).
    """
    if not path.is_file():
        print(f"error: no such file: {path}", file=sys.stderr)
        return 1
    started = time.monotonic()
    try:
        if partitions is not None:
            ensure_topics(brokers, {topic: partitions}, security=security)
        with EventPublisher(brokers, topic, security=security) as publisher:
            stats = replay_file(path, publisher, speed=speed)
    except (
        OSError,
        ValueError,
        KafkaUnavailableError,
        DeliveryError,
        TopicPartitionMismatchError,
    ) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    elapsed_s = time.monotonic() - started
    print(
        f"replayed {stats.published} events from {path} to {topic} at "
        f"{format_broker_url(brokers)} in {elapsed_s:.1f} s "
        f"({stats.keyed} keyed by their ticket or agent, {stats.unkeyed} without a key)"
    )
    return 0
