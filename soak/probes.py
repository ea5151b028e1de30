"""What a soak or a flood samples from a running worker: RSS, accounting, lag, state size."""

from __future__ import annotations

import asyncio
import collections
import os
import time
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Any

import orjson
from kafka import KafkaConsumer, TopicPartition

from stream.processing.routing import partition_for
from stream.wiring.end_offsets import fetched_end_offsets
from tests.helpers.processes import http_get, parse_metrics

NO_LABELS: frozenset[tuple[str, str]] = frozenset()
MIB = 1024 * 1024


def proc_status(pid: int) -> dict[str, int]:
    """``VmRSS`` and ``VmHWM`` of a process, in bytes (from /proc/PID/status)."""
    out: dict[str, int] = {}
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            name, _, rest = line.partition(":")
            if name in ("VmRSS", "VmHWM"):
                out[name] = int(rest.split()[0]) * 1024
    return out


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used so far (from /proc/PID/stat)."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_bytes(pid: int) -> int:
    """Resident set size of a process, in bytes."""
    return proc_status(pid)["VmRSS"]


def input_end_offset(bootstrap: list[str], topic: str) -> int:
    """Messages ever written to ``topic`` (sum of its partitions' end offsets).

    ListOffsets of the embedded broker under-reports the end of a partition, so each end
    is corrected by a fetch's high watermark (``stream.wiring.end_offsets``).
    """
    consumer = KafkaConsumer(bootstrap_servers=bootstrap)
    try:
        parts = consumer.partitions_for_topic(topic) or set()
        tps = [TopicPartition(topic, p) for p in sorted(parts)]
        listed = consumer.end_offsets(tps) if tps else {}
    finally:
        consumer.close()
    return sum(fetched_end_offsets(bootstrap, listed, {}).values())


@dataclass
class Sample:
    """One look at a worker."""

    t_s: float  # seconds since the run started
    rss_mib: float
    consumed: int
    accounted: int  # applied + duplicate + dead-lettered + held
    end_offset: int  # messages on the input topic
    lag: int  # end_offset - consumed
    tracked: int  # support_tickets_tracked
    unsolved: int
    held: int
    stream_time_s: float  # the processing clock (stream time with --clock event)

    def as_dict(self) -> dict[str, Any]:
        """For JSON output."""
        return asdict(self)


def sample(base_url: str, pid: int, bootstrap: list[str], topic: str, t0: float) -> Sample:
    """Read the worker's RSS, /api/summary and /metrics, and the topic's end offset."""
    end = input_end_offset(bootstrap, topic)
    status, body = http_get(base_url + "/api/summary", timeout=30)
    assert status == 200, body[:200]
    summary = orjson.loads(body)
    ev = summary["events"]
    status, text = http_get(base_url + "/metrics", timeout=30)
    assert status == 200, text[:200]
    m = parse_metrics(text.decode())
    unsolved = sum(v for (name, _), v in m.items() if name == "support_tickets_unsolved")
    accounted = ev["applied"] + ev["duplicate"] + sum(ev["dead_lettered"].values()) + ev["held"]
    return Sample(
        t_s=round(time.monotonic() - t0, 1),
        rss_mib=round(rss_bytes(pid) / MIB, 1),
        consumed=ev["consumed"],
        accounted=accounted,
        end_offset=end,
        lag=max(0, end - ev["consumed"]),
        tracked=int(m[("support_tickets_tracked", NO_LABELS)]),
        unsolved=int(unsolved),
        held=ev["held"],
        stream_time_s=float(summary["processing_clock_seconds"]),
    )


def publish_keyed(
    bootstrap: list[str], topic: str, partitions: int, records: Iterable[tuple[bytes, bytes]]
) -> float:
    """Publish ``(key, value)`` records fast; return the seconds it took.

    Each record goes to the partition murmur2 gives its key (as the worker expects, so
    nothing is re-keyed), in aiokafka record batches filled directly: several times
    faster than one ``send`` per record, which matters on a 2-core machine where the
    publisher competes with the worker it feeds. Order within a partition is kept.
    """
    by_partition: dict[int, list[tuple[bytes, bytes]]] = collections.defaultdict(list)
    for key, value in records:
        by_partition[partition_for(key.decode(), partitions)].append((key, value))
    return asyncio.run(_publish(bootstrap, topic, by_partition))


async def _publish(
    bootstrap: list[str], topic: str, by_partition: dict[int, list[tuple[bytes, bytes]]]
) -> float:
    from aiokafka import AIOKafkaProducer

    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap,
        acks="all",
        linger_ms=0,
        max_batch_size=512 * 1024,
        max_request_size=1024 * 1024,
    )
    await producer.start()
    started = time.monotonic()
    try:
        await asyncio.gather(
            *(_publish_partition(producer, topic, p, recs) for p, recs in by_partition.items())
        )
        await producer.flush()
    finally:
        await producer.stop()
    return time.monotonic() - started


async def _publish_partition(
    producer: Any, topic: str, partition: int, records: list[tuple[bytes, bytes]]
) -> None:
    futures = []
    batch = producer.create_batch()
    for key, value in records:
        if batch.append(key=key, value=value, timestamp=None) is None:
            futures.append(await producer.send_batch(batch, topic, partition=partition))
            batch = producer.create_batch()
            if batch.append(key=key, value=value, timestamp=None) is None:
                raise ValueError(f"a record of {len(value)} bytes does not fit a batch")
    if batch.record_count():
        futures.append(await producer.send_batch(batch, topic, partition=partition))
    for fut in futures:
        await fut
