"""`make bench`: every figure of the performance issue, measured side by side in one run.

Phases (all on one embedded broker, each worker with a fresh ``--app-id``):

  load       generate N realistic events with the simulator, publish them once to a
             4-partition topic keyed like ``supportpulse replay``
  raw        (a) aiokafka consume + orjson decode of the whole topic
  faust      (f) Faust alone on the same topic, batches and a changelog record per key,
             nothing decoded: stock Faust, then with the worker's consumer and GC settings
  pipeline   (b) one real ``supportpulse worker --clock event`` over the whole topic
  core       diagnostic: the processor alone, in-process, on the same messages (no Faust)
  profile    py-spy on another worker reading the same topic (not timed: sampling costs)
  scaleout   two workers in one group on the same topic
  memory     a worker fed a help desk with 200,000 unsolved tickets: RSS per open ticket
  replay     worker first, then N events published as fast as possible: end to end
             (runs when N >= 1,000,000 or with --replay; otherwise projected)
  freshness  a wall-clock worker under a steady 5,000 ev/s, probes every 100 ms

Run ``python -m bench.run --help`` for the knobs; each also has a ``BENCH_*`` variable.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import math
import os
import platform
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from bench import events as ev
from bench import freshness as fr
from bench import profile as prof
from bench.core import CoreRun, run_core
from bench.pipeline import PipelineRun, measure
from bench.procs import BenchError, Reaper, Worker, cpu_seconds, rss_bytes, stop_group
from bench.raw import RawRun, consume_all
from stream.kafka.embedded import EmbeddedBroker
from stream.wiring.settings import WorkerSettings

PHASES = (
    "raw",
    "faust",
    "pipeline",
    "core",
    "profile",
    "scaleout",
    "memory",
    "replay",
    "freshness",
)

GOAL_RATE = 50_000.0
GOAL_P99_S = 1.0
GOAL_KIB_PER_OPEN = 2.0
GOAL_REPLAY_N = 1_000_000
GOAL_REPLAY_S = 60.0

KiB = 1024
MiB = 1024 * 1024


def _env(name: str, default: Any) -> Any:
    return os.environ.get(f"BENCH_{name}", default)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Flags, each defaulting to its ``BENCH_*`` environment variable."""
    p = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.split("\n")[0])
    p.add_argument(
        "--events",
        type=int,
        default=int(_env("EVENTS", 1_000_000)),
        help="events in the topic (BENCH_EVENTS, default 1000000)",
    )
    p.add_argument("--seed", type=int, default=int(_env("SEED", 42)))
    p.add_argument("--partitions", type=int, default=int(_env("PARTITIONS", 4)))
    p.add_argument(
        "--span-hours",
        type=float,
        default=float(_env("SPAN_HOURS", 24)),
        help="hours of history the events cover (BENCH_SPAN_HOURS, default 24)",
    )
    p.add_argument(
        "--phases",
        default=_env("PHASES", ",".join(PHASES)),
        help=f"comma-separated subset of {','.join(PHASES)} (BENCH_PHASES)",
    )
    p.add_argument(
        "--replay",
        choices=["auto", "yes", "no"],
        default=_env("REPLAY", "auto"),
        help="measured end-to-end replay: auto = only when events >= 1,000,000",
    )
    p.add_argument("--open-tickets", type=int, default=int(_env("OPEN_TICKETS", 200_000)))
    p.add_argument("--profile-s", type=float, default=float(_env("PROFILE_S", 30)))
    p.add_argument(
        "--core-events",
        type=int,
        default=int(_env("CORE_EVENTS", 200_000)),
        help="messages fed to the in-process processor (BENCH_CORE_EVENTS, default 200000)",
    )
    p.add_argument("--freshness-rate", type=float, default=float(_env("FRESHNESS_RATE", 5000)))
    p.add_argument("--freshness-s", type=float, default=float(_env("FRESHNESS_S", 30)))
    p.add_argument("--freshness-warmup-s", type=float, default=float(_env("FRESHNESS_WARMUP_S", 5)))
    p.add_argument("--probe-interval", type=float, default=float(_env("PROBE_INTERVAL_S", 0.1)))
    p.add_argument(
        "--poll-interval",
        type=float,
        default=float(_env("POLL_INTERVAL_S", 0.1)),
        help="freshness poller's shortest interval (it backs off to keep its cost "
        "on the worker ~10%%)",
    )
    p.add_argument(
        "--probe-endpoint",
        choices=["summary", "metrics"],
        default=_env("PROBE_ENDPOINT", "summary"),
    )
    p.add_argument("--out", type=Path, default=Path(_env("OUT", "bench/out")))
    args = p.parse_args(argv)  # fmt: skip
    args.phases = [x.strip() for x in args.phases.split(",") if x.strip()]
    unknown = set(args.phases) - set(PHASES)
    if unknown:
        p.error(f"unknown phases: {sorted(unknown)}")
    return args


