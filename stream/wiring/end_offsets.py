"""End offsets read from fetch responses, for brokers whose ListOffsets under-reports them.

Faust recovers a table by reading its changelog up to the end offsets that ListOffsets
returns. The embedded broker (Tansu) answers ListOffsets(latest) with the start of the last
record batch + 1, not the end of the log, so a restarted worker stopped recovering early and
lost state. A fetch response carries the true high watermark, so each partition is fetched
once from the listed offset and the larger of the two is used. Against Kafka both agree and
the check costs one short fetch per changelog partition at rebalance time.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Mapping
from typing import Any

from faust.transport.drivers.aiokafka import AIOKafkaConsumerThread
from kafka import KafkaConsumer, TopicPartition

log = logging.getLogger(__name__)

_FETCH_TIMEOUT_S = 10.0


def fetched_end_offsets(
    bootstrap_servers: list[str], listed: Mapping[Any, int], security: Mapping[str, Any]
) -> dict[Any, int]:
    """End offsets of ``listed`` partitions, corrected by a fetch's high watermark."""
    if not listed:
        return {}
    tps = {TopicPartition(tp.topic, tp.partition): tp for tp in listed}
    consumer = KafkaConsumer(bootstrap_servers=bootstrap_servers, group_id=None,
                             enable_auto_commit=False, **security)  # fmt: skip
    try:
        consumer.assign(list(tps))
        for ktp, tp in tps.items():
            consumer.seek(ktp, max(listed[tp] - 1, 0))
        deadline = time.monotonic() + _FETCH_TIMEOUT_S
        while time.monotonic() < deadline:
            consumer.poll(timeout_ms=200, max_records=1)
            if all(consumer.highwater(ktp) is not None for ktp in tps):
                break
        fixed: dict[Any, int] = {}
        for ktp, tp in tps.items():
            hw = consumer.highwater(ktp)
            fixed[tp] = max(listed[tp], hw if hw is not None else listed[tp])
            if fixed[tp] != listed[tp]:
                log.info("end offset of %s[%d] is %d (ListOffsets said %d)",
                         tp.topic, tp.partition, fixed[tp], listed[tp])  # fmt: skip
        return fixed
    finally:
        consumer.close()


def install(bootstrap_servers: list[str], security: Mapping[str, Any]) -> None:
    """Make Faust's consumer thread correct the end offsets it lists (once per process)."""
    if getattr(AIOKafkaConsumerThread, "_supportpulse_end_offsets", False):
        return
    listed_end_offsets = AIOKafkaConsumerThread._highwaters

    async def _highwaters(self: AIOKafkaConsumerThread, partitions: list[Any]) -> Any:
        listed = await listed_end_offsets(self, partitions)
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(
            None, fetched_end_offsets, bootstrap_servers, dict(listed), security
        )

    AIOKafkaConsumerThread._highwaters = _highwaters  # type: ignore[method-assign]
    AIOKafkaConsumerThread._supportpulse_end_offsets = True  # type: ignore[attr-defined]
