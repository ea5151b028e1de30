"""`make bench` at a tiny scale: the harness runs, every phase it is given gives a figure.

The figures themselves are machine-dependent and belong to ``make bench`` (see
bench/README.md); this only keeps the harness from rotting: the raw consumer, both
Faust-alone runs, a real worker and the in-process processor all see all the events.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import orjson
import pytest

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(420)]

N = 60_000  # enough for a few of the bench's 2 s polls while the worker reads them


def test_bench__small_run_gives_every_figure(tmp_path: Path) -> None:
    out = tmp_path / "bench"
    proc = subprocess.run(
        [sys.executable, "-m", "bench.run", "--events", str(N), "--out", str(out),
         "--phases", "raw,faust,pipeline,core", "--core-events", str(N)],
        capture_output=True, text=True, timeout=400,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    doc = orjson.loads((out / "results.json").read_bytes())
    assert doc["errors"] == {}
    assert doc["raw"]["rate"] > 0
    assert set(doc["faust"]) == {"stock", "fast"} and min(doc["faust"].values()) > 0
    pipe = doc["pipeline"]
    assert pipe["rate"] > 0 and pipe["samples"][-1][1] == N  # every message consumed
    assert doc["core"]["n"] == N and doc["core"]["rate"] > 0
    table = proc.stdout.split("== results", 1)[1]
    for row in ("(a) raw", "(f) Faust alone", "(b) full pipeline", "ratio b/f", "(c) processor"):
        assert row in table, table
