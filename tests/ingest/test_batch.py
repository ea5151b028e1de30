"""Request bodies to lines and verdicts: media types, line numbers, the worker's codec, keys."""

from __future__ import annotations

import time

import orjson
import pytest

from stream.ingest.batch import (
    RejectedLine,
    UnsupportedMediaType,
    ValidLine,
    body_lines,
    media_kind,
    validate_lines,
)

NOW = time.time()


def _validate(lines: list[tuple[int, bytes]], **limits: float) -> list[ValidLine | RejectedLine]:
    options = {"max_bytes": 65536, "max_future_skew_s": 300.0, **limits}
    return list(validate_lines(lines, now_s=NOW, **options).lines)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("mimetype", "charset", "kind"),
    [
        ("application/json", None, "json"),
        ("application/json", "utf-8", "json"),
        ("application/x-ndjson", "UTF-8", "ndjson"),
        ("application/jsonl", None, "ndjson"),
        ("Application/X-NDJSON", None, "ndjson"),
    ],
)
def test_media_kind__accepted_types(mimetype: str, charset: str | None, kind: str) -> None:
    assert media_kind(mimetype, charset) == kind


@pytest.mark.parametrize(
    ("mimetype", "charset", "message"),
    [
        ("text/plain", None, "'text/plain'.*application/json, application/x-ndjson"),
        ("", None, "'\\(none\\)'"),
        ("application/x-www-form-urlencoded", None, "send application/json"),
        ("application/json", "latin-1", "charset 'latin-1'"),
    ],
)
def test_media_kind__others_say_what_is_accepted(
    mimetype: str, charset: str | None, message: str
) -> None:
    with pytest.raises(UnsupportedMediaType, match=message):
        media_kind(mimetype, charset)


def test_body_lines__ndjson_numbers_physical_lines_and_skips_blank_ones() -> None:
    body = b'{"a":1}\r\n\n  \n{"b":2}\n{"c":3}'
    assert body_lines(body, "ndjson") == [(1, b'{"a":1}'), (4, b'{"b":2}'), (5, b'{"c":3}')]


def test_body_lines__json_is_one_event_that_may_span_lines() -> None:
    body = b'\n  {\n  "a": 1\n}\n\n'
    assert body_lines(body, "json") == [(1, b'{\n  "a": 1\n}')]


@pytest.mark.parametrize("body", [b"", b"\n\n", b" \r\n\t"])
def test_body_lines__blank_body_has_no_events(body: bytes) -> None:
    assert body_lines(body, "ndjson") == [] and body_lines(body, "json") == []


def test_validate_lines__keys_are_the_workers_entity_keys() -> None:
    ticket = orjson.dumps({"event_id": "e1", "type": "survey.csat", "ticket_id": "T-9",
                           "occurred_at": "2026-03-02T09:00:00Z", "score": 5})  # fmt: skip
    presence = orjson.dumps({"event_id": "e2", "type": "agent.presence", "agent": "ana",
                             "status": "online", "queues": [],
                             "occurred_at": "2026-03-02T09:00:00Z"})  # fmt: skip
    nps = orjson.dumps({"event_id": "e3", "type": "survey.nps", "score": 9, "queue": "billing",
                        "occurred_at": "2026-03-02T09:00:00Z"})  # fmt: skip
    verdicts = _validate([(1, ticket), (2, presence), (3, nps)])
    assert verdicts == [ValidLine(1, ticket, "e1", b"T-9"),
                        ValidLine(2, presence, "e2", b"agent:ana"),
                        ValidLine(3, nps, "e3", b"nps:e3")]  # fmt: skip


def test_validate_lines__every_fault_is_reported_with_the_codecs_reason() -> None:
    good = orjson.dumps({"event_id": "e1", "type": "ticket.assigned", "ticket_id": "T-1",
                         "occurred_at": "2026-03-02T09:00:00Z", "assignee": None})  # fmt: skip
    future = good.replace(b"2026-03-02", b"2999-03-02")
    lines = [(1, good), (2, b"{not json"), (3, b'{"type":"ticket.teleported"}'),
             (4, b"\xff\xfe"), (5, future), (6, b'{"event_id":"x","type":"ticket.assigned"}'),
             (7, good + b" " * 100)]  # fmt: skip
    verdicts = _validate(lines, max_bytes=len(good) + 10)
    assert isinstance(verdicts[0], ValidLine)
    assert [(v.line, v.reason) for v in verdicts[1:] if isinstance(v, RejectedLine)] == [
        (2, "invalid_json"), (3, "unknown_type"), (4, "invalid_json"), (5, "future_timestamp"),
        (6, "schema_violation"), (7, "too_large"),
    ]  # fmt: skip
    assert "UTF-8" in verdicts[3].detail  # type: ignore[union-attr]


def test_rejection__lists_every_line_and_accepts_nothing() -> None:
    good = b'{"event_id":"e1","type":"ticket.assigned","ticket_id":"T-1",' \
           b'"occurred_at":"2026-03-02T09:00:00Z","assignee":"bo"}'  # fmt: skip
    batch = validate_lines([(1, good), (3, b"[]")], now_s=NOW, max_bytes=65536,
                           max_future_skew_s=300)  # fmt: skip
    body = batch.rejection()
    assert body["accepted"] == 0 and body["rejected"] == 1 and body["error"] == "invalid_events"
    assert body["results"] == [
        {"line": 1, "status": "valid", "event_id": "e1"},
        {"line": 3, "status": "rejected", "reason": "schema_violation",
         "detail": "event: must be a JSON object, got an array of 0 items"},
    ]  # fmt: skip
