"""Freshness: time from producing an event to the metrics reflecting it, under steady load.

A worker runs on the wall clock. A paced producer sends realistic simulator events at a
steady rate, each re-stamped with ``occurred_at`` = the instant it is due (so the worker
sees live traffic), and, every ``probe_interval_s``, a *probe*: a ``ticket.created`` in a
queue of its own. Probe ``k`` goes to partition ``k mod P`` (its ticket id is chosen so
that murmur2 sends it there) and to queue ``bench-probe-<partition>``. Within a partition
the worker applies messages in order, so the count of tickets created in queue
``bench-probe-p`` is a sequence number: when it reads ``c``, probes ``0..c-1`` of that
partition are visible. A poller reads those counts from the worker's snapshot (the one
``/metrics`` and ``/api/summary`` both build) and brackets each probe's visibility:

    lower = (start of the last poll that did not see it) - (produce time)
    upper = (end of the first poll that saw it) - (produce time)

The true latency lies in [lower, upper]; the bracket is one poll interval (plus a
request) wide. Produce time is taken just before the producer's ``send`` call, so it
includes the producer's own batching and the broker's append.

Standalone: ``python -m bench.freshness [--rate 5000] [--duration 30]`` starts its own
embedded broker.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import statistics
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import orjson
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from bench.events import create_topic, live_pool
from bench.procs import Reaper, Worker, cpu_seconds, metric_sum
from stream.processing.routing import entity_key, partition_for
from stream.simulate.scheduler import rfc3339_ms
from stream.wiring.settings import WorkerSettings

PROBE_QUEUE = "bench-probe-{}"
#: The poller keeps its interval at least this many times its requests' median duration,
#: so that answering it costs the worker at most about 1/POLL_COST_FACTOR of its time.
POLL_COST_FACTOR = 10.0
#: How long after the window the poller waits for the last probes.
DRAIN_S = 20.0


@dataclass
class Probe:
    """One probe event: where it went, when it was produced, when it became visible."""

    k: int
    partition: int
    seq: int
    sent: float
    measured: bool
    lower: float = math.nan
    upper: float = math.nan


@dataclass
class FreshnessRun:
    """The outcome of one freshness measurement."""

    rate: float
    duration_s: float
    endpoint: str
    probes: list[Probe]
    produced: int = 0
    produced_rate: float = 0.0
    pacer_late_max_s: float = 0.0
    poll_intervals: list[float] = field(default_factory=list)
    poll_durations: list[float] = field(default_factory=list)
    consumed_at_end: int = 0
    behind_at_end: int = 0
    worker_cpu_share: float = 0.0

    @property
    def measured(self) -> list[Probe]:
        """Probes produced inside the measurement window."""
        return [p for p in self.probes if p.measured]

    @property
    def unseen(self) -> int:
        """Measured probes never seen (counted as infinitely late in the percentiles)."""
        return sum(1 for p in self.measured if math.isnan(p.upper))

    def percentile(self, q: float, bound: str) -> float:
        """The q-quantile (0..1) of the lower or upper bound, or of their midpoint."""
        vals = []
        for p in self.measured:
            if math.isnan(p.upper):
                vals.append(math.inf)
            elif bound == "lower":
                vals.append(p.lower)
            elif bound == "upper":
                vals.append(p.upper)
            else:
                vals.append((p.lower + p.upper) / 2)
        return _quantile(vals, q)

    @property
    def poll_interval_s(self) -> float:
        """Median time between two polls."""
        return statistics.median(self.poll_intervals) if self.poll_intervals else math.nan

    @property
    def poll_request_s(self) -> float:
        """Median duration of one poll request."""
        return statistics.median(self.poll_durations) if self.poll_durations else math.nan


def _quantile(values: list[float], q: float) -> float:
    """Nearest-rank quantile (no interpolation, so p99 of 300 probes is the 297th)."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = max(1, math.ceil(q * len(ordered)))
    return ordered[rank - 1]


def probe_ticket_id(run_id: str, k: int, partition: int, partitions: int) -> str:
    """A ticket id that murmur2 sends to ``partition``."""
    salt = 0
    while True:
        tid = f"bench-probe-{run_id}-{k}-{salt}"
        if partition_for(tid, partitions) == partition:
            return tid
        salt += 1


