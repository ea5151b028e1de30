"""End to end: every query of every generated Grafana dashboard has data in a real Prometheus.

A worker (``--clock wall``, the shipped SLA policies) reads two hours of simulated history
(``supportpulse simulate --out``: tickets in five queues, replies, solves, interactions,
CSAT, NPS, agent presence, SLA clocks) plus a few bad messages for the dead-letter panels,
while a real Prometheus runs the shipped configuration and rules (1 s intervals). The
history goes in two parts, the older first, so every counter moves while Prometheus
watches: `increase()`, `rate()`, the SLA error ratios and SupportSLABreached (the alert
annotation) need that.

Then each target of each committed dashboard (deploy/grafana/dashboards/*.json), with
Grafana's variables replaced by concrete values, is sent to the Prometheus HTTP API the way
Grafana would send it (instant or range query): it must be valid and return at least one
series with a finite value. The wall's stat panels must return one series per queue,
labelled by `queue` alone. No Grafana runs here: what is proved is the PromQL, the
recording rules it names and the data behind them, not Grafana's rendering.
"""

from __future__ import annotations

import itertools
import json
import math
import re
import time
import urllib.parse
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pytest

from stream.kafka.embedded import EmbeddedBroker
from tests.helpers.processes import Worker, http_get, run_cli, running_worker, wait_until
from tests.helpers.prometheus import (
    Prometheus,
    derive_config,
    prometheus_binary,
    running_prometheus,
)

ROOT = Path(__file__).resolve().parents[2]
DASHBOARDS_DIR = ROOT / "deploy" / "grafana" / "dashboards"
HISTORY_S = 7200
#: Events newer than this many seconds before now are replayed second, while watched.
SECOND_PART_S = 1800
#: Grafana's built-in variables, as Grafana would expand them for the test's short data:
#: $__rate_interval is at least four scrape intervals, $__range the time range.
BUILTINS = {"$__rate_interval": "1m", "$__interval": "15s", "$__range": "10m"}
RANGE_S = 300  # range queries cover the last five minutes (Prometheus has less)
#: A line that is not JSON, a ticket.created without its fields, an unknown type.
BAD_LINES = [
    b"not json\n",
    b'{"event_id": "bad-1", "type": "ticket.created", "occurred_at": "2026-03-02T09:00:00Z"}\n',
    b'{"event_id": "bad-2", "type": "ticket.teleported", "ticket_id": "x",'
    b' "occurred_at": "2026-03-02T09:00:00Z"}\n',
]


@dataclass(frozen=True)
class PanelQuery:
    """One target of one panel (or the alert annotation), with its variables replaced."""

    dashboard: str
    panel: str
    ref_id: str
    template: str
    expr: str
    instant: bool
    wall_tile: bool

    def name(self) -> str:
        """Dashboard, panel, refId and the query as sent: every failure message starts so."""
        return f"{self.dashboard} / panel {self.panel!r} / {self.ref_id}: {self.expr}"


def _variable_values(board: dict[str, Any]) -> dict[str, list[str]]:
    """$name -> the values to try: the All value of a multi-value variable, else each option."""
    values: dict[str, list[str]] = {}
    for var in board.get("templating", {}).get("list", []):
        if var.get("includeAll"):
            values["$" + var["name"]] = [var["allValue"]]
        else:
            values["$" + var["name"]] = [o["value"] for o in var["options"]]
    return values


def _expand(template: str, variables: dict[str, list[str]]) -> list[str]:
    """Every concrete query of ``template``: built-ins replaced, one per variable combination."""
    used = sorted((v for v in variables if re.search(re.escape(v) + r"\b", template)),
                  key=len, reverse=True)  # fmt: skip
    out = []
    for combo in itertools.product(*(variables[v] for v in used)):
        expr = template
        for name, value in [*zip(used, combo, strict=True), *BUILTINS.items()]:
            expr = expr.replace(name, value)
        assert "$" not in expr, f"unexpanded variable in {expr!r}"
        out.append(expr)
    return out


