"""Publish raw event bytes to a Kafka topic, fast and without losing any."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Mapping
from types import TracebackType
from typing import Any, Self

from kafka import KafkaProducer
from kafka.errors import KafkaError, KafkaTimeoutError

from stream.kafka import KafkaUnavailableError, security_kwargs

__all__ = ["DeliveryError", "EventPublisher"]

log = logging.getLogger(__name__)

# Throughput without giving up safety. acks=all with idempotence: a record counts as
# sent only once every in-sync replica has it, and retries never duplicate or reorder
# it (a replay that double-published would be caught as duplicates, but it would still
# inflate support_events_consumed_total). linger_ms lets a batch fill for up to 20 ms:
# invisible next to a human-scale replay, yet it turns per-record round trips into
# batches during an as-fast-as-possible replay. batch_size 256 KiB holds a few hundred
# typical events. No compression: kafka-python's only built-in codec is gzip (lz4 and
# zstd need extra packages), and for a replay over loopback or a LAN the CPU it costs
# outweighs the bandwidth it saves.
_PRODUCER_SETTINGS: dict[str, Any] = {
    "acks": "all",
    "enable_idempotence": True,
    "linger_ms": 20,
    "batch_size": 256 * 1024,
}
# When an error is already on its way out, do not wait the full timeout to flush.
_ABORT_CLOSE_TIMEOUT_S = 2.0


class DeliveryError(RuntimeError):
    """The broker did not accept a published record (after the producer's retries)."""


class EventPublisher:
    """A Kafka producer for one topic, publishing bytes exactly as given.

    Records are sent in the background; ``publish()`` only queues one. Delivery failures
    are collected and raised by the next ``publish()`` or by ``flush()`` / ``close()``,
    so a failure is never silent and the caller never waits per record.

    Args:
        brokers: ``host:port`` bootstrap addresses.
        topic: The topic every record goes to.
        security: kafka-python security options (see ``stream.kafka.security_kwargs``).
        timeout_s: How long to wait for the cluster when connecting, for topic metadata
            when publishing, and for outstanding records when flushing.

    Raises:
        KafkaUnavailableError: No broker answered within ``timeout_s``.
    """

    def __init__(
        self,
        brokers: list[str],
        topic: str,
        *,
        security: Mapping[str, Any] | None = None,
        timeout_s: float = 30.0,
    ) -> None:
        self._brokers = brokers
        self._topic = topic
        self._timeout_s = timeout_s
        self._failure: BaseException | None = None
        self._closed = False
        timeout_ms = int(timeout_s * 1000)
        try:
            self._producer = KafkaProducer(
                bootstrap_servers=brokers,
                client_id="supportpulse-publisher",
                bootstrap_timeout_ms=timeout_ms,
                max_block_ms=timeout_ms,
                **_PRODUCER_SETTINGS,
                **security_kwargs(security),
            )
        except KafkaTimeoutError as exc:
            raise KafkaUnavailableError(
                f"cannot reach Kafka at {','.join(brokers)} within {timeout_s:g} s: {exc}"
            ) from exc

    @property
    def topic(self) -> str:
        """The topic records go to."""
        return self._topic

    def publish(self, raw: bytes, *, key: bytes | None, timestamp_ms: int | None) -> None:
        """Queue one record.

        Args:
            raw: The record value, sent unchanged.
            key: The record key (decides the partition), or None for no key.
            timestamp_ms: The record's Kafka timestamp in epoch milliseconds, or None for
                the producer's current time.

        Raises:
            DeliveryError: An earlier record failed.
            KafkaUnavailableError: No topic metadata within ``timeout_s`` (broker gone).
            kafka.errors.MessageSizeTooLargeError: ``raw`` is larger than a request may be.
        """
        self._raise_failure()
        try:
            future = self._producer.send(self._topic, value=raw, key=key, timestamp_ms=timestamp_ms)
        except KafkaTimeoutError as exc:
            raise KafkaUnavailableError(
                f"no metadata for topic {self._topic!r} from Kafka at {','.join(self._brokers)} "
                f"within {self._timeout_s:g} s: {exc}"
            ) from exc
        future.add_errback(self._record_failure)

    def flush(self) -> None:
        """Wait until every queued record is acknowledged.

        Raises:
            DeliveryError: A record failed.
            KafkaUnavailableError: Records still unacknowledged after ``timeout_s``.
        """
        try:
            self._producer.flush(timeout=self._timeout_s)
        except KafkaTimeoutError as exc:
            raise KafkaUnavailableError(
                f"Kafka at {','.join(self._brokers)} did not acknowledge the published "
                f"records within {self._timeout_s:g} s: {exc}"
            ) from exc
        self._raise_failure()

    def close(self) -> None:
        """Flush, then release the connections. Idempotent."""
        if self._closed:
            return
        self._closed = True
        try:
            self.flush()
        except BaseException:
            self._abort()
            raise
        self._producer.close(timeout=self._timeout_s)

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc_type is None:
            self.close()
            return
        # Already failing: release the producer quickly and keep the original error.
        if not self._closed:
            self._closed = True
            with contextlib.suppress(Exception):
                self._abort()

    def _abort(self) -> None:
        """Release the producer without waiting long; unacknowledged records are lost."""
        try:
            self._producer.close(timeout=_ABORT_CLOSE_TIMEOUT_S)
        except KafkaError:
            # kafka-python's close() flushes first and, when records cannot be delivered,
            # raises before stopping its I/O thread, which would then retry them for
            # minutes. Force that thread to fail the pending records and stop (private
            # API, hence the guard), then close again, which now completes.
            sender = getattr(self._producer, "_sender", None)
            if sender is not None:
                sender.force_close()
                sender.join(_ABORT_CLOSE_TIMEOUT_S)
            with contextlib.suppress(KafkaError):
                self._producer.close(timeout=_ABORT_CLOSE_TIMEOUT_S)

    def _record_failure(self, exc: BaseException) -> None:
        # Runs on the producer's I/O thread; the first failure is the informative one.
        if self._failure is None:
            self._failure = exc
            log.error("publishing to %s failed: %s", self._topic, exc)

    def _raise_failure(self) -> None:
        if self._failure is not None:
            raise DeliveryError(
                f"a record published to {self._topic!r} was not accepted: {self._failure}"
            ) from self._failure