class _Counts:
    """Reads the probe queues' created-ticket counts from the worker."""

    def __init__(self, base: str, endpoint: str, partitions: int) -> None:
        self.url = base + ("/api/summary" if endpoint == "summary" else "/metrics")
        self.endpoint = endpoint
        self.partitions = partitions

    async def read(self, session: aiohttp.ClientSession) -> tuple[list[int], int]:
        """Created count per probe queue, and messages consumed (summary only, else -1)."""
        async with session.get(self.url) as resp:
            body = await resp.read()
            if resp.status != 200:
                raise RuntimeError(f"{self.url} answered {resp.status}")
        if self.endpoint == "summary":
            doc = orjson.loads(body)
            queues = doc["queues"]
            counts = [int(queues.get(PROBE_QUEUE.format(p), {}).get("created_24h", 0))
                      for p in range(self.partitions)]  # fmt: skip
            return counts, int(doc["events"]["consumed"])
        text = body.decode()
        counts = [int(metric_sum(text, "support_tickets_created_total",
                                 queue=PROBE_QUEUE.format(p)))
                  for p in range(self.partitions)]  # fmt: skip
        return counts, int(metric_sum(text, "support_events_consumed_total"))


async def _measure(
    worker: Worker,
    bootstrap: list[str],
    topic: str,
    pool: list[dict[str, Any]],
    *,
    rate: float,
    warmup_s: float,
    duration_s: float,
    probe_interval_s: float,
    poll_interval_s: float,
    endpoint: str,
    partitions: int,
    run_id: str,
) -> FreshnessRun:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks=1, linger_ms=0)
    await producer.start()
    result = FreshnessRun(rate=rate, duration_s=duration_s, endpoint=endpoint, probes=[])
    counts_reader = _Counts(worker.base, endpoint, partitions)
    t0 = time.time() + 0.5
    window = (t0 + warmup_s, t0 + warmup_s + duration_s)
    stop_at = window[1]
    per_partition = [0] * partitions
    sent_count = 0

    async def pace() -> None:
        nonlocal sent_count
        dumps = orjson.dumps
        while True:
            now = time.time()
            if now >= stop_at:
                return
            due = min(len(pool), int((now - t0) * rate))
            if due > sent_count:
                result.pacer_late_max_s = max(result.pacer_late_max_s,
                                              now - (t0 + sent_count / rate))  # fmt: skip
            while sent_count < due:
                event = pool[sent_count]
                t_ms = round((t0 + sent_count / rate) * 1000)
                event["occurred_at"] = rfc3339_ms(t_ms)
                key = entity_key(event)
                await producer.send(topic, dumps(event), key=key.encode() if key else None,
                                    timestamp_ms=t_ms)  # fmt: skip
                sent_count += 1
            if sent_count >= len(pool):
                raise RuntimeError("the event pool ran out; raise its size")
            await asyncio.sleep(0.005)

    async def probe() -> None:
        k = 0
        while True:
            due = t0 + k * probe_interval_s
            if due >= stop_at:
                return
            await asyncio.sleep(max(0.0, due - time.time()))
            p = k % partitions
            tid = probe_ticket_id(run_id, k, p, partitions)
            now = time.time()
            event = {"event_id": f"{tid}-created", "type": "ticket.created",
                     "occurred_at": rfc3339_ms(round(now * 1000)), "ticket_id": tid,
                     "queue": PROBE_QUEUE.format(p), "priority": "normal",
                     "channel": "email", "status": "new"}  # fmt: skip
            value = orjson.dumps(event)
            sent = time.time()
            await producer.send(topic, value, key=tid.encode(), timestamp_ms=round(now * 1000))
            result.probes.append(Probe(k, p, per_partition[p], sent,
                                       window[0] <= sent < window[1]))  # fmt: skip
            per_partition[p] += 1
            k += 1

    async def poll() -> None:
        by_partition: list[list[Probe]] = [[] for _ in range(partitions)]
        seen = [0] * partitions
        prev_req = time.time()
        last_start = 0.0
        interval = poll_interval_s
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as session:
            while True:
                t_req = time.time()
                if last_start:
                    result.poll_intervals.append(t_req - last_start)
                last_start = t_req
                counts, consumed = await counts_reader.read(session)
                t_resp = time.time()
                result.poll_durations.append(t_resp - t_req)
                result.consumed_at_end = consumed
                for pr in result.probes[sum(len(b) for b in by_partition) :]:
                    by_partition[pr.partition].append(pr)
                for p in range(partitions):
                    for pr in by_partition[p][seen[p] : counts[p]]:
                        pr.lower = max(0.0, prev_req - pr.sent)
                        pr.upper = t_resp - pr.sent
                    seen[p] = max(seen[p], min(counts[p], len(by_partition[p])))
                prev_req = t_req
                done = time.time() > stop_at and all(
                    seen[p] >= len(by_partition[p]) for p in range(partitions)
                )
                if done or time.time() > stop_at + DRAIN_S:
                    return
                # Keep the polls' cost on the worker bounded (see POLL_COST_FACTOR).
                recent = result.poll_durations[-20:]
                interval = max(poll_interval_s, POLL_COST_FACTOR * statistics.median(recent))
                await asyncio.sleep(max(0.0, interval - (time.time() - t_req)))

    cpu_start = cpu_seconds(worker.pid)
    try:
        await asyncio.gather(pace(), probe(), poll())
        await producer.flush()
    finally:
        await producer.stop()
    elapsed = stop_at - t0
    result.produced = sent_count
    result.produced_rate = sent_count / elapsed
    result.worker_cpu_share = (cpu_seconds(worker.pid) - cpu_start) / (time.time() - t0)
    result.behind_at_end = sent_count + len(result.probes) - result.consumed_at_end
    return result