# -- machine load -----------------------------------------------------------------------


def _busy_jiffies_s() -> float:
    with open("/proc/stat") as f:
        vals = [int(x) for x in f.readline().split()[1:]]
    # user nice system idle iowait irq softirq steal
    busy = vals[0] + vals[1] + vals[2] + vals[5] + vals[6] + vals[7]
    return busy / os.sysconf("SC_CLK_TCK")


class LoadMeter:
    """CPU used on this machine by processes that are not the bench's, per phase.

    Everything else shares the same cores; a busy neighbour lowers every figure.
    Ours = this process and its children (running ones from /proc, finished ones from
    ``os.times``); foreign = all busy CPU time minus ours.
    """

    def __init__(self, live_children: Callable[[], list[int]]) -> None:
        self._live = live_children
        self._start: tuple[float, float, float] = (0.0, 0.0, 0.0)

    def _ours(self) -> float:
        t = os.times()
        total = t.user + t.system + t.children_user + t.children_system
        for pid in self._live():
            with contextlib.suppress(OSError, ValueError):
                total += cpu_seconds(pid)
        return total

    def start(self) -> None:
        """Begin a phase."""
        self._start = (time.monotonic(), _busy_jiffies_s(), self._ours())

    def foreign_cores(self) -> float:
        """Average cores used by other processes since ``start``."""
        t0, busy0, ours0 = self._start
        wall = time.monotonic() - t0
        if wall <= 0:
            return 0.0
        return max(0.0, (_busy_jiffies_s() - busy0) - (self._ours() - ours0)) / wall


# -- report -----------------------------------------------------------------------------


@dataclass
class Report:
    """Figures gathered by the phases, printed as one table at the end."""

    args: argparse.Namespace
    mix: ev.Mix | None = None
    publish_s: float = 0.0
    raw: RawRun | None = None
    #: Faust alone (bench/faust_floor.py): stock, and as the worker runs it.
    faust: dict[str, float] = field(default_factory=dict)
    pipe: PipelineRun | None = None
    core: CoreRun | None = None
    scale: PipelineRun | None = None
    memory: PipelineRun | None = None
    memory_mix: ev.Mix | None = None
    idle_rss: int = 0
    replay_s: float | None = None
    replay2_s: float | None = None
    replay_n: int = 0
    fresh: list[fr.FreshnessRun] = field(default_factory=list)
    floors: dict[int, tuple[float, float]] = field(default_factory=dict)
    profile: prof.Profile | None = None
    foreign: dict[str, float] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    broker_rss: int = 0

    def to_json(self) -> dict[str, Any]:
        """The figures, for bench/out/results.json."""
        out: dict[str, Any] = {"events": self.args.events, "foreign_cores": self.foreign,
                               "errors": self.errors, "publish_s": self.publish_s}  # fmt: skip
        if self.raw:
            out["raw"] = {"rate": self.raw.rate, "elapsed_s": self.raw.elapsed_s,
                          "cpu_s": self.raw.cpu_s}  # fmt: skip
        out["faust"] = self.faust
        for name, run in (("pipeline", self.pipe), ("scaleout", self.scale),
                          ("memory", self.memory)):  # fmt: skip
            if run:
                out[name] = {
                    "rate": run.rate, "stable_rate": run.stable_rate,
                    "elapsed_s": run.elapsed_s, "peak_rss": run.peak_rss,
                    "end_rss": run.end_rss, "tracked": run.tracked, "unsolved": run.unsolved,
                    "worker_cpu_s": run.worker_cpu_s, "broker_cpu_s": run.broker_cpu_s,
                    "poll_cost": run.poll_cost,
                    "samples": [(s.t, s.consumed, s.owned, s.rss) for s in run.samples],
                }  # fmt: skip
        if self.core:
            c = self.core
            out["core"] = {"n": c.n, "rate": c.rate, "gc_share": c.gc_share, "gc_s": c.gc_s,
                           "gc_runs": c.gc_runs, "changelog_writes": c.writes,
                           "changelog_bytes": c.write_bytes, "tickets": c.tickets,
                           "rss_growth": c.rss_growth}  # fmt: skip
        out["idle_rss"] = self.idle_rss
        out["replay_s"] = self.replay_s
        out["replay2_s"] = self.replay2_s
        out["freshness"] = [
            {"rate": f.rate, "p50_upper": f.percentile(0.5, "upper"),
             "p99_upper": f.percentile(0.99, "upper"), "p50_lower": f.percentile(0.5, "lower"),
             "p99_lower": f.percentile(0.99, "lower"), "unseen": f.unseen,
             "poll_interval_s": f.poll_interval_s, "produced_rate": f.produced_rate,
             "probes": [(p.partition, p.sent, p.lower, p.upper) for p in f.measured]}
            for f in self.fresh
        ]  # fmt: skip
        out["transport_floor"] = {str(k): v for k, v in self.floors.items()}
        return out


