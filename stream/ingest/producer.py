"""The ingest endpoint's Kafka side: one aiokafka producer, its connection state, bounded acks."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError

__all__ = ["BrokerUnavailable", "Delivered", "IngestProducer"]

log = logging.getLogger(__name__)

# acks=all: a record counts as accepted only once every in-sync replica has it. Not
# idempotent: aiokafka 0.14 sends InitProducerId v0 only, which the embedded broker (Tansu)
# answers with UnknownError. Order holds anyway (aiokafka keeps one request in flight per
# broker and mutes a partition while its batch is in flight); a retry after a lost ack
# may write a record twice, which the worker counts as a duplicate `event_id`. A request's
# events are sent back to back, so they batch by themselves without lingering.
_PRODUCER_SETTINGS: dict[str, Any] = {
    "acks": "all",
    "enable_idempotence": False,
    "max_batch_size": 256 * 1024,
    "client_id": "supportpulse-ingest",
}
_RECONNECT_MIN_S = 0.5
_RECONNECT_MAX_S = 5.0


class BrokerUnavailable(RuntimeError):
    """The broker did not acknowledge the request's events (HTTP 503, retry later)."""


@dataclass(frozen=True, slots=True)
class Delivered:
    """Where the broker stored one record."""

    partition: int
    offset: int