async def transport_floor(
    bootstrap: list[str], topic: str, *, rate: float, partitions: int = 4, duration_s: float = 8.0
) -> tuple[float, float]:
    """p50 and p99 latency of a bare aiokafka consumer fetching like the worker, at ``rate``.

    The worker fetches with ``FETCH_MAX_WAIT_MS`` (default 100; Faust alone hard-codes
    1500 in ``faust/transport/drivers/aiokafka.py``). The embedded broker holds a fetch for
    a good part of that wait even when messages arrive, so it decides the least delay any
    worker can have here. Same producer as the probe (linger 0).
    """
    create_topic(bootstrap, topic, partitions)
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks=1, linger_ms=0)
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=None,
                                fetch_max_wait_ms=WorkerSettings().fetch_max_wait_ms)  # fmt: skip
    await producer.start()
    await consumer.start()
    lat: list[float] = []
    try:
        tps = [TopicPartition(topic, p) for p in range(partitions)]
        consumer.assign(tps)
        await consumer.seek_to_end(*tps)
        t0 = time.time() + 0.2
        end = t0 + duration_s
        n = int(duration_s * rate)
        pad = "x" * 150

        async def produce() -> None:
            sent = 0
            while sent < n:
                due = min(n, int((time.time() - t0) * rate))
                while sent < due:
                    value = orjson.dumps({"sent": time.time(), "pad": pad})
                    await producer.send(topic, value, key=str(sent).encode())
                    sent += 1
                await asyncio.sleep(0.005)

        async def consume() -> None:
            got = 0
            while got < n and time.time() < end + 10:
                batches = await consumer.getmany(timeout_ms=500)
                now = time.time()
                for messages in batches.values():
                    for m in messages:
                        sent_at = orjson.loads(m.value)["sent"]
                        if sent_at >= t0 + 1.0:  # after a second of warm-up
                            lat.append(now - sent_at)
                        got += 1

        await asyncio.gather(produce(), consume())
    finally:
        await consumer.stop()
        await producer.stop()
    return _quantile(lat, 0.5), _quantile(lat, 0.99)