def say(text: str = "") -> None:
    """Print progress at once (make buffers nothing)."""
    print(text, flush=True)


def _verdict(ok: bool | None) -> str:
    return "n/a" if ok is None else ("PASS" if ok else "MISS")


def _rate(x: float) -> str:
    return "-" if not math.isfinite(x) else f"{x:,.0f} ev/s"


def table(r: Report) -> str:
    """The final table: every figure, its goal, and PASS/MISS."""
    a = r.args
    rows: list[tuple[str, str, str, str]] = []
    rows.append(("events in the topic", f"{a.events:,}", "", ""))
    raw_rate = r.raw.rate if r.raw else math.nan
    b_rate = r.pipe.rate if r.pipe else math.nan
    rows.append(("(a) raw aiokafka consume + orjson decode", _rate(raw_rate), "", ""))
    rows.append(("(b) full pipeline, 1 worker", _rate(b_rate), f">= {GOAL_RATE:,.0f} ev/s",
                 _verdict(b_rate >= GOAL_RATE if r.pipe else None)))  # fmt: skip
    if r.pipe:
        cpu = r.pipe.cpu_per_event_s
        rows.append(("  (b) worker CPU per event (-> ev/s at 100% of a core)",
                     f"{cpu * 1e6:,.0f} us (-> {_rate(1 / cpu if cpu > 0 else math.nan)})",
                     "", ""))  # fmt: skip
    ratio = b_rate / raw_rate if r.pipe and r.raw else math.nan
    rows.append(("ratio b/a", f"{ratio:.3f}" if math.isfinite(ratio) else "-", "", ""))
    for variant, label in (("stock", "Faust's own consumer"),
                           ("fast", "the worker's consumer and GC settings")):  # fmt: skip
        if variant in r.faust:
            f_rate = r.faust[variant]
            rows.append((f"(f) Faust alone, no processing, {label}", _rate(f_rate), "", ""))
            if r.pipe and variant == "fast":
                rows.append(("  ratio b/f (above 1: the batch hand-off beats Faust's stream path)",
                             f"{b_rate / f_rate:.3f}", "", ""))  # fmt: skip
    if r.core:
        rows.append((f"(c) processor alone, in-process, first {r.core.n:,} (diagnostic)",
                     f"{_rate(r.core.rate)} (CPU time)", "", ""))  # fmt: skip
        if r.pipe and r.pipe.cpu_per_event_s > 0:
            share = 1 - 1 / r.core.rate / r.pipe.cpu_per_event_s
            rows.append(("  share of (b)'s CPU per event outside the processor",
                         f"~{share:.0%} (Faust, aiokafka, asyncio)", "", ""))  # fmt: skip
        rows.append(("  changelog per input event",
                     f"{r.core.writes / r.core.n:.2f} records, "
                     f"{r.core.write_bytes / r.core.n:,.0f} B", "", ""))  # fmt: skip
    if r.pipe:
        p = r.pipe
        rows.append(("peak RSS of the (b) worker (VmHWM)", f"{p.peak_rss[0] / MiB:,.0f} MiB",
                     "", ""))  # fmt: skip
        base = r.idle_rss or p.rss_at_first[0]
        grow = p.end_rss[0] - base
        rows.append(("(b) RSS growth over idle / support_tickets_tracked",
                     f"{grow / max(p.tracked, 1) / KiB:,.1f} KiB ({p.tracked:,.0f} tickets)",
                     "", ""))  # fmt: skip
        rows.append(("(b) RSS growth over idle / sum support_tickets_unsolved",
                     f"{grow / max(p.unsolved, 1) / KiB:,.1f} KiB ({p.unsolved:,.0f} open)",
                     "", ""))  # fmt: skip
    if r.memory:
        m = r.memory
        grow = m.end_rss[0] - r.idle_rss
        per = grow / max(m.unsolved, 1) / KiB
        rows.append((f"RSS per open ticket at {m.unsolved:,.0f} open",
                     f"{per:,.1f} KiB", f"<= {GOAL_KIB_PER_OPEN:g} KiB at "
                     f"{a.open_tickets:,}", _verdict(per <= GOAL_KIB_PER_OPEN)))  # fmt: skip
        peak = (m.peak_rss[0] - r.idle_rss) / max(m.unsolved, 1) / KiB
        rows.append(("  same with peak RSS (VmHWM)", f"{peak:,.1f} KiB", "", ""))
    for f in r.fresh:
        p50, p99 = f.percentile(0.5, "upper"), f.percentile(0.99, "upper")
        lo99 = f.percentile(0.99, "lower")
        verdict = "PASS" if p99 <= GOAL_P99_S else ("MISS" if lo99 > GOAL_P99_S else "UNSURE")
        goal = f"p99 <= {GOAL_P99_S:g} s" if f.rate == a.freshness_rate else "(diagnostic)"

        def sec(x: float) -> str:
            return "never" if math.isinf(x) else f"{x:.2f} s"

        rows.append((f"freshness p50 / p99 at {f.rate:,.0f} ev/s",
                     f"{sec(p50)} / {sec(p99)} (±{f.poll_interval_s:.2f} s)", goal,
                     verdict if f.rate == a.freshness_rate else ""))  # fmt: skip
    if r.scale and r.pipe:
        s = r.scale
        rows.append(("scale-out: 2 workers, 4 partitions",
                     f"{_rate(s.stable_rate)} (x{s.stable_rate / r.pipe.rate:.2f} of 1 worker)",
                     "", ""))  # fmt: skip
        rows.append(("  CPU per event, 2 workers vs 1",
                     f"{s.cpu_per_event_s * 1e6:,.0f} us vs {r.pipe.cpu_per_event_s * 1e6:,.0f} us",
                     "", ""))  # fmt: skip
    if r.replay_s is not None:
        rows.append((f"replay of {r.replay_n:,} events end to end", f"{r.replay_s:.1f} s",
                     f"1,000,000 in <= {GOAL_REPLAY_S:g} s",
                     _verdict(r.replay_s <= GOAL_REPLAY_S)
                     if r.replay_n >= GOAL_REPLAY_N else "n/a"))  # fmt: skip
        if r.replay2_s is not None:
            rows.append((f"  the same with 2 workers ({a.partitions} partitions)",
                         f"{r.replay2_s:.1f} s", "", ""))  # fmt: skip
    elif r.pipe:
        proj = GOAL_REPLAY_N / r.pipe.rate + r.publish_s * GOAL_REPLAY_N / a.events
        rows.append(("replay of 1,000,000 end to end (projected)",
                     f"~{proj:,.0f} s", f"<= {GOAL_REPLAY_S:g} s",
                     _verdict(proj <= GOAL_REPLAY_S) + " (projected)"))  # fmt: skip
    w0 = max(len(x[0]) for x in rows)
    w1 = max(len(x[1]) for x in rows)
    w2 = max(len(x[2]) for x in rows)
    lines = [f"{'figure':<{w0}}  {'measured':<{w1}}  {'goal':<{w2}}  verdict",
             "-" * (w0 + w1 + w2 + 13)]  # fmt: skip
    lines += [f"{n:<{w0}}  {v:<{w1}}  {g:<{w2}}  {d}" for n, v, g, d in rows]
    return "\n".join(lines)


