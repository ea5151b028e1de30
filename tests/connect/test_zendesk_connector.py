"""The Zendesk connector against a local fake Zendesk: pages, cursor, rate limits, errors."""

from __future__ import annotations

import base64
import json
import threading
import urllib.parse
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from kafka import KafkaConsumer

from stream.connect.zendesk import (
    Credentials,
    CursorFile,
    ZendeskAuthError,
    ZendeskConnector,
    ZendeskError,
    ZendeskUnavailableError,
)
from stream.domain.sources.zendesk import map_incremental_events
from stream.kafka.embedded import EmbeddedBroker
from tests.helpers.processes import run_cli

FIXTURE = Path(__file__).parents[1] / "domain" / "sources" / "data" / "zendesk"
EMAIL, TOKEN = "admin@example.com", "s3cr3t-t0ken-do-not-log"
START = 1_715_600_000  # before the fixture's first audit
NOW = 1_716_100_000.0  # the injected clock: after every fixture time
EXPORT = "/api/v2/incremental/ticket_events.json"


class FakeZendesk(ThreadingHTTPServer):
    """Serves the fixture's audits as 3 export pages keyed by ``start_time``.

    ``script`` holds (status, headers) answers given before the next real page; ``always``
    makes every answer that status. Every request is recorded.
    """

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.base = f"http://127.0.0.1:{self.server_address[1]}"
        self.requests: list[dict[str, Any]] = []
        self.script: list[tuple[int, dict[str, str]]] = []
        self.always: int | None = None
        audits = json.loads((FIXTURE / "ticket_events_page.json").read_text())["ticket_events"]
        self.pages: dict[int, dict[str, Any]] = {}
        start = START
        for i, chunk in enumerate((audits[:3], audits[3:6], audits[6:])):
            end = chunk[-1]["timestamp"]
            # Zendesk's next_page; the second one without the sideload, which the connector adds.
            include = "&include=comment_events" if i == 0 else ""
            self.pages[start] = {
                "ticket_events": chunk, "count": len(chunk), "end_time": end,
                "next_page": f"{self.base}/api/v2/incremental/ticket_events.json"
                             f"?start_time={end}{include}",
                "end_of_stream": i == 2,
            }  # fmt: skip
            start = end
        self.pages[start] = {"ticket_events": [], "count": 0, "end_time": start,
                             "next_page": None, "end_of_stream": True}  # fmt: skip
        self.last_end = start

    def start_times(self) -> list[int]:
        """The export requests' start_time values, in order."""
        return [int(r["query"]["start_time"][0]) for r in self.requests if r["path"] == EXPORT]

    def users_page(self, number: str) -> dict[str, Any]:
        """The agents and admins, two pages of the List Users answer."""
        user = {"id": 235323, "name": "Grace Hopper", "email": "grace@example.com", "role": "agent",
                "active": True, "suspended": False}  # fmt: skip
        if number == "1":
            return {
                "users": [user],
                "count": 2,
                "previous_page": None,
                "next_page": f"{self.base}/api/v2/users.json?page=2&role[]=agent&role[]=admin",
            }
        admin = {**user, "id": 8801, "name": "Alan Turing", "email": "alan@example.com",
                 "role": "admin"}  # fmt: skip
        return {"users": [admin], "count": 2, "previous_page": None, "next_page": None}


