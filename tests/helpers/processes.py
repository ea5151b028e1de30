"""Real processes for end-to-end tests: a worker subprocess, HTTP polling, metric parsing."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import orjson
from prometheus_client.parser import text_string_to_metric_families

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def stop_group(proc: subprocess.Popen[bytes] | None, grace_s: float) -> int | None:
    """SIGTERM a process group, SIGKILL it after ``grace_s``; never leaves it running.

    Returns the exit code (None when it was never started).
    """
    if proc is None:
        return None
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=grace_s)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
    return proc.returncode


def free_port() -> int:
    """A free TCP port on 127.0.0.1."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def cli(*args: str) -> list[str]:
    """Command line of the `supportpulse` CLI in this interpreter."""
    return [sys.executable, "-m", "stream.cli.main", *args]


def run_cli(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """Run a CLI command to completion."""
    return subprocess.run(cli(*args), capture_output=True, text=True, timeout=timeout,
                          check=False)  # fmt: skip


def http_get(url: str, timeout: float = 5.0) -> tuple[int, bytes]:
    """Status and body of a GET (errors with a status are returned, not raised)."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def wait_until(check: Callable[[], Any], *, timeout: float, what: str,
               interval: float = 0.5) -> Any:  # fmt: skip
    """Poll ``check`` until it returns a truthy value; fail with ``what`` on timeout."""
    deadline = time.monotonic() + timeout
    last_error: Exception | None = None
    while time.monotonic() < deadline:
        try:
            result = check()
            if result:
                return result
        except (OSError, ValueError) as exc:
            last_error = exc
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what} (last error: "
                         f"{last_error!r})")  # fmt: skip


def parse_metrics(text: str) -> Samples:
    """Every sample of an exposition, keyed by name and label set."""
    samples: Samples = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            samples[(s.name, frozenset(s.labels.items()))] = s.value
    return samples


class Worker:
    """A `supportpulse worker` subprocess with its own web port and log file."""

    def __init__(self, broker_url: str, *, topic: str, app_id: str, log_dir: Path,
                 clock: str = "event", env: dict[str, str] | None = None,
                 policies: str | None = None) -> None:  # fmt: skip
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log_path = log_dir / f"worker-{app_id}-{self.port}.log"
        self.args = cli("worker", "--broker", broker_url, "--web-port", str(self.port),
                        "--clock", clock, "--topic", topic, "--app-id", app_id,
                        "--data-dir", str(log_dir / f"data-{self.port}"))  # fmt: skip
        if policies is not None:
            self.args += ["--policies", policies]
        self.env = {**os.environ, **(env or {})}
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> Worker:
        """Start and wait until /readyz says ready."""
        log = self.log_path.open("wb")
        self.proc = subprocess.Popen(self.args, stdout=log, stderr=subprocess.STDOUT,
                                     env=self.env, start_new_session=True)  # fmt: skip
        wait_until(self.ready, timeout=90, what=f"worker ready (log: {self.log_path})")
        return self

    def ready(self) -> bool:
        """Whether /readyz answers 200 (and the process is alive)."""
        if self.proc is None or self.proc.poll() is not None:
            raise AssertionError(f"worker exited; log:\n{self.log_tail()}")
        status, _ = http_get(self.base + "/readyz")
        return status == 200

    def json(self, path: str) -> Any:
        """GET a JSON endpoint."""
        status, body = http_get(self.base + path)
        assert status == 200, (path, status, body[:300])
        return orjson.loads(body)

    def metrics(self) -> Samples:
        """Scrape /metrics."""
        status, body = http_get(self.base + "/metrics")
        assert status == 200, body[:300]
        return parse_metrics(body.decode())

    def log_tail(self, n: int = 60) -> str:
        """The end of the worker's log, for failure messages."""
        lines = self.log_path.read_text(errors="replace").splitlines()
        return "\n".join(lines[-n:])

    def kill(self) -> None:
        """SIGKILL: no shutdown, no final commit or flush."""
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)

    def stop(self) -> None:
        """SIGTERM, then SIGKILL after a grace period; always leaves no process."""
        stop_group(self.proc, grace_s=20)


@contextmanager
def running_worker(broker_url: str, **kwargs: Any) -> Iterator[Worker]:
    """A started worker, stopped on exit even when the test fails."""
    worker = Worker(broker_url, **kwargs)
    try:
        yield worker.start()
    finally:
        worker.stop()