# -- phases -----------------------------------------------------------------------------


class Bench:
    """The phases, sharing one broker, one topic and one reaper."""

    def __init__(self, args: argparse.Namespace, broker: EmbeddedBroker, reaper: Reaper) -> None:
        self.args = args
        self.broker = broker
        self.reaper = reaper
        self.run_id = time.strftime("%Y%m%d-%H%M%S")
        self.topic = f"bench.events-{self.run_id}"
        self.report = Report(args)
        self.out: Path = args.out
        self.meter = LoadMeter(self._live_children)
        self.records: list[ev.Record] = []

    def _live_children(self) -> list[int]:
        pids = [p.pid for p in self.reaper.live()]
        if self.broker.pid is not None and self.broker.running:
            pids.append(self.broker.pid)
        return pids

    def worker(self, name: str, topic: str | None = None, clock: str = "event") -> Worker:
        """A worker (not started) with a fresh app id."""
        return Worker(self.broker.url, topic=topic or self.topic,
                      app_id=f"bench-{self.run_id}-{name}", out_dir=self.out,
                      reaper=self.reaper, clock=clock)  # fmt: skip

    def phase(self, name: str, fn: Callable[[], None]) -> None:
        """Run one phase, recording machine load and any failure (other phases go on)."""
        if name not in self.args.phases and name != "load":
            return
        say(f"\n== {name} " + "=" * (70 - len(name)))
        self.meter.start()
        started = time.monotonic()
        try:
            fn()
        except Exception as exc:  # a failed phase is reported; the others still run
            self.report.errors[name] = str(exc)
            say(f"  FAILED: {exc}")
            if name == "load":
                raise
        finally:
            foreign = self.meter.foreign_cores()
            self.report.foreign[name] = foreign
            note = "  <- other processes were busy: figures are lower" if foreign > 0.15 else ""
            say(f"  ({time.monotonic() - started:.0f} s; other processes on this machine used "
                f"{foreign:.2f} cores on average{note})")  # fmt: skip

    def timeout_for(self, n: int) -> float:
        """Generous limit for a pipeline run over n messages (it is never the goal)."""
        return 180 + n / 1000

    # -- load

    def load(self) -> None:
        """Generate and publish the N events."""
        a = self.args
        t = time.monotonic()
        self.records, mix = ev.history(a.events, seed=a.seed, partitions=a.partitions,
                                       span_h=a.span_hours, end_before_s=time.time())  # fmt: skip
        self.report.mix = mix
        say(f"  generated in {time.monotonic() - t:.1f} s: {mix.describe()}")
        ev.create_topic(self.broker.bootstrap_servers, self.topic, a.partitions)
        self.report.publish_s = asyncio.run(
            ev.publish(self.broker.bootstrap_servers, self.topic, self.records)
        )
        say(f"  published to {self.topic} ({a.partitions} partitions, keyed by ticket id) in "
            f"{self.report.publish_s:.1f} s ({len(self.records) / self.report.publish_s:,.0f} "
            f"ev/s, aiokafka record batches)")  # fmt: skip

    # -- (a)

    def raw(self) -> None:
        """(a) raw consume + decode."""
        run = asyncio.run(consume_all(self.broker.bootstrap_servers, self.topic,
                                      self.args.partitions, self.args.events))  # fmt: skip
        self.report.raw = run
        say(f"  {run.n:,} messages ({run.bytes / MiB:.0f} MiB) in {run.elapsed_s:.2f} s: "
            f"{_rate(run.rate)}; CPU {run.cpu_s / run.elapsed_s:.0%} of a core")  # fmt: skip

    # -- (f)

    def faust(self) -> None:
        """Faust alone on the same topic: stock, then with the worker's consumer and GC."""
        for variant in ("stock", "fast"):
            result = self.out / f"faust-{variant}.json"
            result.unlink(missing_ok=True)
            app_id = f"bench-faust-{variant}-{self.run_id}"
            data = (self.out / "data" / app_id).resolve()
            data.mkdir(parents=True, exist_ok=True)
            log_path = self.out / "logs" / f"{app_id}.log"
            log_path.parent.mkdir(parents=True, exist_ok=True)
            cmd = [sys.executable, "-m", "bench.faust_floor", "--broker", self.broker.url,
                   "--topic", self.topic, "--partitions", str(self.args.partitions),
                   "--events", str(self.args.events), "--app-id", app_id,
                   "--data-dir", str(data), "--result", str(result)]  # fmt: skip
            if variant == "fast":
                cmd.append("--fast")
            with log_path.open("wb") as log:
                proc = self.reaper.add(subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT,
                                                        start_new_session=True))  # fmt: skip
            try:
                deadline = time.monotonic() + self.timeout_for(self.args.events)
                while not result.exists():
                    if proc.poll() is not None or time.monotonic() > deadline:
                        tail = log_path.read_text(errors="replace")[-1500:]
                        raise BenchError(f"Faust-alone run ({variant}) gave no result:\n{tail}")
                    time.sleep(0.2)
                time.sleep(0.1)  # the file is written in one call; let it land
                doc = orjson.loads(result.read_bytes())
            finally:
                stop_group(proc)
            rate = (doc["n"] - doc["first_batch"]) / max(doc["last_s"] - doc["first_s"], 1e-9)
            self.report.faust[variant] = rate
            say(f"  {variant}: {doc['n']:,} messages, {_rate(rate)} (first batch -> last; one "
                "changelog record per distinct key per batch, nothing decoded)")  # fmt: skip

    # -- (b)

    def pipeline(self) -> None:
        """(b) one worker over the whole topic."""
        w = self.worker("b").spawn()
        try:
            run = measure([w], self.args.events, broker_pid=self._broker_pid(),
                          timeout_s=self.timeout_for(self.args.events))  # fmt: skip
        finally:
            w.stop()
        self.report.pipe = run
        say(_describe_run(run, "worker"))

    def _broker_pid(self) -> int:
        if self.broker.pid is None:
            raise BenchError("broker not started")
        return self.broker.pid

    # -- core

    def core(self) -> None:
        """The processor alone on the first --core-events messages."""
        n = min(self.args.core_events, len(self.records))
        run = run_core(self.records[:n], topic=self.topic, partitions=self.args.partitions,
                       batch=WorkerSettings().batch_size)  # fmt: skip
        self.report.core = run
        say(run.describe())
        if self.report.pipe and self.report.pipe.cpu_per_event_s > 0:
            b_cpu = self.report.pipe.cpu_per_event_s
            say(f"  the (b) worker used {b_cpu * 1e6:,.0f} us of CPU per event: about "
                f"{1 - 1 / run.rate / b_cpu:.0%} of it went to Faust, aiokafka and the event "
                "loop (the heaps differ a little: this run holds fewer tickets)")  # fmt: skip

    # -- profile

    def profile(self) -> None:
        """py-spy on a worker reading the same topic (a separate, untimed run)."""
        if prof.py_spy() is None:
            raise BenchError("py-spy not found (make bench installs it into .venv)")
        expected = self.args.events / self.report.pipe.rate if self.report.pipe else 60.0
        duration = max(5.0, min(self.args.profile_s, expected * 0.8))
        out = self.out / "profile.txt"
        w = self.worker("profile").spawn()
        spy: list[subprocess.Popen[bytes]] = []

        def start_spy() -> None:
            proc = prof.record(w.pid, out, duration)
            if proc is not None:
                spy.append(self.reaper.add(proc))

        try:
            measure_until = time.monotonic() + self.timeout_for(self.args.events)
            while not spy and time.monotonic() < measure_until:
                try:
                    if w.summary().consumed > 0:
                        start_spy()
                except OSError:
                    pass
                time.sleep(0.2)
            if not spy:
                raise BenchError("the profiled worker never started consuming")
            spy[0].wait(timeout=duration + 60)
            consumed = w.summary().consumed
        finally:
            w.stop()
        if spy[0].returncode != 0 or not out.exists():
            raise BenchError(f"py-spy failed: {out.with_suffix('.log').read_text()[-500:]}")
        self.report.profile = prof.parse(out)
        say(f"  py-spy, {duration:.0f} s at 100 Hz on a worker reading the same topic "
            f"({consumed:,} messages consumed by then); raw stacks: {out}")  # fmt: skip
        say(prof.report(self.report.profile, top=15))

    # -- scale-out

    def scaleout(self) -> None:
        """Two workers in one group on the same topic."""
        ws = [self.worker("x2"), self.worker("x2")]
        for w in ws:
            w.spawn()
        try:
            run = measure(ws, self.args.events, broker_pid=self._broker_pid(),
                          timeout_s=self.timeout_for(self.args.events),
                          partitions=self.args.partitions)  # fmt: skip
        finally:
            for w in ws:
                w.stop()
        self.report.scale = run
        say(_describe_run(run, "workers"))
        st = run.samples[run.i_stable]
        say(
            f"  assignment final at +{st.t - run.samples[run.i_first].t:.1f} s "
            f"({st.consumed:,} consumed by then): {st.owned}; from then on "
            f"{_rate(run.stable_rate)} (this is the figure compared with one worker)"
        )

    # -- memory

    def memory(self) -> None:
        """RSS per open ticket with ``--open-tickets`` unsolved tickets."""
        a = self.args
        topic = f"bench.open-{self.run_id}"
        ev.create_topic(self.broker.bootstrap_servers, topic, a.partitions)
        w = self.worker("memory", topic=topic).spawn()
        try:
            t = time.monotonic()
            records, mix = ev.open_ticket_burst(a.open_tickets, seed=a.seed + 1,
                                                partitions=a.partitions,
                                                start_s=time.time() - 3 * 86400)  # fmt: skip
            self.report.memory_mix = mix
            say(f"  generated in {time.monotonic() - t:.1f} s: {mix.describe()}")
            w.wait_ready()
            time.sleep(2.0)  # let start-up settle before reading the idle RSS
            self.report.idle_rss = rss_bytes(w.pid)
            say(
                f"  idle worker (ready, nothing consumed): RSS {self.report.idle_rss / MiB:.0f} MiB"
            )
            asyncio.run(ev.publish(self.broker.bootstrap_servers, topic, records))
            run = measure([w], len(records), broker_pid=self._broker_pid(),
                          timeout_s=self.timeout_for(len(records)), poll_s=5.0)  # fmt: skip
        finally:
            w.stop()
        self.report.memory = run
        say(_describe_run(run, "worker"))
        grow = run.end_rss[0] - self.report.idle_rss
        say(f"  RSS {run.end_rss[0] / MiB:.0f} MiB after consuming (peak "
            f"{run.peak_rss[0] / MiB:.0f} MiB) - idle {self.report.idle_rss / MiB:.0f} MiB = "
            f"{grow / MiB:.0f} MiB for {run.unsolved:,.0f} unsolved tickets "
            f"(sum of support_tickets_unsolved; {run.tracked:,.0f} tracked): "
            f"{grow / max(run.unsolved, 1) / KiB:.1f} KiB per open ticket")  # fmt: skip

    # -- replay

    def replay(self) -> None:
        """Worker(s) first, then publish N events at full speed: end to end, 1 and 2 workers."""
        a = self.args
        if a.replay == "no" or (a.replay == "auto" and a.events < GOAL_REPLAY_N):
            say(f"  skipped ({a.events:,} < {GOAL_REPLAY_N:,} events; BENCH_REPLAY=yes runs "
                "it anyway): the table shows a projection from (b)")  # fmt: skip
            return
        self.report.replay_n = len(self.records)
        self.report.replay_s = self._replay(1)
        self.report.replay2_s = self._replay(2)

    def _replay(self, workers: int) -> float:
        a = self.args
        topic = f"bench.replay{workers}-{self.run_id}"
        ev.create_topic(self.broker.bootstrap_servers, topic, a.partitions)
        ws = [self.worker(f"replay{workers}", topic=topic).spawn() for _ in range(workers)]
        try:
            for w in ws:
                w.wait_ready()
            if workers > 1:
                time.sleep(2.0)  # the group settles: both own partitions before the clock starts
            t0 = time.time()
            pub = asyncio.run(ev.publish(self.broker.bootstrap_servers, topic, self.records))
            say(f"  {workers} worker(s): published {len(self.records):,} events in {pub:.1f} s")
            run = measure(ws, len(self.records), broker_pid=self._broker_pid(),
                          timeout_s=self.timeout_for(len(self.records)), poll_s=1.0,
                          partitions=a.partitions)  # fmt: skip
        finally:
            for w in ws:
                w.stop()
        took = run.samples[run.i_end].t - t0
        say(
            f"  {workers} worker(s): first publish to every event accounted: {took:.1f} s "
            f"(end seen to within {run.end_resolution_s:.1f} s)"
        )
        return took

    # -- freshness

    def freshness(self) -> None:
        """Freshness at the target rate, and below the worker's capacity if it is lower."""
        a = self.args
        rates = [a.freshness_rate]
        if self.report.pipe and self.report.pipe.rate < 1.25 * a.freshness_rate:
            low = max(100.0, round(self.report.pipe.rate * 0.4, -2))
            say(
                f"  (b) sustains {_rate(self.report.pipe.rate)}, below 1.25 x the target "
                f"rate: also measuring at {low:,.0f} ev/s, where the worker keeps up"
            )
            rates.append(low)
        for rate in rates:
            floor = asyncio.run(fr.transport_floor(self.broker.bootstrap_servers,
                                                   f"bench.floor-{self.run_id}-{int(rate)}",
                                                   rate=rate, partitions=a.partitions))  # fmt: skip
            self.report.floors[int(rate)] = floor
            wait_ms = WorkerSettings().fetch_max_wait_ms
            say(f"  transport floor at {rate:,.0f} ev/s (bare aiokafka consumer fetching like "
                f"the worker, fetch_max_wait_ms={wait_ms}, no processing): p50 "
                f"{floor[0] * 1000:.0f} ms, p99 {floor[1] * 1000:.0f} ms")  # fmt: skip
            run = fr.run_freshness(
                broker_url=self.broker.url, bootstrap=self.broker.bootstrap_servers,
                out_dir=self.out, reaper=self.reaper, run_id=self.run_id, rate=rate,
                duration_s=a.freshness_s, warmup_s=a.freshness_warmup_s,
                probe_interval_s=a.probe_interval, poll_interval_s=a.poll_interval,
                endpoint=a.probe_endpoint, partitions=a.partitions, seed=a.seed + 2,
            )  # fmt: skip
            self.report.fresh.append(run)
            say(f"  at {rate:,.0f} ev/s:")
            say(fr.describe(run))


