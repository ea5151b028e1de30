"""The wall page, /wall, in headless Chromium.

Three layers:

- no browser: the worker serves the page and its assets with the Content-Security-Policy
  and ``no-store``, and none of them names an outside URL;
- fixed data: a small HTTP server serves the real files with the real headers and canned
  ``/api/summary`` and ``/api/staffing`` answers, so every colour threshold, every format,
  the missing-staffing case, the stale warning and the fit of eight queues on 1920x1080
  are pinned exactly;
- a running ``supportpulse demo``: every cell of every queue equals what the APIs answered
  the page, a 1920x1080 screenshot is a real picture, and the demo prints the wall's URL.

The formats and thresholds below are the specification the page's script
(stream/web/wall.js) must follow; its ``THRESHOLDS`` hold the same numbers.
"""

from __future__ import annotations

import math
import re
import subprocess
import threading
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from html.parser import HTMLParser
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import faust
import orjson
import pytest
from aiohttp.test_utils import TestClient, TestServer

from stream.wiring.wall import WALL_ASSETS, WALL_CSP, WALL_HEADERS, load_wall_assets, register_wall
from tests.helpers.chromium import WINDOW, dump_dom, read_png, screenshot
from tests.helpers.processes import cli, free_port, http_get, stop_group, wait_until

DASH = "\u2014"
MINUS = "\u2212"

# ---- the specification: formats ------------------------------------------------------------


def down(x: float) -> int:
    """Rounded down, as the page does so that digits and colours agree (see wall.js)."""
    return math.floor(x + 1e-9)


def fmt_count(v: float) -> str:
    n = down(v)
    return f"{MINUS}{-n}" if n < 0 else str(n)


def fmt_signed(v: float) -> str:
    n = down(v)
    return f"+{n}" if n > 0 else f"{MINUS}{-n}" if n < 0 else "0"


def fmt_percent(v: float) -> str:
    return f"{down(v * 100)}%"


def fmt_duration(v: float) -> str:
    s = max(0, down(v))
    if s < 60:
        return f"{s}s"
    if s < 600:
        return f"{s // 60}m {s % 60:02d}s"
    if s < 3600:
        return f"{s // 60}m"
    if s < 86400:
        return f"{s // 3600}h {s // 60 % 60:02d}m"
    return f"{s // 86400}d {s // 3600 % 24:02d}h"


# ---- the specification: colours (deploy/prometheus/rules/support-alerts.yml) ----------------

Level = Callable[[float, dict[str, Any]], str]


def above(amber: float, red: float) -> Level:
    return lambda v, _rec: "crit" if v > red else "warn" if v > amber else "ok"


def below(amber: float, red: float) -> Level:
    return lambda v, _rec: "crit" if v < red else "warn" if v < amber else "ok"


@dataclass(frozen=True)
class Measure:
    source: str  # "summary" or "staffing"
    format: Callable[[float], str]
    level: Level | None = None  # None: no threshold, always white


MEASURES: dict[str, Measure] = {
    # SupportSLABreached: any breach pages.
    "sla_breached_tickets": Measure("summary", fmt_count,
                                    lambda v, _r: "crit" if v >= 1 else "ok"),
    # SupportSLATicketsAtRisk: SLA_AT_RISK_MIN_TICKETS = 1.
    "sla_at_risk_tickets": Measure("summary", fmt_count,
                                   lambda v, _r: "warn" if v >= 1 else "ok"),
    # amber inside the default at_risk_within (15 min), red under 5 min
    "sla_next_breach_seconds": Measure("summary", fmt_duration, below(900, 300)),
    "sla_breaches_24h": Measure("summary", fmt_count),
    "unsolved": Measure("summary", fmt_count),
    "backlog": Measure("summary", fmt_count),
    # SupportOldestTicketTooOld: OLDEST_UNSOLVED_MAX_AGE_S = 3 days; amber a day earlier.
    "oldest_unsolved_age_seconds": Measure("summary", fmt_duration,
                                           above(2 * 86400, 3 * 86400)),
    "first_reply_avg_seconds_1h": Measure("summary", fmt_duration),
    "handle_avg_seconds_1h": Measure("summary", fmt_duration),
    "fcr_ratio_24h": Measure("summary", fmt_percent, below(0.7, 0.6)),
    "csat_ratio_24h": Measure("summary", fmt_percent, below(0.8, 0.7)),
    "nps_24h": Measure("summary", fmt_signed, below(20, 0)),
    "required_agents": Measure("staffing", fmt_count),
    "available_agents": Measure("staffing", fmt_count),
    "gap_agents": Measure("staffing", fmt_signed, lambda v, rec: (
        "crit" if v >= 2 or rec.get("overloaded") is True else "warn" if v >= 1 else "ok")),
}  # fmt: skip