def dashboard_queries() -> list[PanelQuery]:
    """Every target of every committed dashboard, and each dashboard's alert annotation."""
    found = []
    for path in sorted(DASHBOARDS_DIR.glob("*.json")):
        board = json.loads(path.read_text())
        variables = _variable_values(board)
        wall = board["uid"] == "supportpulse-wall"
        for panel in board["panels"]:
            for target in panel.get("targets", []):
                for expr in _expand(target["expr"], variables):
                    found.append(PanelQuery(
                        path.name, panel["title"], target["refId"], target["expr"], expr,
                        bool(target.get("instant")), wall and panel["type"] == "stat"))  # fmt: skip
        for annotation in board["annotations"]["list"]:
            if "expr" in annotation:
                # Grafana runs an annotation query as a range query over the time range.
                found.append(PanelQuery(path.name, f"annotation {annotation['name']}", "-",
                                        annotation["expr"], annotation["expr"], False,
                                        False))  # fmt: skip
    return found


QUERIES = dashboard_queries()


def query_ids(q: PanelQuery) -> str:
    window = re.search(r'window="(\w+)"', q.expr)
    suffix = f" window={window[1]}" if window and "$window" in q.template else ""
    return f"{Path(q.dashboard).stem}/{q.panel}/{q.ref_id}{suffix}"


Series = list[tuple[dict[str, str], list[float]]]


def run(server: Prometheus, q: PanelQuery) -> tuple[Series | None, str]:
    """The result of ``q`` as Grafana would ask it, or None and Prometheus' error."""
    now = time.time()
    if q.instant:
        params = {"query": q.expr, "time": f"{now:.3f}"}
        url = f"{server.base}/api/v1/query?{urllib.parse.urlencode(params)}"
    else:
        params = {"query": q.expr, "start": f"{now - RANGE_S:.3f}", "end": f"{now:.3f}",
                  "step": "5"}  # fmt: skip
        url = f"{server.base}/api/v1/query_range?{urllib.parse.urlencode(params)}"
    status, body = http_get(url)
    if status != 200:
        return None, f"HTTP {status}: {body[:300]!r}"
    data = orjson.loads(body)["data"]
    if data["resultType"] == "vector":
        return [(s["metric"], [float(s["value"][1])]) for s in data["result"]], ""
    if data["resultType"] == "matrix":
        return [(s["metric"], [float(v) for _, v in s["values"]]) for s in data["result"]], ""
    return None, f"unexpected result type {data['resultType']}"


def problem(server: Prometheus, q: PanelQuery) -> str | None:
    """Why ``q`` would leave its panel empty or wrong, or None when it is fine."""
    result, error = run(server, q)
    if result is None:
        return f"invalid query: {error}"
    if not result:
        return "no series"
    if not any(math.isfinite(v) for _, values in result for v in values):
        return f"no finite value in {len(result)} series"
    if q.wall_tile:
        labels = sorted({",".join(sorted(metric)) for metric, _ in result})
        if labels != ["queue"]:
            return f"a wall tile must be labelled by queue alone, got label sets {labels}"
    return None


def missing(server: Prometheus) -> list[str]:
    return [q.name() for q in QUERIES if problem(server, q) is not None]


def iso(epoch_s: float) -> str:
    return datetime.fromtimestamp(epoch_s, UTC).isoformat().replace("+00:00", "Z")


def split_history(path: Path, cut_s: float) -> tuple[Path, Path]:
    """The history in two files: events before ``cut_s``, then the rest; bad lines in both."""
    older, newer = path.with_suffix(".1.jsonl"), path.with_suffix(".2.jsonl")
    lines = path.read_bytes().splitlines(keepends=True)
    cut = iso(cut_s)
    first = [ln for ln in lines if orjson.loads(ln)["occurred_at"] < cut]
    second = [ln for ln in lines if orjson.loads(ln)["occurred_at"] >= cut]
    assert first and second, "the history must span the cut"
    older.write_bytes(b"".join(first) + BAD_LINES[0])
    newer.write_bytes(b"".join(second) + b"".join(BAD_LINES))
    return older, newer


def replay(broker: EmbeddedBroker, topic: str, path: Path) -> int:
    done = run_cli("replay", str(path), "--broker", broker.url, "--topic", topic,
                   "--speed", "max")  # fmt: skip
    assert done.returncode == 0, done.stderr
    return len(path.read_bytes().splitlines())


