"""The processor alone: the domain's cost without Kafka, Faust or asyncio (a diagnostic).

Timed in CPU seconds of this process (``time.process_time``), so that other processes
sharing the machine do not lower the figure, with the worker's garbage collector settings.

The same messages as (b), fed in-process to :class:`stream.processing.processor.Processor`
(configured as ``create_app`` configures it for ``--clock event`` with the shipped SLA
policies) in batches of the worker's batch size, with ``fire_deadlines`` and
``take_effects`` (changelog values built with ``to_dict``) after each batch, as
``Runtime.process_batch`` does. What (b) loses on top of this is the price of Faust,
aiokafka and the event loop. Also reports what the changelog would carry per input event
(records and orjson bytes, the wiring's codec) and the RSS the state takes in this process.
"""

from __future__ import annotations

import gc
import time
from dataclasses import dataclass

import orjson

from bench.events import Record
from bench.procs import self_rss_bytes
from stream.cli.worker_cmd import tune_gc
from stream.domain.ticket import TicketState
from stream.processing.config import ProcessorConfig
from stream.processing.messages import Message
from stream.processing.processor import Processor
from stream.wiring.app import load_policies
from stream.wiring.settings import WorkerSettings


@dataclass(frozen=True, slots=True)
class CoreRun:
    """What the in-process run measured."""

    n: int
    elapsed_s: float
    writes: int
    write_bytes: int
    encode_s: float
    tickets: int
    rss_growth: int
    #: Cyclic garbage collector: seconds spent, and collections, per generation.
    gc_s: tuple[float, float, float]
    gc_runs: tuple[int, int, int]

    @property
    def rate(self) -> float:
        """Messages per CPU second through handle + fire_deadlines + take_effects."""
        return self.n / self.elapsed_s

    @property
    def gc_share(self) -> float:
        """Share of the CPU time spent in the cyclic garbage collector."""
        return sum(self.gc_s) / self.elapsed_s

    def describe(self) -> str:
        """A few lines for the report."""
        return (
            f"  {self.n:,} messages in {self.elapsed_s:.1f} CPU s: {self.rate:,.0f} ev/s "
            f"({1e6 / self.rate:.0f} us per event)\n"
            f"  cyclic GC: {self.gc_share:.0%} of that time (gen0/1/2 collections "
            f"{self.gc_runs[0]}/{self.gc_runs[1]}/{self.gc_runs[2]}, "
            f"{self.gc_s[0]:.1f}/{self.gc_s[1]:.1f}/{self.gc_s[2]:.1f} s); it grows with the "
            f"heap (every full collection walks every ticket's objects)\n"
            f"  changelog: {self.writes / self.n:.2f} records and "
            f"{self.write_bytes / self.n:,.0f} bytes (orjson) per input event, "
            f"{self.write_bytes / max(self.writes, 1):,.0f} bytes per record; encoding "
            f"them costs {1e6 * self.encode_s / self.n:.0f} us per event (not in the rate)\n"
            f"  state: {self.tickets:,} tickets, RSS growth {self.rss_growth / 2**20:.0f} MiB "
            f"= {self.rss_growth / max(self.tickets, 1) / 1024:.1f} KiB per ticket without Faust"
        )


def config_for(topic: str, partitions: int) -> ProcessorConfig:
    """The processor configuration a default ``--clock event`` worker runs with."""
    s = WorkerSettings(input_topic=topic, partitions=partitions, clock="event")
    return ProcessorConfig(
        input_topic=s.input_topic, partitions=s.partitions,
        fcr_reopen_window_s=s.fcr_reopen_window_s, orphan_timeout_s=s.orphan_timeout_s,
        max_future_skew_s=s.max_future_skew_s, max_message_bytes=s.max_message_bytes,
        default_backlog_age_s=s.default_backlog_age_s, max_queues=s.max_queues,
        closed_retention_s=s.closed_retention_s, solved_retention_s=s.solved_retention_s,
        policies=load_policies(s.policies), clock=s.clock,
    )  # fmt: skip


def run_core(records: list[Record], *, topic: str, partitions: int, batch: int) -> CoreRun:
    """Process ``records`` in-process; return the rate and what the changelog would carry."""
    gc.collect()
    rss0 = self_rss_bytes()
    gc_s = [0.0, 0.0, 0.0]
    gc_runs = [0, 0, 0]
    gc_start = [0.0]

    def on_gc(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            gc_start[0] = time.process_time()
        else:
            gc_s[info["generation"]] += time.process_time() - gc_start[0]
            gc_runs[info["generation"]] += 1

    # The worker's collector settings (stream.cli.worker_cmd.tune_gc): at CPython's defaults
    # the collector took a third of this loop, which the worker does not pay.
    thresholds = gc.get_threshold()
    tune_gc()
    gc.callbacks.append(on_gc)
    store: dict[str, object] = {}
    proc = Processor(config_for(topic, partitions), store)
    proc.assign(range(partitions))
    offsets = [0] * partitions
    handle = proc.handle
    writes = write_bytes = 0
    encode_s = 0.0
    started = time.process_time()
    now = time.time()
    for start in range(0, len(records), batch):
        for rec in records[start : start + batch]:
            p = rec.partition
            handle(Message(topic, p, offsets[p], rec.key, rec.value, {}), now)
            offsets[p] += 1
        proc.fire_deadlines(now)
        effects = proc.take_effects()
        t = time.process_time()
        writes += len(effects.writes)
        write_bytes += sum(len(orjson.dumps(value)) for _, _, value in effects.writes
                           if value is not None)  # fmt: skip
        encode_s += time.process_time() - t
    elapsed = time.process_time() - started - encode_s
    gc.callbacks.remove(on_gc)
    gc.set_threshold(*thresholds)
    gc.unfreeze()
    tickets = sum(1 for value in store.values() if isinstance(value, TicketState))
    gc.collect()
    growth = self_rss_bytes() - rss0
    del proc, store
    gc.collect()
    return CoreRun(len(records), elapsed, writes, write_bytes, encode_s, tickets, growth,
                   (gc_s[0], gc_s[1], gc_s[2]), (gc_runs[0], gc_runs[1], gc_runs[2]))  # fmt: skip