def expected_level(name: str, value: float | None, rec: dict[str, Any] | None) -> str:
    measure = MEASURES[name]
    if value is None or measure.level is None:
        return "none"
    return measure.level(value, rec or {})


def expected_text(name: str, value: float | None) -> str:
    return DASH if value is None else MEASURES[name].format(value)


# ---- reading the dumped DOM ------------------------------------------------------------------

VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source",
        "track", "wbr"}  # fmt: skip


@dataclass
class Node:
    attrs: dict[str, str]
    text: str = ""

    @property
    def classes(self) -> set[str]:
        return set(self.attrs.get("class", "").split())


@dataclass
class Page:
    """What the tests read from a dumped DOM: the root's attributes, nodes by id, cells."""

    root: dict[str, str] = field(default_factory=dict)
    by_id: dict[str, Node] = field(default_factory=dict)
    cells: dict[tuple[str, str], Node] = field(default_factory=dict)
    heads: dict[str, Node] = field(default_factory=dict)  # queue -> its column header

    @property
    def queues(self) -> list[str]:
        return list(self.heads)

    def value(self, queue: str, name: str) -> float | None:
        raw = self.cells[(queue, name)].attrs["data-value"]
        return None if raw == "" else float(raw)


class _DomReader(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.page = Page()
        self.stack: list[tuple[str, Node | None]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "html":
            self.page.root = a
        node = None
        if "id" in a or "data-field" in a or ("data-queue" in a and tag == "th"):
            node = Node(a)
            if "id" in a:
                self.page.by_id[a["id"]] = node
            if "data-field" in a and "data-queue" in a:
                self.page.cells[(a["data-queue"], a["data-field"])] = node
            elif tag == "th":
                self.page.heads[a["data-queue"]] = node
        if tag not in VOID:
            self.stack.append((tag, node))

    def handle_endtag(self, tag: str) -> None:
        while self.stack:
            open_tag, _ = self.stack.pop()
            if open_tag == tag:
                break

    def handle_data(self, data: str) -> None:
        for _, node in self.stack:
            if node is not None:
                node.text += data


def read_page(dom: str) -> Page:
    reader = _DomReader()
    reader.feed(dom)
    reader.close()
    page = reader.page
    for node in [*page.by_id.values(), *page.cells.values(), *page.heads.values()]:
        node.text = " ".join(node.text.split())
    return page


def assert_page_healthy(page: Page) -> None:
    """The state every rendered wall must be in, whatever its numbers."""
    assert "data-csp-violation" not in page.root, page.root  # nothing blocked by the CSP
    assert page.root.get("lang") == "en"
    assert page.root.get("data-fits") == "true", f"does not fit the screen: {page.root}"


# ---- no browser: how the worker serves the page ---------------------------------------------


async def test_wall_is_served_with_csp_and_no_store_and_names_no_outside_url() -> None:
    app = faust.App("wall-unit-test", broker="kafka://127.0.0.1:1", store="memory://")
    register_wall(app)
    async with TestClient(TestServer(app.web.web_app)) as client:
        bodies = {}
        for path, (_name, content_type) in WALL_ASSETS.items():
            resp = await client.get(path)
            assert resp.status == 200, path
            assert resp.headers["Content-Security-Policy"] == WALL_CSP
            assert resp.headers["Cache-Control"] == "no-store"
            assert resp.content_type == content_type
            bodies[path] = await resp.text()
    assert WALL_CSP.startswith("default-src 'self';")
    for path, body in bodies.items():
        assert not re.search(r"https?://", body, re.IGNORECASE), f"{path} names an outside URL"
        assert not re.search(r"""(src|href|url)\s*[=(]\s*["']?//""", body), f"{path}: //host"
    html = bodies["/wall"]
    assert '<html lang="en"' in html
    # The page links exactly the assets served, relative to /wall; no inline script or style.
    assert re.findall(r'(?:src|href)="([^"]+)"', html) == ["wall/wall.css", "wall/wall.js"]
    assert "<style" not in html and "style=" not in html
    assert re.findall(r"<script\b[^>]*>(.*?)</script>", html, re.DOTALL) == [""]


# ---- small HTTP servers: a stand-in worker, a recording proxy --------------------------------

Response = tuple[int, dict[str, str], bytes]  # status, headers, body


@contextmanager
def serve(respond: Callable[[str], Response]) -> Iterator[str]:
    """An HTTP server on 127.0.0.1 answering GETs with ``respond(path)``; yields its URL."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            status, headers, body = respond(self.path)
            self.send_response(status)
            for key, val in headers.items():
                self.send_header(key, val)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


Answer = Callable[[int], tuple[int, Any]]  # nth request of a path -> (status, JSON body)


@contextmanager
def stand_in_worker(answers: dict[str, Answer]) -> Iterator[str]:
    """The wall's files with the worker's headers, and canned API answers; yields the URL.

    A path missing from ``answers`` is a 404, like /api/staffing on a worker without it.
    """
    assets = load_wall_assets()
    counts: dict[str, int] = {}
    lock = threading.Lock()

    def respond(path: str) -> Response:
        if path in assets:
            text, content_type = assets[path]
            headers = {**WALL_HEADERS, "Content-Type": f"{content_type}; charset=utf-8"}
            return 200, headers, text.encode()
        if path in answers:
            with lock:
                n = counts[path] = counts.get(path, 0) + 1
            status, value = answers[path](n)
            return status, {"Content-Type": "application/json"}, orjson.dumps(value)
        return 404, {"Content-Type": "application/json"}, b'{"error": "not found"}'

    with serve(respond) as base:
        yield base


# Headers the proxy must not copy: they describe the upstream connection, not the answer.
HOP_BY_HOP = {"connection", "content-length", "date", "keep-alive", "server",
              "transfer-encoding"}  # fmt: skip


@contextmanager
def recording_proxy(upstream: str) -> Iterator[tuple[str, dict[str, list[Response]]]]:
    """Forward every GET to ``upstream`` unchanged (headers included) and keep the answers.

    Yields the proxy's URL and, per path, every answer the browser received.
    """
    seen: dict[str, list[Response]] = {}
    lock = threading.Lock()

    def respond(path: str) -> Response:
        try:
            with urllib.request.urlopen(upstream + path, timeout=10) as resp:
                answer = (resp.status, dict(resp.headers), resp.read())
        except urllib.error.HTTPError as exc:
            answer = (exc.code, dict(exc.headers), exc.read())
        status, headers, body = answer
        headers = {k: v for k, v in headers.items() if k.lower() not in HOP_BY_HOP}
        with lock:
            seen.setdefault(path, []).append((status, headers, body))
        return status, headers, body

    with serve(respond) as base:
        yield base, seen


# ---- fixed data -----------------------------------------------------------------------------


def calm_queue(**overrides: float | int | None) -> dict[str, float | int | None]:
    """A queue with nothing to worry about, then the test's values."""
    base: dict[str, float | int | None] = {
        "unsolved": 12, "unassigned": 2, "backlog": 0, "oldest_unsolved_age_seconds": 3600.0,
        "created_1h": 10, "solved_1h": 9, "first_reply_avg_seconds_1h": 600.0,
        "handle_avg_seconds_1h": 300.0, "fcr_ratio_24h": 0.9, "csat_ratio_24h": 0.9,
        "nps_24h": 40.0, "sla_breached_tickets": 0, "sla_at_risk_tickets": 0,
        "sla_next_breach_seconds": 3600.0, "sla_breaches_24h": 0,
    }  # fmt: skip
    return {**base, **overrides}


# (queue, field, value, expected text, expected level): the edges of every rule.
CASES: list[tuple[str, str, float | int | None, str, str]] = [
    ("billing", "sla_breached_tickets", 0, "0", "ok"),
    ("technical", "sla_breached_tickets", 1, "1", "crit"),
    ("billing", "sla_at_risk_tickets", 0, "0", "ok"),
    ("technical", "sla_at_risk_tickets", 1, "1", "warn"),
    ("billing", "sla_next_breach_seconds", 900.0, "15m", "ok"),
    ("technical", "sla_next_breach_seconds", 899.9, "14m", "warn"),
    ("account", "sla_next_breach_seconds", 300.0, "5m 00s", "warn"),
    ("sales", "sla_next_breach_seconds", 299.99, "4m 59s", "crit"),
    ("vip", "sla_next_breach_seconds", None, DASH, "none"),
    ("returns", "sla_next_breach_seconds", 3900.0, "1h 05m", "ok"),
    ("partners", "sla_next_breach_seconds", 0.4, "0s", "crit"),
    ("billing", "oldest_unsolved_age_seconds", 172800.0, "2d 00h", "ok"),
    ("technical", "oldest_unsolved_age_seconds", 172800.5, "2d 00h", "warn"),
    ("account", "oldest_unsolved_age_seconds", 259200.0, "3d 00h", "warn"),
    ("sales", "oldest_unsolved_age_seconds", 259201.0, "3d 00h", "crit"),
    ("vip", "oldest_unsolved_age_seconds", 45.7, "45s", "ok"),
    ("billing", "fcr_ratio_24h", 0.7, "70%", "ok"),
    ("technical", "fcr_ratio_24h", 0.6999, "69%", "warn"),
    ("account", "fcr_ratio_24h", 0.6, "60%", "warn"),
    ("sales", "fcr_ratio_24h", 0.5999, "59%", "crit"),
    ("vip", "fcr_ratio_24h", None, DASH, "none"),
    ("returns", "fcr_ratio_24h", 0.83, "83%", "ok"),
    ("billing", "csat_ratio_24h", 0.8, "80%", "ok"),
    ("technical", "csat_ratio_24h", 0.79, "79%", "warn"),
    ("account", "csat_ratio_24h", 0.7, "70%", "warn"),
    ("sales", "csat_ratio_24h", 0.69, "69%", "crit"),
    ("billing", "nps_24h", 20.0, "+20", "ok"),
    ("technical", "nps_24h", 19.5, "+19", "warn"),
    ("account", "nps_24h", 0.0, "0", "warn"),
    ("sales", "nps_24h", -0.4, f"{MINUS}1", "crit"),
    ("vip", "nps_24h", -12.6, f"{MINUS}13", "crit"),
    ("partners", "csat_ratio_24h", 0.29, "29%", "crit"),
    ("billing", "unsolved", 1234, "1234", "none"),
    ("billing", "backlog", 7, "7", "none"),
    ("billing", "sla_breaches_24h", 3, "3", "none"),
    ("billing", "first_reply_avg_seconds_1h", 59.99, "59s", "none"),
    ("technical", "first_reply_avg_seconds_1h", None, DASH, "none"),
    ("account", "first_reply_avg_seconds_1h", 86399.0, "23h 59m", "none"),
    ("billing", "handle_avg_seconds_1h", 312.5, "5m 12s", "none"),
    ("technical", "handle_avg_seconds_1h", 600.0, "10m", "none"),
]

# Staffing per queue (None: the queue has no entry): gap edges and the overloaded flag.
STAFFING: dict[str, dict[str, Any] | None] = {
    "billing": {"required_agents": 6, "available_agents": 6, "gap_agents": 0},
    "technical": {"required_agents": 7, "available_agents": 6, "gap_agents": 1},
    "account": {"required_agents": 8, "available_agents": 6, "gap_agents": 2},
    "sales": {"required_agents": 3, "available_agents": 6, "gap_agents": -3},
    "vip": {"required_agents": 4, "available_agents": 4, "gap_agents": 0, "overloaded": True},
    "returns": {"required_agents": 2, "available_agents": 1.6, "gap_agents": 0.4},
    "partners": None,
    "onboarding-emea": {"required_agents": 12, "available_agents": 4, "gap_agents": 8},
}
STAFFING_LEVELS = {"billing": "ok", "technical": "warn", "account": "crit", "sales": "ok",
                   "vip": "crit", "returns": "ok", "partners": "none",
                   "onboarding-emea": "crit"}  # fmt: skip
CLOCK_S = 1_795_000_000.25


def fixed_summary() -> dict[str, Any]:
    queues: dict[str, dict[str, Any]] = {q: calm_queue() for q in STAFFING}
    for queue, name, value, _text, _level in CASES:
        queues[queue][name] = value
    return {"processing_clock_seconds": CLOCK_S, "clock": "event", "queues": queues}


def fixed_staffing() -> dict[str, Any]:
    return {"computed_at_seconds": CLOCK_S,
            "queues": {q: {**s, "overloaded": s.get("overloaded", False)}
                       for q, s in STAFFING.items() if s is not None}}  # fmt: skip


def test_wall__fixed_data__every_format_and_threshold_and_eight_queues_fit(
    tmp_path: Path,
) -> None:
    summary, staffing = fixed_summary(), fixed_staffing()
    answers: dict[str, Answer] = {"/api/summary": lambda _n: (200, summary),
                                  "/api/staffing": lambda _n: (200, staffing)}  # fmt: skip
    with stand_in_worker(answers) as base:
        page = read_page(dump_dom(base + "/wall"))
        small = read_page(dump_dom(base + "/wall", window=(1366, 768)))
        shot = read_png(screenshot(base + "/wall", tmp_path / "wall-fixed.png"))

    assert_page_healthy(page)
    assert page.root["data-state"] == "live"
    assert page.queues == list(summary["queues"])  # the API's order, all eight
    assert len(page.cells) == len(page.queues) * len(MEASURES)
    for queue, name, value, text, level in CASES:
        cell = page.cells[(queue, name)]
        assert (page.value(queue, name), cell.text) == (value, text), (queue, name)
        assert f"lvl-{level}" in cell.classes, (queue, name, cell.classes)
    for queue in page.queues:
        rec = STAFFING[queue]
        for name in ("required_agents", "available_agents", "gap_agents"):
            want = None if rec is None else rec[name]
            assert page.value(queue, name) == want, (queue, name)
            assert page.cells[(queue, name)].text == expected_text(name, want), (queue, name)
        gap_level = STAFFING_LEVELS[queue]
        assert f"lvl-{gap_level}" in page.cells[(queue, "gap_agents")].classes, queue
        levels = set()
        for name in MEASURES:  # every cell agrees with the specification
            cell, value = page.cells[(queue, name)], page.value(queue, name)
            assert cell.text == expected_text(name, value), (queue, name)
            want_level = expected_level(name, value, rec if name == "gap_agents" else None)
            assert f"lvl-{want_level}" in cell.classes, (queue, name, cell.classes)
            levels.add(want_level)
        # The column header carries the queue's worst level, in words too.
        worst = "crit" if "crit" in levels else "warn" if "warn" in levels else "ok"
        words = {"crit": "\u2716 act now", "warn": "\u25b2 watch", "ok": "\u25cf ok"}[worst]
        head = page.heads[queue]
        assert f"lvl-{worst}" in head.classes and head.text == f"{queue} {words}", head
    clock = page.by_id["clock"]
    assert float(clock.attrs["data-value"]) == CLOCK_S
    assert page.by_id["clock-kind"].text == "(event)"
    assert page.by_id["stale"].attrs.get("hidden") is not None
    assert page.by_id["status"].text == "\u25cf LIVE"
    assert small.root.get("data-fits") == "true", small.root  # a 1366x768 screen too
    # The CSS paints the levels: red, amber and green cells are on the screenshot.
    assert (shot.width, shot.height) == WINDOW
    colours = shot.colours()
    for name, rgb in {"red": b"\xd0\x28\x1f", "amber": b"\xff\xb2\x1e",
                      "green": b"\x5e\xe0\x8a"}.items():  # fmt: skip
        assert colours[rgb] > 500, f"no {name} on the screenshot"


def test_wall__without_staffing__dashes_and_no_failure() -> None:
    summary = fixed_summary()
    # /api/staffing is not in the answers: 404, as from a worker without it.
    with stand_in_worker({"/api/summary": lambda _n: (200, summary)}) as base:
        page = read_page(dump_dom(base + "/wall"))

    assert_page_healthy(page)
    assert page.root["data-state"] == "live"
    assert page.queues == list(summary["queues"])
    for queue in page.queues:
        assert page.value(queue, "unsolved") == summary["queues"][queue]["unsolved"]
        for name in ("required_agents", "available_agents", "gap_agents"):
            cell = page.cells[(queue, name)]
            assert (cell.attrs["data-value"], cell.text) == ("", DASH), (queue, name)
            assert "lvl-none" in cell.classes


def test_wall__worker_gone__stale_warning_over_the_last_numbers() -> None:
    summary = fixed_summary()
    # The worker answers the first poll, then fails.
    answers: dict[str, Answer] = {
        "/api/summary": lambda n: (200, summary) if n == 1 else (503, {"error": "down"}),
    }
    with stand_in_worker(answers) as base:
        # 25 s of page time: polls at 0, 5, 10, 15, 20 s; stale from 15 s after the last
        # good one. (Virtual time: it takes a second or two.)
        page = read_page(dump_dom(base + "/wall", budget_ms=25_000))
        never = read_page(dump_dom(base + "/wall", budget_ms=25_000))

    assert page.root["data-state"] == "stale", page.root
    stale = page.by_id["stale"]
    assert stale.attrs.get("hidden") is None
    silent = re.match(r"STALE: no answer from the worker for (\d+)s\. These numbers are from ",
                      stale.text)  # fmt: skip
    assert silent and 15 < int(silent[1]) <= 25, stale.text
    assert page.by_id["status"].text == "\u2716 STALE"
    assert page.value("technical", "sla_breached_tickets") == 1  # the last numbers stay
    # A page that never had an answer says so instead of showing an empty table.
    assert never.root["data-state"] == "stale"
    assert never.by_id["stale"].text.startswith("No answer from the worker for "), never.by_id
    assert never.by_id["empty"].attrs.get("hidden") is None


# ---- a running demo -------------------------------------------------------------------------


def _summary(base: str) -> dict[str, Any]:
    status, body = http_get(base + "/api/summary")
    assert status == 200, body[:300]
    return dict(orjson.loads(body))


def _summary_ready(base: str) -> bool:
    s = _summary(base)
    busy = [q for q in s["queues"].values() if q["created_1h"] > 0]
    return s["events"]["applied"] > 1000 and len(busy) >= 4


def _staffing_ready(base: str) -> bool:
    status, body = http_get(base + "/api/staffing")
    if status == 404:
        return True  # a worker without /api/staffing: the page shows dashes
    return status == 200 and set(_summary(base)["queues"]) <= set(orjson.loads(body)["queues"])


@dataclass(frozen=True)
class Demo:
    base: str  # the worker's web server
    log: Path  # the demo's output


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    """`supportpulse demo` in its own session, backfilled; stopped even when a test fails."""
    port = free_port()
    log = tmp_path_factory.mktemp("wall-demo") / "demo.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(cli("demo", "--web-port", str(port)), stdout=out,
                                stderr=subprocess.STDOUT, start_new_session=True)  # fmt: skip
    try:
        base = f"http://127.0.0.1:{port}"
        wait_until(lambda: _summary_ready(base), timeout=120,
                   what=f"the demo's summary with several busy queues (log: {log})")  # fmt: skip
        wait_until(lambda: _staffing_ready(base), timeout=45,
                   what=f"staffing for every queue (log: {log})")  # fmt: skip
        yield Demo(base, log)
    finally:
        # SIGTERM to the demo only (its children have their own sessions): it stops the
        # traffic, the worker and the broker in order; SIGKILL after the grace period.
        stop_group(proc, grace_s=45)


def _json_answer(answers: list[Response], path: str) -> Any:
    """The one JSON answer the page received for ``path`` (None for a 404)."""
    assert len(answers) == 1, f"{path}: {len(answers)} requests, the page polls once in 3 s"
    status, _headers, body = answers[0]
    assert status in (200, 404), (path, status, body[:300])
    return orjson.loads(body) if status == 200 else None


def live_mismatches(page: Page, summary: dict[str, Any], staffing: dict[str, Any] | None,
                    known: set[str]) -> list[str]:  # fmt: skip
    """Every way the page disagrees with the answers it received or the specification."""
    bad: list[str] = []
    if page.queues != list(summary["queues"]):
        bad.append(f"queues on the page {page.queues} != its answer {list(summary['queues'])}")
    if missing := known - set(page.queues):
        bad.append(f"queues in /api/summary before and after but not on the page: {missing}")
    for queue in page.queues:
        staffed = None if staffing is None else staffing["queues"].get(queue)
        recs = {"summary": summary["queues"].get(queue), "staffing": staffed}
        for name, measure in MEASURES.items():
            cell = page.cells.get((queue, name))
            if cell is None:
                bad.append(f"{queue}/{name}: no cell")
                continue
            rec = recs[measure.source]
            want = None if rec is None else rec.get(name)
            value = page.value(queue, name)
            if value != want:
                bad.append(f"{queue}/{name}: data-value {value}, the API said {want}")
            if cell.text != expected_text(name, value):
                bad.append(f"{queue}/{name}: text {cell.text!r} for {value}")
            level = f"lvl-{expected_level(name, value, rec)}"
            if level not in cell.classes:
                bad.append(f"{queue}/{name}: classes {cell.classes} for {value}, want {level}")
    return bad


def test_wall__live_demo__every_cell_matches_the_api(demo: Demo) -> None:
    """Every cell shows exactly what /api/summary and /api/staffing answered the page.

    The demo's numbers move several times a second (a ticket a second, each with a dozen
    events; ages and countdowns follow the clock; a ticket answered makes the next breach
    jump), so readings taken around a two-second render do not bracket what the page saw.
    The page therefore goes through a proxy that forwards the worker's answers unchanged
    (the page, its headers and the APIs) and keeps them: every cell is compared exactly
    with the answer it was drawn from, and that answer is shown to be live by its
    processing clock, which lies between readings of /api/summary taken right before and
    right after the render.
    """
    before = _summary(demo.base)
    with recording_proxy(demo.base) as (base, seen):
        dom = dump_dom(base + "/wall")
    after = _summary(demo.base)
    page = read_page(dom)

    assert_page_healthy(page)
    assert page.root["data-state"] == "live"
    assert page.by_id["stale"].attrs.get("hidden") is not None
    wall_headers = seen["/wall"][0][1]
    assert wall_headers["Content-Security-Policy"] == WALL_CSP  # the browser enforced it
    summary = _json_answer(seen["/api/summary"], "/api/summary")
    staffing = _json_answer(seen["/api/staffing"], "/api/staffing")
    clock = summary["processing_clock_seconds"]
    assert before["processing_clock_seconds"] <= clock <= after["processing_clock_seconds"]
    assert float(page.by_id["clock"].attrs["data-value"]) == clock
    known = set(before["queues"]) & set(after["queues"])
    assert len(known) >= 4
    mismatches = live_mismatches(page, summary, staffing, known)
    assert not mismatches, "\n".join(mismatches)
    if staffing is not None:  # the demo's worker has staffing for every queue (fixture)
        assert all(page.value(q, "required_agents") is not None for q in page.queues)


def test_wall__live_demo__screenshot_at_1920x1080(demo: Demo, tmp_path: Path) -> None:
    png_path = screenshot(demo.base + "/wall", tmp_path / "wall.png")
    png = read_png(png_path)
    assert (png.width, png.height) == (1920, 1080)
    # Not blank: a uniform 1920x1080 PNG compresses to a few kilobytes and has one colour;
    # the rendered wall has anti-aliased text (thousands of colours) and no colour, not
    # even the background, covers most of the screen.
    assert png_path.stat().st_size > 50_000
    colours = png.colours()
    assert len(colours) > 200, len(colours)
    assert colours.most_common(1)[0][1] < 0.75 * png.width * png.height


def test_wall__demo_prints_the_wall_url(demo: Demo) -> None:
    # The URLs are printed once the backfill is in and live traffic runs.
    wait_until(lambda: f"{demo.base}/wall\n" in demo.log.read_text(errors="replace"),
               timeout=60, what=f"the wall URL in the demo's output ({demo.log})")  # fmt: skip
