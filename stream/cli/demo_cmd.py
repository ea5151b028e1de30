"""`supportpulse demo`: embedded broker, a worker, an hour of backfill and live traffic.

Each part runs as its own process so Ctrl-C stops them in order (traffic, worker, broker)
and a crash of one is reported instead of hanging the others.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from stream.children import die_with_parent_hook
from stream.kafka.embedded import EmbeddedBroker

BACKFILL_S = 3 * 3600.0


def _cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "stream.cli.main", *args]


def _spawn(*args: str) -> subprocess.Popen[bytes]:
    """A child in its own session, signalled with SIGTERM if we die without cleaning up.

    Its own session means a terminal's Ctrl-C reaches only us, and we stop it in order.
    """
    return subprocess.Popen(_cli(*args), start_new_session=True,
                            preexec_fn=die_with_parent_hook(signal.SIGTERM))  # fmt: skip


def _interrupt(signum: int, _frame: object) -> None:
    raise KeyboardInterrupt(signal.Signals(signum).name)


def _ready(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as resp:
            return bool(resp.status == 200)
    except OSError:
        return False


def _stop(proc: subprocess.Popen[bytes] | None, name: str) -> None:
    if proc is None or proc.poll() is not None:
        return
    print(f"stopping {name}...", flush=True)
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def run_demo(*, web_port: int, rate: float, seed: int) -> int:
    """Run everything until Ctrl-C (or SIGTERM); returns the exit code."""
    # Explicit handlers: a shell starts background jobs with SIGINT ignored, and SIGTERM
    # would otherwise skip the clean-up below.
    signal.signal(signal.SIGINT, _interrupt)
    signal.signal(signal.SIGTERM, _interrupt)
    workdir = Path(tempfile.mkdtemp(prefix="supportpulse-demo-"))
    broker = EmbeddedBroker()
    worker: subprocess.Popen[bytes] | None = None
    traffic: subprocess.Popen[bytes] | None = None
    base = f"http://127.0.0.1:{web_port}"
    try:
        broker.start()
        print(f"embedded broker: {broker.url} (memory only: everything is lost when it stops)")
        worker = _spawn("worker", "--broker", broker.url, "--web-port", str(web_port),
                        "--clock", "wall", "--data-dir", str(workdir / "data"),
                        "--loglevel", "warning")  # fmt: skip
        deadline = time.monotonic() + 90
        while not _ready(base + "/readyz"):
            if worker.poll() is not None or time.monotonic() > deadline:
                print("the worker did not become ready", file=sys.stderr)
                return 1
            time.sleep(0.5)
        # The URLs first: the pages fill in while the history streams in (a fast worker is
        # showing numbers long before the backfill's replay has finished).
        print(
            f"\nsupportpulse demo is running:\n"
            f"  wall (TV)    {base}/wall\n"
            f"  metrics      {base}/metrics\n"
            f"  summary      {base}/api/summary\n"
            f"  staffing     {base}/api/staffing\n"
            f"  readiness    {base}/readyz\n"
            f"Backfilling the last {BACKFILL_S / 3600:g} hours, then live traffic at {rate:g} "
            "tickets/minute. Press Ctrl-C to stop.\n",
            flush=True,
        )
        history = workdir / "backfill.jsonl"
        subprocess.run(_cli("simulate", "--out", str(history), "--duration", str(BACKFILL_S),
                            "--rate", str(rate), "--seed", str(seed)), check=True)  # fmt: skip
        subprocess.run(_cli("replay", str(history), "--broker", broker.url, "--speed", "max"),
                       check=True)  # fmt: skip
        traffic = _spawn("simulate", "--broker", broker.url, "--rate", str(rate),
                         "--seed", str(seed + 1))  # fmt: skip
        print(f"backfill done; live traffic at {rate:g} tickets/minute", flush=True)
        while worker.poll() is None and traffic.poll() is None:
            time.sleep(0.5)
        print("a demo process exited unexpectedly", file=sys.stderr)
        return 1
    except KeyboardInterrupt as exc:
        print(f"\n{exc or 'Ctrl-C'}: stopping the demo", flush=True)
        return 0
    finally:
        _stop(traffic, "traffic")
        _stop(worker, "worker")
        broker.stop()
