"""A real `prometheus` server for end-to-end tests: derived config, readiness, API queries."""

from __future__ import annotations

import re
import shutil
import subprocess
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import orjson
import pytest

from tests.helpers.processes import free_port, http_get, stop_group, wait_until

PROMETHEUS_DIR = Path(__file__).resolve().parents[2] / "deploy" / "prometheus"
RULES_DIR = PROMETHEUS_DIR / "rules"

# A query result: labels (with __name__ when the result keeps it) -> value.
Vector = dict[frozenset[tuple[str, str]], float]


def by(result: Vector, *keys: str) -> dict[Any, float]:
    """A query result keyed by the values of ``keys`` (one label: the bare value)."""
    out: dict[Any, float] = {}
    for labels, value in result.items():
        d = dict(labels)
        out[d[keys[0]] if len(keys) == 1 else tuple(d[k] for k in keys)] = value
    return out


def recorded_names() -> list[str]:
    """Names of every recording rule under deploy/prometheus/rules."""
    return [name for path in sorted(RULES_DIR.glob("*.yml"))
            for name in re.findall(r"^\s*- record:\s*(\S+)\s*$", path.read_text(),
                                   re.MULTILINE)]  # fmt: skip


def _replace(text: str, old: str, new: str) -> str:
    """Replace ``old`` (which must occur) so a drift in prometheus.yml fails loudly here."""
    assert old in text, f"deploy/prometheus/prometheus.yml no longer contains {old!r}"
    return text.replace(old, new)


def derive_config(target: str, interval: str = "1s") -> str:
    """deploy/prometheus/prometheus.yml scraping ``target``, with short intervals.

    Only the intervals, the target and the rule path (absolute, since the derived file lives
    elsewhere) change; the job, its labels and the rule files are the shipped ones.
    """
    text = (PROMETHEUS_DIR / "prometheus.yml").read_text()
    text = _replace(text, "scrape_interval: 15s", f"scrape_interval: {interval}")
    text = _replace(text, "evaluation_interval: 15s", f"evaluation_interval: {interval}")
    text = _replace(text, "- 127.0.0.1:6066\n", f"- {target}\n")
    return _replace(text, "- rules/*.yml\n", f"- {RULES_DIR}/*.yml\n")


def prometheus_binary() -> str:
    """Path of the `prometheus` server; fails (never skips) when it is missing."""
    binary = shutil.which("prometheus")
    if binary is None:
        pytest.fail("prometheus is not on PATH: run `make deps` (installs the Debian "
                    "package `prometheus`)", pytrace=False)  # fmt: skip
    return binary


class Prometheus:
    """A `prometheus` subprocess on 127.0.0.1 with its storage and log under ``work_dir``."""

    def __init__(self, work_dir: Path, config: str) -> None:
        binary = prometheus_binary()
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.config_path = work_dir / "prometheus.yml"
        self.config_path.write_text(config)
        self.log_path = work_dir / "prometheus.log"
        self.args = [binary, f"--config.file={self.config_path}",
                     f"--storage.tsdb.path={work_dir / 'tsdb'}",
                     f"--web.listen-address=127.0.0.1:{self.port}"]  # fmt: skip
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> Prometheus:
        """Start and wait until /-/ready answers 200."""
        with self.log_path.open("wb") as log:
            self.proc = subprocess.Popen(self.args, stdout=log, stderr=subprocess.STDOUT,
                                         start_new_session=True)  # fmt: skip
        wait_until(self.ready, timeout=30, what=f"prometheus ready (log: {self.log_path})")
        return self

    def ready(self) -> bool:
        """Whether /-/ready answers 200 (and the process is alive)."""
        if self.proc is None or self.proc.poll() is not None:
            raise AssertionError(f"prometheus exited; log:\n{self.log_tail()}")
        status, _ = http_get(self.base + "/-/ready")
        return status == 200

    def query(self, expr: str) -> Vector:
        """An instant query through /api/v1/query; the result must be a vector."""
        url = f"{self.base}/api/v1/query?{urllib.parse.urlencode({'query': expr})}"
        status, body = http_get(url)
        assert status == 200, (expr, status, body[:500])
        data = orjson.loads(body)["data"]
        assert data["resultType"] == "vector", data
        return {frozenset(s["metric"].items()): float(s["value"][1]) for s in data["result"]}

    def alerts(self) -> list[dict[str, Any]]:
        """Active alerts (pending and firing) through /api/v1/alerts."""
        status, body = http_get(f"{self.base}/api/v1/alerts")
        assert status == 200, body[:500]
        alerts: list[dict[str, Any]] = orjson.loads(body)["data"]["alerts"]
        return alerts

    def log_tail(self, n: int = 40) -> str:
        """The end of the server's log, for failure messages."""
        lines = self.log_path.read_text(errors="replace").splitlines()
        return "\n".join(lines[-n:])

    def stop(self) -> None:
        """SIGTERM, then SIGKILL after a grace period; always leaves no process."""
        stop_group(self.proc, grace_s=15)


@contextmanager
def running_prometheus(work_dir: Path, config: str) -> Iterator[Prometheus]:
    """A started Prometheus, stopped on exit even when the test fails."""
    server = Prometheus(work_dir, config)
    try:
        yield server.start()
    finally:
        server.stop()