def run_freshness(
    *,
    broker_url: str,
    bootstrap: list[str],
    out_dir: Path,
    reaper: Reaper,
    run_id: str,
    rate: float,
    duration_s: float,
    warmup_s: float = 5.0,
    probe_interval_s: float = 0.1,
    poll_interval_s: float = 0.1,
    endpoint: str = "summary",
    partitions: int = 4,
    seed: int = 42,
) -> FreshnessRun:
    """Start a wall-clock worker on a fresh topic and measure freshness at ``rate`` ev/s."""
    tag = f"{run_id}-fresh-{int(rate)}"
    topic = f"bench.{tag}"
    create_topic(bootstrap, topic, partitions)
    worker = Worker(broker_url, topic=topic, app_id=f"bench-{tag}", out_dir=out_dir,
                    reaper=reaper, clock="wall").spawn()  # fmt: skip
    try:
        pool = list(live_pool(int(rate * (warmup_s + duration_s + 5)) + 1000, seed=seed))
        worker.wait_ready()
        return asyncio.run(_measure(
            worker, bootstrap, topic, pool, rate=rate, warmup_s=warmup_s,
            duration_s=duration_s, probe_interval_s=probe_interval_s,
            poll_interval_s=poll_interval_s, endpoint=endpoint, partitions=partitions,
            run_id=run_id,
        ))  # fmt: skip
    finally:
        worker.stop()


def describe(run: FreshnessRun) -> str:
    """A few lines for the report."""

    def ms(x: float) -> str:
        return "never" if math.isinf(x) else f"{x * 1000:,.0f} ms"

    m = run.measured
    return "\n".join([
        f"  {len(m)} probes over {run.duration_s:.0f} s (after warm-up), produced at "
        f"{run.produced_rate:,.0f} ev/s (pacer at most {run.pacer_late_max_s * 1000:.0f} ms "
        f"late); {run.unseen} never seen within {DRAIN_S:.0f} s of the end",
        f"  p50: {ms(run.percentile(0.5, 'upper'))} (bracket {ms(run.percentile(0.5, 'lower'))}"
        f" .. {ms(run.percentile(0.5, 'upper'))}, mid {ms(run.percentile(0.5, 'mid'))})",
        f"  p99: {ms(run.percentile(0.99, 'upper'))} (bracket "
        f"{ms(run.percentile(0.99, 'lower'))} .. {ms(run.percentile(0.99, 'upper'))}, mid "
        f"{ms(run.percentile(0.99, 'mid'))})",
        f"  max: {ms(run.percentile(1.0, 'upper'))}",
        f"  poller: /{'api/summary' if run.endpoint == 'summary' else 'metrics'} every "
        f"{run.poll_interval_s * 1000:.0f} ms (median; request {run.poll_request_s * 1000:.0f} "
        f"ms, so the worker spent ~{run.poll_request_s / run.poll_interval_s:.0%} of its time "
        f"answering it); resolution = one interval",
        f"  worker CPU {run.worker_cpu_share:.0%} of a core; messages not yet consumed when "
        f"the last poll ran: {run.behind_at_end:,}",
    ])  # fmt: skip


def main() -> None:
    """Standalone run with its own embedded broker."""
    from stream.kafka.embedded import EmbeddedBroker

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rate", type=float, default=5000.0)
    parser.add_argument("--duration", type=float, default=30.0)
    parser.add_argument("--warmup", type=float, default=5.0)
    parser.add_argument("--probe-interval", type=float, default=0.1)
    parser.add_argument("--poll-interval", type=float, default=0.1)
    parser.add_argument("--endpoint", choices=["summary", "metrics"], default="summary")
    parser.add_argument("--out", type=Path, default=Path("bench/out"))
    args = parser.parse_args()
    reaper = Reaper()
    try:
        with EmbeddedBroker() as broker:
            run = run_freshness(
                broker_url=broker.url, bootstrap=broker.bootstrap_servers, out_dir=args.out,
                reaper=reaper, run_id=time.strftime("%H%M%S"), rate=args.rate,
                duration_s=args.duration, warmup_s=args.warmup,
                probe_interval_s=args.probe_interval, poll_interval_s=args.poll_interval,
                endpoint=args.endpoint,
            )  # fmt: skip
            print(describe(run))
    finally:
        reaper.stop_all()


if __name__ == "__main__":
    main()
