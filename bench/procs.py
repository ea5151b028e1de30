"""Processes the bench starts: worker subprocesses, and what /proc says about them."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

_CLK_TCK = os.sysconf("SC_CLK_TCK")
_PAGE = os.sysconf("SC_PAGE_SIZE")


class BenchError(RuntimeError):
    """A phase could not be measured (a process died, a wait timed out)."""


def free_port() -> int:
    """A free TCP port on 127.0.0.1."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def http_get(url: str, timeout: float = 10.0) -> tuple[int, bytes]:
    """Status and body of a GET (an HTTP error status is returned, not raised)."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:
            return int(resp.status), resp.read()
    except urllib.error.HTTPError as exc:
        return int(exc.code), exc.read()


def wait_until(
    check: Callable[[], Any], *, timeout: float, what: str, interval: float = 0.2
) -> Any:
    """Poll ``check`` until it returns something truthy; raise BenchError on timeout."""
    deadline = time.monotonic() + timeout
    last: Exception | None = None
    while time.monotonic() < deadline:
        try:
            result = check()
            if result:
                return result
        except (OSError, ValueError) as exc:
            last = exc
        time.sleep(interval)
    raise BenchError(f"timed out after {timeout:.0f} s waiting for {what} (last error: {last!r})")


# -- /proc ------------------------------------------------------------------------------


def _status_kib(pid: int, field: str) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise BenchError(f"no {field} in /proc/{pid}/status")


def rss_bytes(pid: int) -> int:
    """Resident set size now (VmRSS)."""
    return _status_kib(pid, "VmRSS") * 1024


def peak_rss_bytes(pid: int) -> int:
    """Peak resident set size since the process started (VmHWM)."""
    return _status_kib(pid, "VmHWM") * 1024


def cpu_seconds(pid: int) -> float:
    """User + system CPU time the process has used (all its threads)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    # After the command name: state is field 3, utime 14 and stime 15 (1-based).
    return (int(fields[11]) + int(fields[12])) / _CLK_TCK


def self_rss_bytes() -> int:
    """This process's resident set size."""
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * _PAGE


# -- process groups ---------------------------------------------------------------------


def stop_group(proc: subprocess.Popen[bytes] | None, grace_s: float = 15.0) -> None:
    """SIGTERM a child's process group, SIGKILL it after ``grace_s``; never leaves it running."""
    if proc is None or proc.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=grace_s)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)


class Reaper:
    """Every child process the bench started, so that all are stopped even on failure."""

    def __init__(self) -> None:
        self._procs: list[subprocess.Popen[bytes]] = []

    def add(self, proc: subprocess.Popen[bytes]) -> subprocess.Popen[bytes]:
        """Track a started child."""
        self._procs.append(proc)
        return proc

    def live(self) -> list[subprocess.Popen[bytes]]:
        """Tracked children still running."""
        return [p for p in self._procs if p.poll() is None]

    def stop_all(self) -> None:
        """Stop every tracked child still running, newest first."""
        for proc in reversed(self._procs):
            stop_group(proc)
        self._procs.clear()


# -- workers ----------------------------------------------------------------------------


@dataclass
class Summary:
    """The accounting part of a worker's /api/summary."""

    consumed: int
    applied: int
    duplicate: int
    dead_lettered: int
    held: int
    owned: list[int]

    @property
    def accounted(self) -> int:
        """Messages that reached a final state, held ones included."""
        return self.applied + self.duplicate + self.dead_lettered + self.held