class IngestProducer:
    """An aiokafka producer for one topic that connects, and reconnects, in the background.

    The HTTP server starts whether or not the broker is up, so that an orchestrator sees
    it alive (``/healthz``) but not ready (``/readyz``) and clients get a clear 503 instead
    of a refused connection. A background task bootstraps the producer, retrying with
    backoff, then probes the broker with a metadata request every ``probe_interval_s``;
    ``ready`` follows the last attempt.

    Args:
        brokers: ``host:port`` bootstrap addresses.
        topic: Where every record goes.
        security: aiokafka TLS/SASL options (``stream.ingest.security.aiokafka_security``).
        ack_timeout_s: Longest wait for one request's acknowledgements, and for a
            connection attempt or probe. It is also the producer's request timeout, so a
            record of an answered (failed) request is not retried for long behind it.
        probe_interval_s: Time between connection probes while connected.
    """

    def __init__(
        self,
        brokers: list[str],
        topic: str,
        *,
        security: Mapping[str, Any] | None = None,
        ack_timeout_s: float = 10.0,
        probe_interval_s: float = 2.0,
    ) -> None:
        self._brokers = brokers
        self._topic = topic
        self._security = dict(security or {})
        self._ack_timeout_s = ack_timeout_s
        self._probe_interval_s = probe_interval_s
        self._producer: AIOKafkaProducer | None = None
        self._ready = False
        self._partitions: int | None = None
        self._problem = "not connected yet"
        self._task: asyncio.Task[None] | None = None

    @property
    def topic(self) -> str:
        """The topic records go to."""
        return self._topic

    @property
    def ready(self) -> bool:
        """Whether the last connection attempt or probe reached the broker and the topic."""
        return self._ready

    def status(self) -> dict[str, Any]:
        """The ``/readyz`` body: readiness, the topic and its partitions, or the problem."""
        body: dict[str, Any] = {"ready": self._ready, "topic": self._topic}
        if self._ready:
            body["partitions"] = self._partitions
        else:
            body["problem"] = self._problem
        return body

    async def start(self) -> None:
        """Start connecting in the background; returns at once."""
        self._task = asyncio.create_task(self._maintain(), name="ingest-producer")

    async def stop(self) -> None:
        """Stop the background task and the producer; waits at most ``ack_timeout_s``."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self._producer is not None:
            await self._close(self._producer)
            self._producer = None
        self._ready = False

    async def produce(self, records: Sequence[tuple[bytes | None, bytes]]) -> list[Delivered]:
        """Send ``(key, value)`` records in order and wait until the broker has them all.

        Raises:
            BrokerUnavailable: Not connected, a record failed, or not every record was
                acknowledged within ``ack_timeout_s``. Records already handed to the
                producer may still arrive; the worker counts a repeated ``event_id`` as a
                duplicate, so retrying the request is safe.
        """
        producer = self._producer
        if producer is None or not self._ready:
            raise BrokerUnavailable(f"not connected to Kafka: {self._problem}")
        try:
            async with asyncio.timeout(self._ack_timeout_s):
                futures = [await producer.send(self._topic, value=value, key=key)
                           for key, value in records]  # fmt: skip
                acks = await asyncio.gather(*futures)
        except TimeoutError as exc:
            problem = f"no acknowledgement within {self._ack_timeout_s:g} s"
            self._mark_down(problem)
            raise BrokerUnavailable(problem) from exc
        except KafkaError as exc:
            raise BrokerUnavailable(f"Kafka refused a record: {exc!r}") from exc
        return [Delivered(ack.partition, ack.offset) for ack in acks]

    async def _maintain(self) -> None:
        """Connect with backoff; once connected, probe; reconnect when the producer died."""
        backoff = _RECONNECT_MIN_S
        while True:
            if self._producer is None:
                self._producer = await self._connect()
                if self._producer is None:
                    await asyncio.sleep(backoff)
                    backoff = min(backoff * 2, _RECONNECT_MAX_S)
                    continue
                backoff = _RECONNECT_MIN_S
            else:
                await self._probe(self._producer)
            await asyncio.sleep(self._probe_interval_s)

    async def _connect(self) -> AIOKafkaProducer | None:
        timeout_ms = int(self._ack_timeout_s * 1000)
        producer = AIOKafkaProducer(bootstrap_servers=self._brokers, request_timeout_ms=timeout_ms,
                                    **_PRODUCER_SETTINGS, **self._security)  # fmt: skip
        try:
            async with asyncio.timeout(self._ack_timeout_s):
                await producer.start()
                partitions = await producer.partitions_for(self._topic)
        except (KafkaError, OSError, TimeoutError) as exc:
            await self._close(producer)
            self._mark_down(f"cannot reach Kafka at {','.join(self._brokers)}: {exc!r}")
            return None
        except asyncio.CancelledError:  # stop() while connecting: release the half-started one
            await self._close(producer)
            raise
        self._mark_up(len(partitions))
        return producer

    async def _probe(self, producer: AIOKafkaProducer) -> None:
        # aiokafka's sender task ends only on a fatal error; such a producer is replaced.
        sender_task = getattr(getattr(producer, "_sender", None), "sender_task", None)
        if sender_task is not None and sender_task.done():
            self._mark_down("the Kafka producer stopped after a fatal error; reconnecting")
            self._producer = None
            await self._close(producer)
            return
        try:
            async with asyncio.timeout(self._ack_timeout_s):
                updated = await producer.client.force_metadata_update()
        except TimeoutError:
            updated = False
        partitions = producer.client.cluster.partitions_for_topic(self._topic)
        if updated and partitions:
            self._mark_up(len(partitions))
        else:
            self._mark_down(f"Kafka at {','.join(self._brokers)} does not answer metadata requests")

    def _mark_up(self, partitions: int) -> None:
        if not self._ready:
            log.info("connected to Kafka at %s: topic %s has %d partitions",
                     ",".join(self._brokers), self._topic, partitions)  # fmt: skip
        self._ready, self._partitions = True, partitions

    def _mark_down(self, problem: str) -> None:
        # Logged on the change only: a broker that stays down would otherwise fill the log.
        if self._ready or problem != self._problem:
            log.warning("Kafka unavailable, answering 503: %s", problem)
        self._ready, self._problem = False, problem

    async def _close(self, producer: AIOKafkaProducer) -> None:
        # stop() flushes what is pending, which never ends while the broker is gone.
        with contextlib.suppress(KafkaError, OSError, TimeoutError):
            async with asyncio.timeout(self._ack_timeout_s):
                await producer.stop()