def _describe_run(run: PipelineRun, noun: str) -> str:
    s = run.summaries
    dl = sum(x.dead_lettered for x in s)
    held = sum(x.held for x in s)
    elapsed = max(run.elapsed_s, 1e-9)  # a tiny run can end before a second poll
    cpu = ", ".join(f"{c / elapsed:.0%}" for c in run.worker_cpu_s)
    return (
        f"  {run.n:,} messages: {_rate(run.rate)} (first consumption seen -> last poll "
        f"before the end, exact counts); first seen -> all accounted {run.elapsed_s:.1f} s "
        f"(end seen within {run.end_resolution_s:.1f} s)\n"
        f"  applied {sum(x.applied for x in s):,}, duplicate "
        f"{sum(x.duplicate for x in s):,}, dead-lettered {dl:,}, held {held:,}\n"
        f"  {noun} CPU {cpu} of a core ({run.cpu_per_event_s * 1e6:,.0f} us per event); broker "
        f"CPU {run.broker_cpu_s / elapsed:.0%}; "
        f"answering the bench's polls took ~{run.poll_cost:.1%} of the run\n"
        f"  RSS at first consumption {_mib(run.rss_at_first)}, at the end "
        f"{_mib(run.end_rss)}, peak {_mib(run.peak_rss)}; tracked tickets "
        f"{run.tracked:,.0f}, unsolved {run.unsolved:,.0f}"
    )


