"""Whether the worker can reach the Kafka cluster, for /readyz.

aiokafka exposes no connection state or heartbeat age (aio-libs/aiokafka issues #1040 and
#1073), and what Faust's consumer thread keeps (per-partition fetch times) stops moving
when partitions are paused or when a worker owns none. So the worker asks the cluster
directly: every ``interval_s`` it sends a metadata request for its input topic (small, and
answered from the broker's own state) on a client of its own, giving each broker at most
``interval_s`` to answer. The cluster counts as unreachable once no broker has answered
for ``unreachable_after_s``: one slow answer does not flip readiness, a broker that is
down, stopped or cut off does within a few seconds.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Callable, Mapping
from typing import Any

log = logging.getLogger(__name__)


class BrokerHealth:
    """Periodic metadata requests to the cluster, and what they say about reachability.

    Args:
        bootstrap_servers: ``host:port`` bootstrap addresses.
        topic: The topic whose metadata is requested (the input topic).
        security: aiokafka TLS/SASL options (``stream.ingest.security.aiokafka_security``).
        interval_s: Time between checks, and the longest wait for one broker's answer.
        unreachable_after_s: How long without any answer makes the cluster unreachable.
        clock: Monotonic seconds (tests pass their own).
    """

    def __init__(
        self,
        bootstrap_servers: list[str],
        topic: str,
        *,
        security: Mapping[str, Any] | None = None,
        interval_s: float = 2.0,
        unreachable_after_s: float = 6.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.bootstrap_servers = bootstrap_servers
        self.topic = topic
        self.interval_s = interval_s
        self.unreachable_after_s = unreachable_after_s
        self._security = dict(security or {})
        self._clock = clock
        self._client: Any = None
        self._last_answer: float | None = None
        self._last_error = "no check yet"
        self._reported_down = False

    # -- state ---------------------------------------------------------------------------

    def reachable(self) -> bool:
        """Whether some broker answered within the last ``unreachable_after_s``."""
        age = self._age()
        return age is not None and age <= self.unreachable_after_s

    def status(self) -> dict[str, Any]:
        """The ``broker`` part of /readyz (no credentials: addresses and errors only)."""
        age = self._age()
        body: dict[str, Any] = {
            "reachable": self.reachable(),
            "last_answer_seconds_ago": None if age is None else round(age, 1),
        }
        if not body["reachable"]:
            body["problem"] = self.problem()
        return body

    def problem(self) -> str:
        """Why the cluster counts as unreachable, in one line."""
        where = ",".join(self.bootstrap_servers)
        age = self._age()
        if age is None:
            return f"no Kafka broker at {where} has answered yet (last error: {self._last_error})"
        return (f"no Kafka broker at {where} answered a metadata request for {age:.0f} s "
                f"(last error: {self._last_error})")  # fmt: skip

    def _age(self) -> float | None:
        return None if self._last_answer is None else self._clock() - self._last_answer

    # -- checking ------------------------------------------------------------------------

    async def run(self) -> None:
        """Check every ``interval_s`` until cancelled; the client is closed on the way out."""
        try:
            while True:
                started = self._clock()
                await self.check()
                await asyncio.sleep(max(0.0, self.interval_s - (self._clock() - started)))
        finally:
            await self.close()

    async def check(self) -> bool:
        """One check: True when a broker answered a metadata request for the topic."""
        from aiokafka.errors import KafkaError

        try:
            async with asyncio.timeout(self.interval_s * 2):
                await self._ask()
        except (KafkaError, OSError, TimeoutError) as exc:
            self._last_error = _describe(exc)
            if not self.reachable() and not self._reported_down:
                self._reported_down = True
                log.warning("Kafka unreachable, /readyz answers 503: %s", self.problem())
            return False
        if self._reported_down:
            self._reported_down = False
            log.info("Kafka at %s answers again", ",".join(self.bootstrap_servers))
        self._last_answer = self._clock()
        return True

    async def _ask(self) -> None:
        from aiokafka.errors import KafkaError
        from aiokafka.protocol.metadata import MetadataRequest

        client = await self._started_client()
        nodes: list[Any] = [b.nodeId for b in client.cluster.brokers()]
        random.shuffle(nodes)
        error: BaseException | None = None
        for node in nodes:  # the first answer will do: the cluster is reachable
            try:
                async with asyncio.timeout(self.interval_s):
                    await client.send(node, MetadataRequest([self.topic]))
                return
            except (KafkaError, OSError, TimeoutError) as exc:
                error = exc
        raise error if error is not None else KafkaError("no broker known")

    async def _started_client(self) -> Any:
        if self._client is not None:
            return self._client
        from aiokafka import AIOKafkaClient

        client = AIOKafkaClient(
            bootstrap_servers=self.bootstrap_servers,
            client_id="supportpulse-broker-health",
            request_timeout_ms=int(self.interval_s * 1000),
            **self._security,
        )
        try:
            await client.bootstrap()
        except BaseException:
            await _close(client)
            raise
        self._client = client
        return client

    async def close(self) -> None:
        """Release the client's connections."""
        client, self._client = self._client, None
        if client is not None:
            await _close(client)


async def _close(client: Any) -> None:
    with contextlib.suppress(Exception):
        async with asyncio.timeout(2.0):
            await client.close()


def _describe(exc: BaseException) -> str:
    if isinstance(exc, TimeoutError):
        return "no answer in time"
    return repr(exc)