def settled(worker: Worker, sent: int) -> bool:
    """Every message sent was consumed and ended applied, duplicate or dead-lettered."""
    ev = worker.json("/api/summary")["events"]
    accounted = ev["applied"] + ev["duplicate"] + sum(ev["dead_lettered"].values())
    return bool(ev["consumed"] == sent and accounted == sent and ev["held"] == 0)


def wait_for_panels(server: Prometheus, quiet_s: float = 10, limit_s: float = 60) -> None:
    """Until every query has data, or the set of empty ones stopped changing for ``quiet_s``.

    Queries that can never have data (a recording rule not deployed yet) must not make the
    test wait its whole limit; the assertions below name them.
    """
    deadline = time.monotonic() + limit_s
    last: list[str] | None = None
    since = time.monotonic()
    while time.monotonic() < deadline:
        now_missing = missing(server)
        if not now_missing:
            return
        if now_missing != last:
            last, since = now_missing, time.monotonic()
        elif time.monotonic() - since >= quiet_s:
            return
        time.sleep(1)


@pytest.fixture(scope="module")
def prometheus(
    embedded_broker: EmbeddedBroker, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Prometheus]:
    """Prometheus watching a worker that reads two hours of history, every panel filled."""
    prometheus_binary()  # fail before starting anything when it is missing
    topic = f"grafana-{uuid.uuid4().hex[:8]}"
    work = tmp_path_factory.mktemp("e2e-grafana")
    history = work / "history.jsonl"
    done = run_cli("simulate", "--out", str(history), "--duration", str(HISTORY_S),
                   "--rate", "20", "--seed", "11")  # fmt: skip
    assert done.returncode == 0, done.stderr
    older, newer = split_history(history, time.time() - SECOND_PART_S)
    env = {"SUPPORTPULSE_ORPHAN_TIMEOUT_S": "2", "SUPPORTPULSE_HOUSEKEEPING_INTERVAL_S": "1"}
    with running_worker(embedded_broker.url, topic=topic, app_id=f"sp-{topic}", log_dir=work,
                        clock="wall", env=env) as worker:  # fmt: skip
        sent = replay(embedded_broker, topic, older)
        wait_until(lambda: settled(worker, sent), timeout=60, what="first part accounted")
        config = derive_config(target=f"127.0.0.1:{worker.port}", interval="1s")
        with running_prometheus(work, config) as server:
            # Two scrapes of the first part's counters, then the second part moves them.
            scrapes = "count_over_time(support_events_consumed_total[10s])"
            wait_until(lambda: max(server.query(scrapes).values(), default=0) >= 2,
                       timeout=30, what="two scrapes of the worker")  # fmt: skip
            sent += replay(embedded_broker, topic, newer)
            wait_until(lambda: settled(worker, sent), timeout=60, what="second part accounted")
            wait_for_panels(server)
            yield server


def test_grafana_panels__every_dashboard_has_queries() -> None:
    boards = {q.dashboard for q in QUERIES}
    assert boards == {"support-wall.json", "support-detail.json"}, boards
    assert all(q.expr for q in QUERIES)


@pytest.mark.parametrize("query", QUERIES, ids=query_ids)
def test_grafana_panels__query_has_data(prometheus: Prometheus, query: PanelQuery) -> None:
    assert (why := problem(prometheus, query)) is None, f"{query.name()}\n  -> {why}"


def test_grafana_panels__queue_variable_lists_the_queues(prometheus: Prometheus) -> None:
    board = json.loads((DASHBOARDS_DIR / "support-detail.json").read_text())
    (queue,) = [v for v in board["templating"]["list"] if v["name"] == "queue"]
    match = re.fullmatch(r"label_values\((\S+), queue\)", queue["query"])
    assert match, queue["query"]
    params = urllib.parse.urlencode({"match[]": match[1]})
    status, body = http_get(f"{prometheus.base}/api/v1/label/queue/values?{params}")
    assert status == 200, body[:300]
    values = orjson.loads(body)["data"]
    assert {"billing", "technical", "account", "sales", "vip"} <= set(values), values
