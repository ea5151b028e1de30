"""`supportpulse demo`: zero setup, numbers move, Ctrl-C stops every process it started."""

from __future__ import annotations

import os
import signal
import subprocess
import time

import orjson

from tests.helpers.processes import cli, free_port, http_get, wait_until


def _children(pid: int) -> set[int]:
    out = subprocess.run(["ps", "-eo", "pid=,ppid="], capture_output=True, text=True,
                         check=True).stdout  # fmt: skip
    pairs = [tuple(map(int, line.split())) for line in out.splitlines() if line.strip()]
    found, frontier = set(), {pid}
    while frontier:
        frontier = {c for c, p in pairs if p in frontier} - found
        found |= frontier
    return found


def test_demo__numbers_move_and_ctrl_c_stops_everything() -> None:
    port = free_port()
    proc = subprocess.Popen([*cli("demo", "--web-port", str(port))], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, start_new_session=True)  # fmt: skip
    try:
        base = f"http://127.0.0.1:{port}"

        def summary() -> dict | None:  # type: ignore[type-arg]
            status, body = http_get(base + "/api/summary")
            return orjson.loads(body) if status == 200 else None

        def backfilled() -> dict | None:  # type: ignore[type-arg]
            s = summary()
            recent = s and sum(q["created_1h"] for q in s["queues"].values())
            return s if recent and s["events"]["applied"] > 1000 else None

        first = wait_until(backfilled, timeout=120, what="the last hour backfilled")
        assert len(first["queues"]) >= 4
        wait_until(lambda: (s := summary()) and s["events"]["consumed"]
                   > first["events"]["consumed"], timeout=60, what="live traffic")  # fmt: skip
        status, metrics = http_get(base + "/metrics")
        assert status == 200 and b"support_window_created_tickets{" in metrics
        children = _children(proc.pid)
        assert len(children) >= 3  # broker, worker, traffic
    finally:
        os.kill(proc.pid, signal.SIGINT)
        out, _ = proc.communicate(timeout=60)
    text = out.decode(errors="replace")
    assert proc.returncode == 0, text[-2000:]
    assert f"http://127.0.0.1:{port}/metrics" in text and "memory only" in text
    time.sleep(0.5)
    alive = [pid for pid in children if _running(pid)]
    assert alive == []


def _running(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/status") as f:
            return "zombie" not in f.read()
    except FileNotFoundError:
        return False