class _Handler(BaseHTTPRequestHandler):
    server: FakeZendesk

    def do_GET(self) -> None:
        url = urllib.parse.urlsplit(self.path)
        query = urllib.parse.parse_qs(url.query)
        self.server.requests.append({"path": url.path, "query": query,
                                     "auth": self.headers.get("Authorization")})  # fmt: skip
        if self.server.always is not None:
            return self._answer(self.server.always, {"error": "Couldn't authenticate you"})
        if self.server.script:
            status, headers = self.server.script.pop(0)
            return self._answer(status, {"error": "scripted"}, headers)
        if url.path == "/api/v2/users.json":
            return self._answer(200, self.server.users_page(query.get("page", ["1"])[0]))
        page = self.server.pages.get(int(query.get("start_time", ["0"])[0]))
        if url.path != EXPORT or page is None:
            return self._answer(404, {"error": "InvalidEndpoint"})
        return self._answer(200, page)

    def _answer(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        raw = json.dumps(body).encode()
        self.send_response(status)
        for name, value in {"Content-Type": "application/json", **(headers or {})}.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def zendesk() -> Iterator[FakeZendesk]:
    server = FakeZendesk()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


class Recorder:
    """The injected send, flush and sleep."""

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []
        self.flushes = 0
        self.sleeps: list[float] = []

    def connector(self, server: FakeZendesk, state: Path | None, **kwargs: Any) -> ZendeskConnector:
        return ZendeskConnector(server.base, Credentials(EMAIL, TOKEN), self.events.append,
                                flush=self.flush, cursor=CursorFile(state), start_time=START,
                                sleep=self.sleeps.append, clock=lambda: NOW, **kwargs)  # fmt: skip

    def flush(self) -> None:
        self.flushes += 1


def expected_events() -> list[dict[str, Any]]:
    return map_incremental_events(
        json.loads((FIXTURE / "ticket_events_page.json").read_text())
    ).events


def saved_cursor(path: Path) -> int:
    return int(json.loads(path.read_text())["end_time"])


def test_poll__publishes_every_page_in_order_and_saves_the_cursor(
    zendesk: FakeZendesk, tmp_path: Path
) -> None:
    rec, state = Recorder(), tmp_path / "zendesk.state"

    stats = rec.connector(zendesk, state).poll()

    assert rec.events == expected_events()  # requesters carried over from page to page
    assert (stats.pages, stats.events, stats.cursor) == (3, len(rec.events), 1715775295)
    assert rec.flushes == 3
    assert saved_cursor(state) == 1715775295
    assert zendesk.start_times() == [START, 1715679900, 1715684405]
    assert all(r["query"]["include"] == ["comment_events"] for r in zendesk.requests)
    basic = base64.b64encode(f"{EMAIL}/token:{TOKEN}".encode()).decode()
    assert {r["auth"] for r in zendesk.requests} == {f"Basic {basic}"}
    assert rec.sleeps == []


def test_poll__second_run_resumes_from_the_cursor_file(
    zendesk: FakeZendesk, tmp_path: Path
) -> None:
    state = tmp_path / "zendesk.state"
    Recorder().connector(zendesk, state).poll()
    zendesk.requests.clear()
    rec = Recorder()

    stats = rec.connector(zendesk, state).poll()  # its start_time=START is ignored

    assert zendesk.start_times() == [zendesk.last_end]
    assert (stats.pages, stats.events, rec.events) == (1, 0, [])
    assert saved_cursor(state) == zendesk.last_end


def test_poll__cursor_moves_only_after_a_page_is_published(
    zendesk: FakeZendesk, tmp_path: Path
) -> None:
    state, sent = tmp_path / "zendesk.state", []

    def send(event: dict[str, Any]) -> None:
        if len(sent) == 9:  # the second page's second event
            raise ConnectionError("broker gone")
        sent.append(event)

    connector = ZendeskConnector(zendesk.base, Credentials(EMAIL, TOKEN), send,
                                 cursor=CursorFile(state), start_time=START,
                                 clock=lambda: NOW)  # fmt: skip
    with pytest.raises(ConnectionError):
        connector.poll()
    assert saved_cursor(state) == 1715679900  # the end of page 1, the last one delivered

    zendesk.requests.clear()
    rec = Recorder()
    rec.connector(zendesk, state, fetch_agents=True).poll()
    assert zendesk.start_times() == [1715679900, 1715684405]
    # Page 2 again, in full, then page 3. Page 1 told the first run who the requester of
    # ticket 35436 is; this run knows the agents instead, so the comments keep their author.
    assert rec.events == expected_events()[8:]


def test_poll__without_requester_or_agents_comments_are_unmapped(
    zendesk: FakeZendesk, tmp_path: Path
) -> None:
    rec = Recorder()
    connector = rec.connector(zendesk, None)
    connector.position = 1715679900  # page 2: ticket 35436 was created on page 1

    stats = connector.poll()

    assert [e["type"] for e in rec.events].count("ticket.message") == 1  # ticket 35437's own
    assert stats.unmapped["zendesk comment with unknown author role"] == 3


def test_poll__fetch_agents_lists_agents_and_admins(zendesk: FakeZendesk) -> None:
    rec = Recorder()

    rec.connector(zendesk, None, fetch_agents=True).poll()

    users = [r for r in zendesk.requests if r["path"] == "/api/v2/users.json"]
    assert [r["query"].get("page") for r in users] == [None, ["2"]]
    assert all(r["query"]["role[]"] == ["agent", "admin"] for r in users)
    assert rec.events == expected_events()


def test_poll__429_waits_the_retry_after_seconds(zendesk: FakeZendesk, tmp_path: Path) -> None:
    zendesk.script = [(429, {"Retry-After": "1"})]
    rec = Recorder()

    rec.connector(zendesk, tmp_path / "s").poll()

    assert rec.sleeps == [1.0]
    assert rec.events == expected_events()
    assert zendesk.start_times() == [START, START, 1715679900, 1715684405]


def test_poll__stopping_during_a_rate_limit_wait_ends_the_poll(
    zendesk: FakeZendesk, tmp_path: Path
) -> None:
    zendesk.always = 429  # no Retry-After: the default wait
    rec = Recorder()
    connector = rec.connector(zendesk, tmp_path / "s", stop=lambda: bool(rec.sleeps))

    with pytest.raises(ZendeskUnavailableError, match="stopped while rate limited"):
        connector.poll()

    assert rec.sleeps == [60.0]
    assert len(zendesk.requests) == 1


def test_poll__5xx_is_retried_with_exponential_backoff(
    zendesk: FakeZendesk, tmp_path: Path
) -> None:
    zendesk.script = [(500, {}), (502, {}), (503, {})]
    rec = Recorder()

    rec.connector(zendesk, tmp_path / "s").poll()

    assert rec.sleeps == [1.0, 2.0, 4.0]
    assert rec.events == expected_events()


def test_poll__5xx_retries_are_capped_and_give_up(zendesk: FakeZendesk, tmp_path: Path) -> None:
    zendesk.always = 503
    rec = Recorder()

    with pytest.raises(ZendeskUnavailableError, match="giving up after 6 attempts: HTTP 503"):
        rec.connector(zendesk, tmp_path / "s", max_retries=5, max_backoff_s=4).poll()

    assert rec.sleeps == [1.0, 2.0, 4.0, 4.0, 4.0]
    assert not (tmp_path / "s").exists()


@pytest.mark.parametrize("status", [401, 403])
def test_poll__rejected_credentials_stop_with_a_clear_error(
    zendesk: FakeZendesk, tmp_path: Path, status: int
) -> None:
    zendesk.always = status
    rec = Recorder()

    with pytest.raises(ZendeskAuthError, match=f"HTTP {status}.*ZENDESK_API_TOKEN") as info:
        rec.connector(zendesk, tmp_path / "s").poll()

    assert TOKEN not in str(info.value)
    assert len(zendesk.requests) == 1  # not retried
    assert (rec.events, rec.sleeps) == ([], [])
    assert not (tmp_path / "s").exists()


def test_poll__next_page_on_another_host_is_not_followed(
    zendesk: FakeZendesk, tmp_path: Path
) -> None:
    zendesk.pages[START]["next_page"] = "https://attacker.example/api/v2/incremental/x.json"

    with pytest.raises(ZendeskError, match="not on"):
        Recorder().connector(zendesk, tmp_path / "s").poll()

    assert len(zendesk.requests) == 1


def test_poll__waits_until_start_time_is_a_minute_old(zendesk: FakeZendesk) -> None:
    rec = Recorder()
    connector = ZendeskConnector(zendesk.base, Credentials(EMAIL, TOKEN), rec.events.append,
                                 start_time=zendesk.last_end, sleep=rec.sleeps.append,
                                 clock=lambda: zendesk.last_end + 20.0)  # fmt: skip

    connector.poll()

    assert rec.sleeps == [45.0]  # a minute old by Zendesk's clock, with 5 s of margin


def test_run__polls_again_from_the_last_end_time_after_the_interval(zendesk: FakeZendesk) -> None:
    rec = Recorder()

    connector = rec.connector(zendesk, None, stop=lambda: len(zendesk.start_times()) >= 4)

    stats = connector.run(30.0)

    assert zendesk.start_times() == [START, 1715679900, 1715684405, zendesk.last_end]
    assert rec.sleeps == [30.0]
    assert (stats.pages, stats.events) == (4, len(expected_events()))


def test_cli__connect_zendesk_once_writes_the_events_and_resumes(
    zendesk: FakeZendesk, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ZENDESK_EMAIL", EMAIL)
    monkeypatch.setenv("ZENDESK_API_TOKEN", TOKEN)
    out, state = tmp_path / "events.jsonl", tmp_path / "zendesk.state"
    args = ("connect", "zendesk", "--base-url", zendesk.base, "--once", "--out", str(out),
            "--state", str(state), "--start-time", str(START))  # fmt: skip

    first = run_cli(*args)
    second = run_cli(*args)

    assert first.returncode == 0, first.stderr
    assert second.returncode == 0, second.stderr
    expected = expected_events()
    assert [json.loads(line) for line in out.read_text().splitlines()] == expected
    assert f"sent {len(expected)} events from 3 pages" in first.stdout
    assert "sent 0 events from 1 pages" in second.stdout
    assert zendesk.start_times() == [START, 1715679900, 1715684405, zendesk.last_end]
    assert TOKEN not in first.stdout + first.stderr + second.stdout + second.stderr


def test_cli__connect_zendesk_401_exits_1_with_the_reason(
    zendesk: FakeZendesk, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("ZENDESK_EMAIL", raising=False)
    monkeypatch.delenv("ZENDESK_API_TOKEN", raising=False)
    zendesk.always = 401
    base = ("connect", "zendesk", "--base-url", zendesk.base, "--once", "--out",
            str(tmp_path / "e.jsonl"), "--start-time", str(START))  # fmt: skip

    missing = run_cli(*base)
    rejected = run_cli(*base, "--email", EMAIL, "--api-token", TOKEN)

    assert missing.returncode == 2
    assert "ZENDESK_API_TOKEN" in missing.stderr
    assert rejected.returncode == 1
    assert "HTTP 401" in rejected.stderr
    assert TOKEN not in rejected.stdout + rejected.stderr


def test_cli__connect_zendesk_once_publishes_to_the_broker_keyed_by_ticket(
    zendesk: FakeZendesk, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    embedded_broker: EmbeddedBroker,
) -> None:  # fmt: skip
    monkeypatch.setenv("ZENDESK_EMAIL", EMAIL)
    monkeypatch.setenv("ZENDESK_API_TOKEN", TOKEN)
    topic = f"zendesk-{uuid.uuid4().hex[:8]}"
    done = run_cli("connect", "zendesk", "--base-url", zendesk.base, "--once",
                   "--broker", embedded_broker.url, "--topic", topic,
                   "--state", str(tmp_path / "zendesk.state"),
                   "--start-time", str(START))  # fmt: skip
    assert done.returncode == 0, done.stderr
    expected = expected_events()
    consumer = KafkaConsumer(topic, bootstrap_servers=embedded_broker.bootstrap_servers,
                             auto_offset_reset="earliest", consumer_timeout_ms=5000)  # fmt: skip
    try:
        got = [(m.key, json.loads(m.value)) for m in consumer]
    finally:
        consumer.close()
    assert sorted(e["event_id"] for _, e in got) == sorted(e["event_id"] for e in expected)
    assert all(key == event["ticket_id"].encode() for key, event in got)