class Worker:
    """A real ``supportpulse worker`` subprocess in its own session, with its own port."""

    def __init__(
        self,
        broker_url: str,
        *,
        topic: str,
        app_id: str,
        out_dir: Path,
        reaper: Reaper,
        clock: str = "event",
        env: dict[str, str] | None = None,
    ) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.app_id = app_id
        self.log_path = out_dir / "logs" / f"worker-{app_id}-{self.port}.log"
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        data_dir = (out_dir / "data" / f"{app_id}-{self.port}").resolve()
        data_dir.mkdir(parents=True, exist_ok=True)
        self.args = [
            sys.executable, "-m", "stream.cli.main", "worker",
            "--broker", broker_url, "--web-port", str(self.port), "--clock", clock,
            "--topic", topic, "--app-id", app_id, "--data-dir", str(data_dir),
        ]  # fmt: skip
        self.env = {**os.environ, **(env or {})}
        self._reaper = reaper
        self.proc: subprocess.Popen[bytes] | None = None
        self.started_at = 0.0

    @property
    def pid(self) -> int:
        """The worker's process id (the Python interpreter itself, no shell in between)."""
        if self.proc is None:
            raise BenchError("worker not started")
        return self.proc.pid

    def spawn(self) -> Worker:
        """Start the process; do not wait for it."""
        with self.log_path.open("wb") as log:
            proc = subprocess.Popen(self.args, stdout=log, stderr=subprocess.STDOUT,
                                    env=self.env, start_new_session=True)  # fmt: skip
        self.proc = self._reaper.add(proc)
        self.started_at = time.time()
        return self

    def alive(self) -> None:
        """Raise BenchError with the log's tail if the process has exited."""
        if self.proc is None or self.proc.poll() is not None:
            raise BenchError(f"worker {self.app_id} exited; log tail:\n{self.log_tail()}")

    def ready(self) -> bool:
        """Whether /readyz answers 200."""
        self.alive()
        status, _ = http_get(self.base + "/readyz", timeout=5)
        return status == 200

    def wait_ready(self, timeout: float = 120) -> Worker:
        """Block until /readyz says ready."""
        wait_until(self.ready, timeout=timeout, what=f"worker ready (log {self.log_path})",
                   interval=0.1)  # fmt: skip
        return self

    def summary(self) -> Summary:
        """The worker's event accounting now."""
        self.alive()
        status, body = http_get(self.base + "/api/summary", timeout=30)
        if status != 200:
            raise BenchError(f"/api/summary answered {status}: {body[:200]!r}")
        doc = orjson.loads(body)
        ev = doc["events"]
        return Summary(ev["consumed"], ev["applied"], ev["duplicate"],
                       sum(ev["dead_lettered"].values()), ev["held"],
                       list(doc["owned_partitions"]))  # fmt: skip

    def metrics_text(self) -> str:
        """The /metrics exposition."""
        self.alive()
        status, body = http_get(self.base + "/metrics", timeout=60)
        if status != 200:
            raise BenchError(f"/metrics answered {status}")
        return body.decode()

    def log_tail(self, n: int = 40) -> str:
        """The end of the worker's log."""
        try:
            lines = self.log_path.read_text(errors="replace").splitlines()
        except OSError:
            return "(no log)"
        return "\n".join(lines[-n:])

    def stop(self) -> None:
        """SIGTERM the worker's group, SIGKILL after a grace period."""
        stop_group(self.proc)


def metric_sum(text: str, name: str, **labels: str) -> float:
    """Sum of the samples of ``name`` (exact sample name) whose labels include ``labels``."""
    total = 0.0
    want = [f'{k}="{val}"' for k, val in labels.items()]
    for line in text.splitlines():
        if not line.startswith(name):
            continue
        rest = line[len(name) :]
        if rest[:1] not in ("{", " "):
            continue
        if all(w in rest for w in want):
            total += float(rest.rsplit(" ", 1)[1])
    return total


_WORD = re.compile(r"[^A-Za-z0-9_.-]+")


def slug(text: str) -> str:
    """A string safe for topic names and file names."""
    return _WORD.sub("-", text).strip("-")


@contextlib.contextmanager
def running(worker: Worker) -> Iterator[Worker]:
    """A spawned worker, stopped on exit."""
    try:
        yield worker.spawn()
    finally:
        worker.stop()