def _mib(values: list[int]) -> str:
    return " + ".join(f"{v / MiB:.0f} MiB" for v in values)


def main(argv: list[str] | None = None) -> int:
    """Run every phase, print the table, write bench/out/results.json."""
    args = parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    # A SIGTERM (e.g. from a CI timeout) unwinds like Ctrl-C, so every process is stopped.
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    say(f"supportpulse bench: {args.events:,} events, {args.partitions} partitions, "
        f"{os.cpu_count()} CPUs, Python {platform.python_version()}, load average "
        f"{os.getloadavg()[0]:.2f} at start; outputs in {args.out}/")  # fmt: skip
    reaper = Reaper()
    bench: Bench | None = None
    try:
        with EmbeddedBroker() as broker:
            bench = Bench(args, broker, reaper)
            bench.phase("load", bench.load)
            bench.phase("raw", bench.raw)
            bench.phase("faust", bench.faust)
            bench.phase("pipeline", bench.pipeline)
            bench.phase("core", bench.core)
            bench.phase("profile", bench.profile)
            bench.phase("scaleout", bench.scaleout)
            bench.phase("memory", bench.memory)
            bench.phase("replay", bench.replay)
            bench.phase("freshness", bench.freshness)
            if broker.pid is not None:
                bench.report.broker_rss = rss_bytes(broker.pid)
    finally:
        reaper.stop_all()
    report = bench.report
    say("\n== results " + "=" * 62)
    say(table(report))
    busy = {k: v for k, v in report.foreign.items() if v > 0.15}
    if busy:
        say(
            "\nWARNING: other processes used CPU during "
            + ", ".join(f"{k} ({v:.2f} cores)" for k, v in busy.items())
            + ": those figures are low."
        )
    if report.errors:
        say("\nphases that failed: " + "; ".join(f"{k}: {v}" for k, v in report.errors.items()))
    if report.profile:
        say("\nwhere the (b) worker's time goes (py-spy; full list above, stacks in "
            f"{args.out}/profile.txt):")  # fmt: skip
        say(prof.report(report.profile, top=10))
    (args.out / "results.json").write_bytes(
        orjson.dumps(report.to_json(), option=orjson.OPT_INDENT_2)
    )
    say(f"\nresults: {args.out / 'results.json'}; worker logs: {args.out / 'logs'}/")
    return 1 if report.errors else 0


if __name__ == "__main__":
    sys.exit(main())
