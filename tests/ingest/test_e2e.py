"""`supportpulse ingest` as a real process against the real broker, over real HTTP."""

from __future__ import annotations

import os
import subprocess
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import orjson
import pytest

from stream.kafka.embedded import EmbeddedBroker, find_free_port
from stream.kafka.topics import ensure_topics
from stream.processing.routing import partition_for
from tests.helpers.processes import cli, free_port, http_get, stop_group, wait_until
from tests.ingest.ingest_helpers import PARTITIONS, TOKEN, event_line, post

TOKEN_ENV = "SUPPORTPULSE_INGEST_TOKEN"
Reader = Callable[..., list[Any]]


class Ingest:
    """A `supportpulse ingest` subprocess in its own session, with its own port and log."""

    def __init__(self, broker_url: str, topic: str, log_dir: Path, *args: str,
                 env: dict[str, str] | None = None) -> None:  # fmt: skip
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.events_url = self.base + "/v1/events"
        self.log_path = log_dir / f"ingest-{self.port}.log"
        self.args = cli("ingest", "--broker", broker_url, "--topic", topic,
                        "--port", str(self.port), *args)  # fmt: skip
        self.env = {k: v for k, v in os.environ.items() if k != TOKEN_ENV} | (env or {})
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, *, ready: bool = True) -> Ingest:
        """Start; wait until /healthz answers (and /readyz says ready, if asked)."""
        with self.log_path.open("wb") as log:
            self.proc = subprocess.Popen(self.args, stdout=log, stderr=subprocess.STDOUT,
                                         env=self.env, start_new_session=True)  # fmt: skip
        path = "/readyz" if ready else "/healthz"
        wait_until(lambda: self.get(path)[0] == 200, timeout=20, interval=0.1,
                   what=f"ingest {path} (log: {self.log_path})")  # fmt: skip
        return self

    def get(self, path: str) -> tuple[int, Any]:
        """GET a path; fails at once if the process has exited."""
        assert self.alive(), f"ingest exited; log:\n{self.log()}"
        status, body = http_get(self.base + path)
        return status, orjson.loads(body)

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self) -> int | None:
        """SIGTERM, then SIGKILL after a grace period; returns the exit code."""
        return stop_group(self.proc, grace_s=15)


@contextmanager
def running(broker_url: str, topic: str, log_dir: Path, *args: str, ready: bool = True,
            env: dict[str, str] | None = None) -> Iterator[Ingest]:  # fmt: skip
    """A started ingest process, always stopped on exit."""
    ingest = Ingest(broker_url, topic, log_dir, *args, env=env)
    try:
        yield ingest.start(ready=ready)
    finally:
        ingest.stop()


@pytest.fixture
def token_file(tmp_path: Path) -> Path:
    path = tmp_path / "ingest-token"
    path.write_text(f"{TOKEN}\n")
    return path


def test_ingest__ndjson_reaches_the_topic_keyed_with_the_original_bytes(
    embedded_broker: EmbeddedBroker, make_topic: Callable[[], str], read_topic: Reader,
    tmp_path: Path, token_file: Path,
) -> None:  # fmt: skip
    topic = make_topic()
    lines = [event_line(n, f"T-{n % 5}") for n in range(20)]
    presence = orjson.dumps({"event_id": f"p-{uuid.uuid4().hex}", "type": "agent.presence",
                             "occurred_at": "2026-03-02T09:00:00+01:00", "agent": "ana",
                             "status": "online", "queues": ["billing"]})  # fmt: skip
    lines.insert(7, presence)
    body = b"\r\n".join(lines) + b"\r\n"
    with running(embedded_broker.url, topic, tmp_path, "--token-file", str(token_file)) as ingest:
        status, _, answer = post(ingest.events_url, body)
        assert status == 200, answer
        assert ingest.stop() == 0  # SIGTERM is a clean stop
    assert answer["accepted"] == 21
    assert [r["line"] for r in answer["results"]] == list(range(1, 22))
    records = read_topic(topic, 21)
    keys = [orjson.loads(line).get("ticket_id", "agent:ana").encode() for line in lines]
    assert sorted((r.key, r.value) for r in records) == sorted(zip(keys, lines, strict=True))
    for record in records:
        assert record.partition == partition_for(record.key.decode(), PARTITIONS)
    assert "POST /v1/events 200, 21 accepted, 0 rejected" in ingest.log()


