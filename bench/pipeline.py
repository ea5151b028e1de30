"""Phase (b) and its relatives: real ``supportpulse worker`` processes, timed from outside.

A worker is observed only through its HTTP surfaces (``/api/summary`` for the accounting,
``/metrics`` once at the end) and ``/proc`` (RSS, CPU time), so what is measured is the
product as shipped: Faust, aiokafka, validation, ticket facts, every aggregate, SLA clocks,
changelog writes.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

from bench.procs import (
    BenchError,
    Summary,
    Worker,
    cpu_seconds,
    metric_sum,
    peak_rss_bytes,
    rss_bytes,
)

#: Poll the accounting this often by default. Each poll makes the worker build a snapshot on
#: its event loop (tens of ms with tens of thousands of tickets), so polls are spaced out;
#: the rate is computed between two exact counts, so the spacing costs no precision.
DEFAULT_POLL_S = 2.0
#: While the end is still far off, poll only this often (keeps the polls' cost near 1%).
LONG_POLL_S = 10.0


@dataclass
class Sample:
    """One poll of every worker: the time is the middle of the requests."""

    t: float
    consumed: int
    accounted: int
    owned: list[list[int]]
    rss: list[int]
    request_s: float


@dataclass
class PipelineRun:
    """What a run of one or more workers over ``n`` messages measured."""

    n: int
    workers: int
    samples: list[Sample]
    summaries: list[Summary]
    peak_rss: list[int]
    end_rss: list[int]
    worker_cpu_s: list[float]
    broker_cpu_s: float
    tracked: float = 0.0
    unsolved: float = 0.0
    #: Index in ``samples`` of the first poll that saw consumption, of the first where every
    #: worker owned its final share of the partitions, and of the poll that saw the end.
    i_first: int = 0
    i_stable: int = 0
    i_end: int = 0

    def _rate(self, i: int) -> float:
        a = self.samples[i]
        # The last poll before the end: an exact count at a known time, unlike the end poll,
        # which only says "finished some time since the previous poll".
        j = self.i_end - 1 if self.i_end - 1 > i else self.i_end
        b = self.samples[j]
        if b.t <= a.t:
            return float("nan")
        return (b.consumed - a.consumed) / (b.t - a.t)

    @property
    def rate(self) -> float:
        """Messages per second, first poll that saw consumption to last poll before the end.

        Both are exact counts at known times.
        """
        return self._rate(self.i_first)

    @property
    def stable_rate(self) -> float:
        """The same, from the first poll where every worker owned its final partitions."""
        return self._rate(self.i_stable)

    @property
    def elapsed_s(self) -> float:
        """First poll that saw consumption to the poll that saw everything accounted."""
        return self.samples[self.i_end].t - self.samples[self.i_first].t

    @property
    def end_resolution_s(self) -> float:
        """How much earlier than ``elapsed_s`` the end may have come (one poll interval)."""
        return self.samples[self.i_end].t - self.samples[max(self.i_end - 1, 0)].t

    @property
    def cpu_per_event_s(self) -> float:
        """Worker CPU seconds per message, from the first poll that saw consumption to the end.

        Unlike the rate, this does not drop when other processes take CPU from the worker.
        """
        return sum(self.worker_cpu_s) / max(self.n - self.c_first, 1)

    @property
    def c_first(self) -> int:
        """Messages already consumed when consumption was first seen."""
        return self.samples[self.i_first].consumed

    @property
    def rss_at_first(self) -> list[int]:
        """RSS of each worker when consumption was first seen."""
        return self.samples[self.i_first].rss

    @property
    def poll_cost(self) -> float:
        """Share of the run's wall time the workers spent answering the bench's polls."""
        busy = sum(s.request_s for s in self.samples[self.i_first : self.i_end + 1])
        return busy / max(self.elapsed_s, 1e-9)


def _poll(workers: Sequence[Worker]) -> list[Summary | None]:
    out: list[Summary | None] = []
    for w in workers:
        w.alive()
        try:
            out.append(w.summary())
        except OSError:  # web server not up yet
            out.append(None)
    return out


def measure(
    workers: Sequence[Worker],
    n: int,
    *,
    broker_pid: int,
    timeout_s: float,
    poll_s: float = DEFAULT_POLL_S,
    partitions: int = 4,
) -> PipelineRun:
    """Poll spawned workers until together they have consumed and accounted ``n`` messages.

    Args:
        workers: Already spawned (not necessarily ready); they read the topic from offset 0.
        n: Messages in the topic.
        broker_pid: For the broker's CPU time over the run.
        timeout_s: Give up (BenchError) after this long.
        poll_s: Seconds between polls near the start and the end (LONG_POLL_S between).
        partitions: Input partitions, to tell when the assignment is final.
    """
    deadline = time.monotonic() + timeout_s
    samples: list[Sample] = []
    i_first = i_stable = -1
    cpu0: list[float] = []
    broker_cpu0 = 0.0
    share = partitions // len(workers)
    while True:
        if time.monotonic() > deadline:
            raise BenchError(f"pipeline did not finish within {timeout_s:.0f} s; last sample: "
                             f"{samples[-1] if samples else None}")  # fmt: skip
        t_req = time.time()
        summaries = _poll(workers)
        t_resp = time.time()
        ready = [s for s in summaries if s is not None]
        consumed = sum(s.consumed for s in ready)
        accounted = sum(s.accounted for s in ready)
        owned = [s.owned if s is not None else [] for s in summaries]
        rss = [rss_bytes(w.pid) for w in workers]
        samples.append(Sample((t_req + t_resp) / 2, consumed, accounted, owned, rss,
                              t_resp - t_req if ready else 0.0))  # fmt: skip
        if i_first < 0 and consumed > 0:
            i_first = len(samples) - 1
            cpu0 = [cpu_seconds(w.pid) for w in workers]
            broker_cpu0 = cpu_seconds(broker_pid)
        if i_first >= 0 and i_stable < 0 and all(len(o) >= share for o in owned):
            i_stable = len(samples) - 1
        if consumed >= n and accounted >= n and len(ready) == len(workers):
            break
        interval = poll_s
        if i_first >= 0 and len(samples) - 1 > i_first:
            first = samples[i_first]
            pace = (consumed - first.consumed) / max(samples[-1].t - first.t, 1e-9)
            if pace > 0 and (n - consumed) / pace > 3 * LONG_POLL_S:
                interval = LONG_POLL_S
        time.sleep(max(0.0, interval - (time.time() - t_req)))
    run = PipelineRun(
        n=n, workers=len(workers), samples=samples,
        summaries=[s for s in summaries if s is not None],
        peak_rss=[peak_rss_bytes(w.pid) for w in workers],
        end_rss=[rss_bytes(w.pid) for w in workers],
        worker_cpu_s=[cpu_seconds(w.pid) - c for w, c in zip(workers, cpu0, strict=True)],
        broker_cpu_s=cpu_seconds(broker_pid) - broker_cpu0,
        i_first=i_first, i_stable=max(i_stable, i_first), i_end=len(samples) - 1,
    )  # fmt: skip
    for w in workers:
        text = w.metrics_text()
        run.tracked += metric_sum(text, "support_tickets_tracked")
        run.unsolved += metric_sum(text, "support_tickets_unsolved")
    return run


def wait_consumed(worker: Worker, n: int, *, timeout_s: float, poll_s: float = 1.0) -> float:
    """Wait until one worker has consumed and accounted ``n`` messages; return the wall time."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        s = worker.summary()
        if s.consumed >= n and s.accounted >= n:
            return time.time()
        time.sleep(poll_s)
    raise BenchError(f"worker {worker.app_id} did not consume {n} messages within "
                     f"{timeout_s:.0f} s (last: {worker.summary()})")  # fmt: skip
