"""`make soak`: sustained load against one worker, sampled every few seconds.

Two kinds of load:

- ``live`` (the default): ``supportpulse simulate --broker ... --rate R`` publishes realistic
  traffic in real time for the whole run against a worker on the wall clock. Nothing ages
  out in 30 minutes (windows keep 48 h of event time, closed tickets 49 h), so memory grows
  with the tickets held; the figure to watch is RSS per tracked ticket staying level (a leak
  would make it climb) and the lag staying near zero.
- ``replay``: a multi-day history written by ``supportpulse simulate --out`` is replayed
  with ``supportpulse replay --speed N`` against a worker on the event clock, so that days
  of event time pass in minutes: windows expire, closed and solved tickets are dropped after
  retention, and RSS and ``support_tickets_tracked`` level off.

Every ``SOAK_INTERVAL_S`` the worker's RSS (``/proc/PID/status``), its accounting
(``/api/summary``), ``support_tickets_tracked`` (``/metrics``) and the input topic's end
offsets (corrected for the embedded broker, see ``soak.probes``) are sampled; at the end a
table gives RSS at start, middle and end, the largest lag and the tracked-ticket curve, and
``soak/out/soak-<time>.json`` keeps every sample. Exit code 1 when the worker died, did not
account for every message, or did not catch up at the end.

    SOAK_MINUTES=30 SOAK_RATE=300 make soak            # live (defaults)
    SOAK_MODE=replay SOAK_DAYS=20 SOAK_RATE=1 make soak  # 20 days of event time in 30 min
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

from soak.probes import Sample, rss_bytes, sample
from stream.kafka.embedded import EmbeddedBroker
from stream.kafka.topics import ensure_topics
from tests.helpers.processes import Worker, cli, stop_group

OUT = Path(__file__).parent / "out"
PARTITIONS = 4
# Retention the replay mode can shorten to what the settings allow (both at least 48 h;
# solved tickets must outlive the FCR reopen window), so that tickets leave within days.
SHORT_RETENTION = {
    "SUPPORTPULSE_FCR_REOPEN_WINDOW_S": "86400",
    "SUPPORTPULSE_SOLVED_RETENTION_S": "176400",
    "SUPPORTPULSE_CLOSED_RETENTION_S": "176400",
}


@dataclass
class SoakConfig:
    """What to run.

    ``rate`` is new tickets per minute (of wall time live, of event time in a replay);
    ``days`` is the event time a replay covers.
    """

    mode: str = "live"
    minutes: float = 30.0
    rate: float = 300.0
    days: float = 20.0
    interval_s: float = 10.0
    seed: int = 1
    worker_env: dict[str, str] = field(default_factory=dict)
    drain_timeout_s: float = 120.0


@dataclass
class SoakResult:
    """Every sample and what the run ended with."""

    config: SoakConfig
    idle_rss_mib: float = 0.0
    samples: list[Sample] = field(default_factory=list)
    published: int = 0
    tickets_created: int = 0
    first_event_s: float = 0.0  # occurred_at of a replayed history's first event
    worker_alive: bool = True
    load_exit: int | None = None
    load_output: str = ""
    worker_log: str = ""
    ok: bool = False
    problems: list[str] = field(default_factory=list)


class Sampler:
    """Samples a worker every ``interval_s`` on a thread until stopped."""

    def __init__(
        self, probe: Callable[[], Sample], interval_s: float, echo: Callable[[Sample], None] | None
    ) -> None:
        self.probe, self.interval_s, self.echo = probe, interval_s, echo
        self.samples: list[Sample] = []
        self.errors: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> None:
        """Begin sampling (the first sample at once)."""
        self._thread.start()

    def stop(self) -> None:
        """Stop after the current sample."""
        self._stop.set()
        self._thread.join(timeout=60)

    def take(self) -> Sample:
        """One sample now, recorded like the others."""
        s = self.probe()
        self.samples.append(s)
        if self.echo is not None:
            self.echo(s)
        return s

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.take()
            except (OSError, AssertionError, ValueError, KeyError) as exc:
                self.errors.append(repr(exc))
            self._stop.wait(self.interval_s)


def run_soak(
    broker_url: str,
    bootstrap: list[str],
    cfg: SoakConfig,
    work_dir: Path,
    echo: Callable[[Sample], None] | None = None,
) -> SoakResult:
    """Run one soak on a running broker; every process it starts is stopped on return."""
    work_dir.mkdir(parents=True, exist_ok=True)
    topic = f"soak-{cfg.mode}-{uuid.uuid4().hex[:8]}"
    result = SoakResult(cfg)
    history: Path | None = None
    if cfg.mode == "replay":
        history = work_dir / f"{topic}.jsonl"
        made = subprocess.run(
            cli(
                "simulate",
                "--out",
                str(history),
                "--rate",
                str(cfg.rate),
                "--duration",
                str(cfg.days * 86400),
                "--seed",
                str(cfg.seed),
            ),
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
        if made.returncode != 0:
            raise RuntimeError(f"simulate --out failed: {made.stderr}")
        result.published = sum(1 for _ in history.open("rb"))
        result.tickets_created = history.read_bytes().count(b'"type":"ticket.created"')
        with history.open("rb") as lines:
            first = orjson.loads(lines.readline())["occurred_at"]
        result.first_event_s = datetime.fromisoformat(first.replace("Z", "+00:00")).timestamp()
    ensure_topics(bootstrap, {topic: PARTITIONS})
    env = {"SUPPORTPULSE_HOUSEKEEPING_INTERVAL_S": "1", **cfg.worker_env}
    if cfg.mode == "replay":
        env = {"SUPPORTPULSE_PURGE_INTERVAL_S": "2", "SUPPORTPULSE_ORPHAN_TIMEOUT_S": "5", **env}
    worker = Worker(
        broker_url,
        topic=topic,
        app_id=f"sp-{topic}",
        log_dir=work_dir,
        clock="event" if cfg.mode == "replay" else "wall",
        env=env,
    )
    load: subprocess.Popen[bytes] | None = None
    sampler: Sampler | None = None
    load_log = work_dir / f"{topic}-load.log"
    try:
        worker.start()
        assert worker.proc is not None
        pid = worker.proc.pid
        time.sleep(2)
        result.idle_rss_mib = round(rss_bytes(pid) / 2**20, 1)
        t0 = time.monotonic()
        sampler = Sampler(
            lambda: sample(worker.base, pid, bootstrap, topic, t0), cfg.interval_s, echo
        )
        if history is not None:
            speed = cfg.days * 86400 / (cfg.minutes * 60)
            args = cli(
                "replay",
                str(history),
                "--broker",
                broker_url,
                "--topic",
                topic,
                "--speed",
                f"{speed:.3f}",
            )
        else:
            args = cli(
                "simulate",
                "--broker",
                broker_url,
                "--topic",
                topic,
                "--rate",
                str(cfg.rate),
                "--duration",
                str(cfg.minutes * 60),
                "--seed",
                str(cfg.seed),
            )
        with load_log.open("wb") as out:
            load = subprocess.Popen(
                args, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
            )
        sampler.start()
        deadline = t0 + cfg.minutes * 60 + 300  # the load ends by itself; this is a guard
        while load.poll() is None and time.monotonic() < deadline:
            if worker.proc.poll() is not None:
                break
            time.sleep(1)
        result.load_exit = load.poll()
        result.load_output = load_log.read_text(errors="replace")[-2000:]
        if history is None and "published" in result.load_output:
            result.published = int(result.load_output.rsplit("published ", 1)[1].split()[0])
        # Let the worker catch up with everything published, then one last sample.
        end = time.monotonic() + cfg.drain_timeout_s
        while time.monotonic() < end and worker.proc.poll() is None:
            last = sampler.samples[-1] if sampler.samples else None
            if last is not None and last.lag == 0 and last.consumed >= result.published > 0:
                break
            time.sleep(1)
        sampler.stop()
        if worker.proc.poll() is None:
            sampler.take()
        result.samples = sampler.samples
        result.worker_alive = worker.proc.poll() is None
        if sampler.errors:
            result.problems.append(f"{len(sampler.errors)} failed samples: {sampler.errors[:3]}")
    finally:
        if sampler is not None:
            sampler.stop()
        stop_group(load, grace_s=10)
        worker.stop()
        if worker.log_path.exists():
            result.worker_log = worker.log_path.read_text(errors="replace")[-5000:]
    _judge(result)
    return result


def _judge(result: SoakResult) -> None:
    """Set ``ok`` and say what went wrong."""
    if not result.worker_alive:
        result.problems.append("the worker died")
    if result.load_exit not in (0, None):
        result.problems.append(f"the load generator exited with {result.load_exit}")
    if not result.samples:
        result.problems.append("no samples")
    else:
        last = result.samples[-1]
        if last.consumed != result.published:
            result.problems.append(f"consumed {last.consumed} of {result.published} published")
        if last.accounted != last.consumed:
            result.problems.append(f"accounted {last.accounted} of {last.consumed} consumed")
    result.ok = not result.problems


def _at(samples: list[Sample], fraction: float) -> Sample:
    return samples[min(len(samples) - 1, round(fraction * (len(samples) - 1)))]


def report(result: SoakResult) -> str:
    """The table `make soak` prints."""
    cfg, s = result.config, result.samples
    if not s:
        return "no samples"
    lines = [
        f"soak ({cfg.mode}): {cfg.minutes:g} min, rate {cfg.rate:g} tickets/min"
        + (f", {cfg.days:g} days of event time" if cfg.mode == "replay" else "")
        + f", {result.published} messages, sampled every {cfg.interval_s:g} s"
    ]
    start, middle, end = s[0], _at(s, 0.5), s[-1]
    lines.append(
        f"RSS MiB: idle {result.idle_rss_mib}, start {start.rss_mib}, "
        f"middle {middle.rss_mib}, end {end.rss_mib}, max "
        f"{max(x.rss_mib for x in s)}"
    )
    grown = [
        (x.rss_mib - result.idle_rss_mib) * 1024 / x.tracked for x in (middle, end) if x.tracked
    ]
    if len(grown) == 2:
        lines.append(
            f"RSS above idle per tracked ticket: middle {grown[0]:.1f} KiB, end {grown[1]:.1f} KiB"
        )
    worst = max(s, key=lambda x: x.lag)
    lines.append(
        f"lag (messages on the topic not yet consumed): max {worst.lag} at "
        f"{worst.t_s:.0f} s, end {end.lag}; mean "
        f"{sum(x.lag for x in s) / len(s):.0f}"
    )
    lines.append(
        f"tracked tickets: start {start.tracked}, middle {middle.tracked}, end "
        f"{end.tracked}, max {max(x.tracked for x in s)}"
        + (f" (of {result.tickets_created} created)" if result.tickets_created else "")
    )
    lines.append("")
    lines.append(
        f"{'t (s)':>7} {'event time':>16} {'RSS MiB':>8} {'tracked':>8} "
        f"{'unsolved':>8} {'held':>5} {'consumed':>9} {'lag':>6}"
    )
    rows = 12
    for i in range(rows + 1):
        x = _at(s, i / rows)
        when = datetime.fromtimestamp(x.stream_time_s, UTC).strftime("%m-%d %H:%M")
        lines.append(
            f"{x.t_s:7.0f} {when:>16} {x.rss_mib:8.1f} {x.tracked:8d} "
            f"{x.unsolved:8d} {x.held:5d} {x.consumed:9d} {x.lag:6d}"
        )
    lines.append("")
    lines.append("OK" if result.ok else "FAILED: " + "; ".join(result.problems))
    return "\n".join(lines)


def config_from(argv: list[str] | None = None) -> SoakConfig:
    """Flags, defaulting to the SOAK_* environment, defaulting to the class defaults."""
    d = SoakConfig()
    env = os.environ.get
    p = argparse.ArgumentParser(
        prog="python -m soak.run",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--mode", choices=["live", "replay"], default=env("SOAK_MODE", d.mode))
    p.add_argument("--minutes", type=float, default=float(env("SOAK_MINUTES", d.minutes)))
    p.add_argument(
        "--rate",
        type=float,
        default=None,
        help="tickets per minute (live default 300; replay default 1, per minute of event time)",
    )
    p.add_argument("--days", type=float, default=float(env("SOAK_DAYS", d.days)))
    p.add_argument("--interval", type=float, default=float(env("SOAK_INTERVAL_S", d.interval_s)))
    p.add_argument("--seed", type=int, default=int(env("SOAK_SEED", d.seed)))
    p.add_argument(
        "--short-retention",
        action="store_true",
        default=env("SOAK_SHORT_RETENTION", "") == "1",
        help="replay: solved and closed tickets leave after 49 h (the minimum)",
    )
    a = p.parse_args(argv)
    rate = a.rate if a.rate is not None else env("SOAK_RATE")
    default_rate = d.rate if a.mode == "live" else 1.0
    return SoakConfig(
        mode=a.mode,
        minutes=a.minutes,
        rate=float(rate) if rate is not None else default_rate,
        days=a.days,
        interval_s=a.interval,
        seed=a.seed,
        worker_env=dict(SHORT_RETENTION) if a.short_retention else {},
    )


def main(argv: list[str] | None = None) -> int:
    """Start a broker, run the soak, print the table, write the samples."""
    cfg = config_from(argv)
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    work = OUT / f"soak-{stamp}"

    def echo(x: Sample) -> None:
        print(
            f"  {x.t_s:6.0f} s  RSS {x.rss_mib:7.1f} MiB  tracked {x.tracked:7d}  "
            f"consumed {x.consumed:9d}  lag {x.lag:6d}",
            flush=True,
        )

    print(f"soak: {cfg}; files in {work}", flush=True)
    with EmbeddedBroker() as broker:
        result = run_soak(broker.url, broker.bootstrap_servers, cfg, work, echo)
    text = report(result)
    print(text)
    doc: dict[str, Any] = {
        "config": cfg.__dict__,
        "idle_rss_mib": result.idle_rss_mib,
        "published": result.published,
        "ok": result.ok,
        "problems": result.problems,
        "samples": [x.as_dict() for x in result.samples],
    }
    (OUT / f"soak-{stamp}.json").write_bytes(orjson.dumps(doc, option=orjson.OPT_INDENT_2))
    (OUT / f"soak-{stamp}.txt").write_text(text + "\n")
    if not result.ok:
        print(result.worker_log[-3000:], file=sys.stderr)
    return 0 if result.ok else 1


if __name__ == "__main__":
    sys.exit(main())