def test_ingest__a_batch_with_one_invalid_line_writes_nothing(
    embedded_broker: EmbeddedBroker, make_topic: Callable[[], str], read_topic: Reader,
    tmp_path: Path,
) -> None:  # fmt: skip
    topic = make_topic()
    bad = event_line(2).replace(b'"queue":"billing"', b'"queue":""')
    batch = [event_line(1), bad, event_line(3)]
    sentinel = event_line(9, "T-SENTINEL")
    with running(embedded_broker.url, topic, tmp_path, env={TOKEN_ENV: TOKEN}) as ingest:
        status, _, answer = post(ingest.events_url, b"\n".join(batch))
        assert post(ingest.events_url, sentinel)[0] == 200
    assert status == 400
    assert answer["accepted"] == 0 and answer["rejected"] == 1
    [rejected] = [r for r in answer["results"] if r["status"] == "rejected"]
    assert rejected["line"] == 2 and rejected["reason"] == "schema_violation"
    assert "queue" in rejected["detail"]
    assert [r.value for r in read_topic(topic, 1)] == [sentinel]


def test_ingest__missing_or_wrong_token_is_401_and_never_logged(
    embedded_broker: EmbeddedBroker, make_topic: Callable[[], str], tmp_path: Path,
    token_file: Path,
) -> None:  # fmt: skip
    topic = make_topic()
    with running(embedded_broker.url, topic, tmp_path, "--token-file", str(token_file)) as ingest:
        for token in (None, "wrong-token", TOKEN.upper()):
            status, headers, answer = post(ingest.events_url, event_line(1), token=token)
            assert status == 401 and answer["error"] == "unauthorized", token
            assert headers["WWW-Authenticate"].startswith("Bearer")
        assert post(ingest.events_url, event_line(2))[0] == 200
    log = ingest.log()
    assert log.count("POST /v1/events 401") == 3 and TOKEN not in log and "wrong-token" not in log


def test_ingest__oversized_body_is_413(
    embedded_broker: EmbeddedBroker, make_topic: Callable[[], str], tmp_path: Path,
) -> None:  # fmt: skip
    topic = make_topic()
    body = b"\n".join(event_line(n) for n in range(80))  # about 10 KiB
    with running(embedded_broker.url, topic, tmp_path, "--max-body-bytes", "4096",
                 env={TOKEN_ENV: TOKEN}) as ingest:  # fmt: skip
        status, _, answer = post(ingest.events_url, body)
        assert status == 413 and answer["error"] == "body_too_large"
        assert "4096" in answer["detail"]
        assert post(ingest.events_url, event_line(1))[0] == 200  # still serving


def test_ingest__nothing_listening_at_the_broker_is_503_and_the_process_stays_up(
    tmp_path: Path,
) -> None:
    url = f"kafka://127.0.0.1:{find_free_port()}"
    with running(url, "support.ticket-events", tmp_path, "--ack-timeout", "2", ready=False,
                 env={TOKEN_ENV: TOKEN}) as ingest:  # fmt: skip
        status, body = ingest.get("/readyz")
        assert status == 503 and body["ready"] is False and "cannot reach Kafka" in body["problem"]
        status, headers, answer = post(ingest.events_url, event_line(1))
        assert status == 503 and answer["accepted"] == 0, answer
        assert answer["error"] == "broker_unavailable" and int(headers["Retry-After"]) > 0
        assert ingest.get("/healthz")[0] == 200 and ingest.alive()


def test_ingest__broker_stopping_turns_ready_to_503_without_accepting(
    tmp_path: Path,
) -> None:
    with EmbeddedBroker(stop_grace_s=0.5) as broker:
        topic = "lost-broker"
        ensure_topics(broker.bootstrap_servers, {topic: PARTITIONS})
        with running(broker.url, topic, tmp_path, "--ack-timeout", "2",
                     env={TOKEN_ENV: TOKEN}) as ingest:  # fmt: skip
            assert post(ingest.events_url, event_line(1))[0] == 200
            broker.stop()
            wait_until(lambda: ingest.get("/readyz")[0] == 503, timeout=10, interval=0.2,
                       what="/readyz 503 after the broker stopped")  # fmt: skip
            status, headers, answer = post(ingest.events_url, event_line(2))
            assert status == 503 and answer["accepted"] == 0 and "Retry-After" in headers
            assert ingest.alive()
    assert "Kafka unavailable, answering 503" in ingest.log()


def test_ingest__no_auth_on_loopback_accepts_anonymous_requests(
    embedded_broker: EmbeddedBroker, make_topic: Callable[[], str], tmp_path: Path,
) -> None:  # fmt: skip
    topic = make_topic()
    with running(embedded_broker.url, topic, tmp_path, "--no-auth") as ingest:
        assert post(ingest.events_url, event_line(1), token=None)[0] == 200
    assert "authentication: DISABLED" in ingest.log()
