"""Whole-queue staffing across workers: publish this worker's partials, read everyone's.

Each worker owns some input partitions, so it sees part of each queue's arrivals, handle
time and agents, and Erlang C cannot be summed in PromQL. Every worker therefore publishes
one record per owned partition (its 5-minute buckets for the trailing hour and its online
agents) to a one-partition compacted topic, and reads that topic whole with a consumer of
its own (no group: every worker gets every record). Each worker then holds the latest
record of every partition, sums them and runs Erlang C on the whole queue; all workers
export the same numbers (Prometheus takes `max by (queue)`).

This is what a Faust GlobalTable does; a plain topic and consumer are used because
faust-streaming's GlobalTable is known to stop updating on some workers when several run
(faust-streaming/faust issue #283, open), and because this keeps the record format and
its staleness rule in our hands.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import faust
import orjson

from stream.domain.policies import PolicySet
from stream.domain.staffing import PartitionActivity, QueueStaffing, StaffingConfig, plan_all
from stream.processing.processor import Processor
from stream.wiring.settings import WorkerSettings

log = logging.getLogger(__name__)

# Reuse a computed view for this long: a scrape and an /api call in the same second agree.
_VIEW_TTL_S = 1.0
_RETRY_S = 5.0


@dataclass(frozen=True, slots=True)
class StaffingView:
    """The staffing of every queue at one instant, and what it was computed from."""

    computed_at_s: float
    partitions: int
    reporting: list[int]
    stale: list[int]
    queues: dict[str, QueueStaffing] = field(default_factory=dict)

    @property
    def complete(self) -> bool:
        """Every input partition has published fresh inputs."""
        return len(self.reporting) == self.partitions


def _security(settings: WorkerSettings) -> dict[str, Any]:
    """The worker's SASL/TLS settings for an aiokafka client."""
    return settings.aiokafka_security()


class StaffingExchange:
    """Publishes this worker's partitions' staffing inputs and keeps everyone's."""

    def __init__(
        self,
        app: faust.App,
        processor: Processor,
        settings: WorkerSettings,
        config: StaffingConfig,
        policies: PolicySet,
        wall: Callable[[], float] = time.time,
    ) -> None:
        self.processor = processor
        self.settings = settings
        self.config = config
        self.policies = policies
        self.wall = wall
        self.topic = app.topic(
            settings.staffing_topic, key_type=bytes, value_type=bytes,
            key_serializer="raw", value_serializer="raw", partitions=1, compacting=True,
        )  # fmt: skip
        self.partials: dict[int, PartitionActivity] = {}
        self.known_queues: set[str] = set()
        self._view: StaffingView | None = None

    # -- publishing ------------------------------------------------------------------

    async def publish(self) -> int:
        """Send the current inputs of every owned partition; returns how many."""
        activity = self.processor.staffing_activity(self.wall())
        for act in activity:
            await self.topic.send(key=f"p{act.partition}".encode(),
                                  value=orjson.dumps(act.to_dict()))  # fmt: skip
        return len(activity)

    # -- reading ---------------------------------------------------------------------

    def receive(self, key: bytes | None, value: bytes | None) -> None:
        """Keep the latest record of a partition; a bad record is logged, never fatal."""
        if value is None:
            return
        try:
            act = PartitionActivity.from_dict(orjson.loads(value))
        except (orjson.JSONDecodeError, ValueError) as exc:
            log.warning("staffing record %r ignored: %s", key, exc)
            return
        if not 0 <= act.partition < self.settings.partitions:
            log.warning("staffing record for partition %d ignored: the input topic has %d",
                        act.partition, self.settings.partitions)  # fmt: skip
            return
        self.partials[act.partition] = act
        self.known_queues.update(act.queues)

    async def run_reader(self) -> None:
        """Read the staffing topic from its start, for ever; reconnect after broker errors."""
        from aiokafka import AIOKafkaConsumer
        from aiokafka.errors import KafkaError

        while True:
            consumer = AIOKafkaConsumer(
                self.settings.staffing_topic,
                bootstrap_servers=self.settings.bootstrap_servers,
                group_id=None, enable_auto_commit=False, auto_offset_reset="earliest",
                client_id=f"{self.settings.app_id}-staffing-reader",
                **_security(self.settings),
            )  # fmt: skip
            try:
                await consumer.start()
                while True:
                    batches = await consumer.getmany(timeout_ms=1000)
                    for records in batches.values():
                        for record in records:
                            self.receive(record.key, record.value)
            except KafkaError as exc:
                log.warning("staffing reader: %s; retrying in %.0f s", exc, _RETRY_S)
            finally:
                await consumer.stop()
            await asyncio.sleep(_RETRY_S)

    def view(self) -> StaffingView:
        """Whole-queue staffing now, from every partition's fresh inputs."""
        wall = self.wall()
        cached = self._view
        if cached is not None and 0 <= wall - self._view_at < _VIEW_TTL_S:
            return cached
        limit = self.settings.staffing_stale_after_s
        fresh = [a for a in self.partials.values() if wall - a.written_at_s <= limit]
        if self.settings.clock == "event":
            now = max((a.clock_s for a in fresh), default=0.0)
        else:
            now = wall
        self._view = StaffingView(
            computed_at_s=now,
            partitions=self.settings.partitions,
            reporting=sorted(a.partition for a in fresh),
            stale=sorted(set(self.partials) - {a.partition for a in fresh}),
            queues=plan_all(fresh, now, self.config, self.policies, known=self.known_queues),
        )
        self._view_at = wall
        return self._view

    _view_at: float = 0.0
