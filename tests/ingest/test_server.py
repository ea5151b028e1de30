"""The ingest app in-process (aiohttp test server) with a real producer on the real broker."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import orjson
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from stream.ingest.producer import IngestProducer
from stream.ingest.server import EVENTS_PATH, IngestConfig, create_app
from stream.processing.routing import partition_for
from tests.ingest.ingest_helpers import NDJSON, PARTITIONS, TOKEN, event_line

AUTH = {"Authorization": f"Bearer {TOKEN}"}
Client = TestClient[web.Request, web.Application]
Reader = Callable[..., list[Any]]


@asynccontextmanager
async def serving(producer: IngestProducer, **config: Any) -> AsyncIterator[Client]:
    """The app on a free 127.0.0.1 port; the producer starts and stops with it."""
    app = create_app(IngestConfig(**{"token": TOKEN, **config}), producer)
    async with TestClient(TestServer(app)) as client:
        yield client


async def until_ready(client: Client, timeout_s: float = 15.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        resp = await client.get("/readyz")
        if resp.status == 200:
            return dict(await resp.json())
        await asyncio.sleep(0.1)
    raise AssertionError("the producer never became ready")


async def post(
    client: Client,
    body: Any,
    content_type: str = NDJSON,
    headers: dict[str, str] | None = None,
    **kwargs: Any,
) -> tuple[int, Any]:
    all_headers = {"Content-Type": content_type, **AUTH, **(headers or {})}
    resp = await client.post(EVENTS_PATH, data=body, headers=all_headers, **kwargs)
    return resp.status, await resp.json()


def event_id(line: bytes) -> str:
    return str(orjson.loads(line)["event_id"])


async def test_post_events__ndjson_is_produced_keyed_in_order_and_acknowledged(
    producer: IngestProducer, topic: str, read_topic: Reader
) -> None:
    tickets = ["T-A", "T-A", "T-B", "T-A"]
    lines = [event_line(n, ticket) for n, ticket in enumerate(tickets)]
    body = b"\n".join([*lines[:2], b"  ", *lines[2:]]) + b"\n"
    async with serving(producer) as client:
        ready = await until_ready(client)
        status, answer = await post(client, body)
    assert ready == {"ready": True, "topic": topic, "partitions": PARTITIONS}
    assert status == 200 and answer["accepted"] == 4, answer
    results = answer["results"]
    numbers = (1, 2, 4, 5)  # the blank third line is skipped, not renumbered
    expected = [(n, "accepted", event_id(line)) for n, line in zip(numbers, lines, strict=True)]
    assert [(r["line"], r["status"], r["event_id"]) for r in results] == expected
    assert [r["partition"] for r in results] == [partition_for(t, PARTITIONS) for t in tickets]
    a_offsets = [r["offset"] for r, t in zip(results, tickets, strict=True) if t == "T-A"]
    assert a_offsets == sorted(a_offsets) and len(set(a_offsets)) == 3
    records = await asyncio.to_thread(read_topic, topic, 4)
    got = sorted((r.partition, r.offset, r.key, r.value) for r in records)
    want = sorted((r["partition"], r["offset"], t.encode(), line)
                  for r, t, line in zip(results, tickets, lines, strict=True))  # fmt: skip
    assert got == want


async def test_post_events__json_body_is_one_event_sent_without_surrounding_whitespace(
    producer: IngestProducer, topic: str, read_topic: Reader
) -> None:
    event = orjson.dumps(orjson.loads(event_line(1, "T-J")), option=orjson.OPT_INDENT_2)
    async with serving(producer) as client:
        await until_ready(client)
        status, answer = await post(client, b"\n" + event + b"\n\n", "application/json")
    assert status == 200 and answer["accepted"] == 1 and answer["results"][0]["line"] == 1
    [record] = await asyncio.to_thread(read_topic, topic, 1)
    assert (record.key, record.value) == (b"T-J", event)


async def test_post_events__one_invalid_line_produces_nothing_and_is_named(
    producer: IngestProducer, topic: str, read_topic: Reader
) -> None:
    first, last = event_line(1), event_line(3)
    body = b"\n".join([first, b"", b'{"event_id":"x","type":"ticket.created"}', last])
    sentinel = event_line(9, "T-SENTINEL")
    async with serving(producer) as client:
        await until_ready(client)
        status, answer = await post(client, body)
        assert (await post(client, sentinel))[0] == 200
    assert status == 400, answer
    assert (answer["error"], answer["accepted"], answer["rejected"]) == ("invalid_events", 0, 1)
    results = answer["results"]
    assert [(r["line"], r["status"]) for r in results] == [(1, "valid"), (3, "rejected"),
                                                            (4, "valid")]  # fmt: skip
    assert results[0]["event_id"] == event_id(first)
    assert results[1]["reason"] == "schema_violation" and "required" in results[1]["detail"]
    # Only the later, valid request reached the topic.
    records = await asyncio.to_thread(read_topic, topic, 1)
    assert [r.value for r in records] == [sentinel]


async def test_post_events__not_utf8_and_future_lines_use_the_workers_reasons(
    producer: IngestProducer,
) -> None:
    future = event_line(2).replace(b"2026-03-02", b"2999-03-02")
    async with serving(producer, max_future_skew_s=60) as client:
        status, answer = await post(client, b"\n".join([b'{"a":"\xff"}', future]))
    assert status == 400
    assert [(r["line"], r["reason"]) for r in answer["results"]] == [
        (1, "invalid_json"), (2, "future_timestamp")]  # fmt: skip
    assert "not valid UTF-8" in answer["results"][0]["detail"]
    assert "allowed 60 s" in answer["results"][1]["detail"]


@pytest.mark.parametrize(
    "authorization",
    [None, "Bearer wrong-token", f"Basic {TOKEN}", f"Bearer {TOKEN}0", TOKEN],
)
async def test_post_events__missing_or_wrong_token_is_401(
    dead_producer: IngestProducer, authorization: str | None
) -> None:
    headers = {"Content-Type": NDJSON}
    if authorization is not None:
        headers["Authorization"] = authorization
    async with serving(dead_producer) as client:
        resp = await client.post(EVENTS_PATH, data=event_line(1), headers=headers)
        assert resp.status == 401
        assert resp.headers["WWW-Authenticate"].startswith("Bearer")
        assert (await resp.json())["error"] == "unauthorized"


async def test_post_events__without_a_configured_token_needs_none(
    producer: IngestProducer,
) -> None:
    async with serving(producer, token=None) as client:
        await until_ready(client)
        resp = await client.post(EVENTS_PATH, data=event_line(1), headers={"Content-Type": NDJSON})
        assert resp.status == 200


@pytest.mark.parametrize("content_type", ["text/plain", "application/json; charset=latin-1"])
async def test_post_events__unsupported_media_type_is_415_naming_the_accepted_ones(
    dead_producer: IngestProducer, content_type: str
) -> None:
    async with serving(dead_producer) as client:
        status, answer = await post(client, event_line(1), content_type)
    assert status == 415 and answer["error"] == "unsupported_media_type"
    assert ("application/x-ndjson" in answer["detail"]) or ("UTF-8" in answer["detail"])


async def test_post_events__missing_content_type_is_415(dead_producer: IngestProducer) -> None:
    async with serving(dead_producer) as client:
        resp = await client.post(EVENTS_PATH, data=event_line(1), headers=AUTH,
                                 skip_auto_headers=["Content-Type"])  # fmt: skip
        assert resp.status == 415
        assert "(none)" in (await resp.json())["detail"]


async def test_post_events__body_over_the_limit_is_413_by_length_or_while_streaming(
    dead_producer: IngestProducer,
) -> None:
    body = b"\n".join(event_line(n) for n in range(40))  # about 5 KiB

    async def chunked() -> AsyncIterator[bytes]:  # no Content-Length: the limit applies as read
        for start in range(0, len(body), 1000):
            yield body[start : start + 1000]

    async with serving(dead_producer, max_body_bytes=2048) as client:
        assert await post(client, body) == (413, {
            "error": "body_too_large", "accepted": 0,
            "detail": "the request body is over the limit of 2048 bytes: split it"})  # fmt: skip
        status, answer = await post(client, chunked())
        assert status == 413 and answer["error"] == "body_too_large"
        # Authentication is checked first: an anonymous client learns nothing about limits.
        resp = await client.post(EVENTS_PATH, data=body, headers={"Content-Type": NDJSON})
        assert resp.status == 401


async def test_post_events__too_many_events_is_413(dead_producer: IngestProducer) -> None:
    async with serving(dead_producer, max_events=2) as client:
        status, answer = await post(client, b"\n".join(event_line(n) for n in range(3)))
    assert status == 413 and answer["error"] == "too_many_events"


@pytest.mark.parametrize("body", [b"", b"\n \r\n"])
async def test_post_events__empty_body_is_400(dead_producer: IngestProducer, body: bytes) -> None:
    async with serving(dead_producer) as client:
        status, answer = await post(client, body)
    assert status == 400
    assert answer == {"error": "empty_body", "detail": "the request body holds no event",
                      "accepted": 0}  # fmt: skip


async def test_post_events__expect_100_continue_is_refused_before_the_body(
    dead_producer: IngestProducer,
) -> None:
    async with serving(dead_producer) as client:
        status, _ = await post(client, event_line(1), headers={"Authorization": "Bearer no"},
                               expect100=True)  # fmt: skip
        assert status == 401
        status, answer = await post(client, b"{}", expect100=True)  # allowed: body is read
        assert status == 400 and answer["results"][0]["reason"] == "schema_violation"


async def test_post_events__broker_unreachable_is_503_with_retry_after(
    dead_producer: IngestProducer,
) -> None:
    async with serving(dead_producer, retry_after_s=7) as client:
        resp = await client.post(EVENTS_PATH, data=event_line(1),
                                 headers={"Content-Type": NDJSON, **AUTH})  # fmt: skip
        assert resp.status == 503 and resp.headers["Retry-After"] == "7"
        answer = await resp.json()
        assert answer["error"] == "broker_unavailable" and answer["accepted"] == 0
        ready = await client.get("/readyz")
        assert ready.status == 503
        assert (await ready.json())["ready"] is False
        assert (await client.get("/healthz")).status == 200


async def test_routes__unknown_path_is_404_and_wrong_method_405(
    dead_producer: IngestProducer,
) -> None:
    async with serving(dead_producer) as client:
        assert (await client.get(EVENTS_PATH)).status == 405
        assert (await client.post("/v1/other", data=b"{}")).status == 404


async def test_request_log__one_line_per_request_never_the_token(
    producer: IngestProducer, caplog: pytest.LogCaptureFixture
) -> None:
    async with serving(producer) as client:
        await until_ready(client)
        caplog.clear()
        with caplog.at_level(logging.INFO, logger="stream.ingest.server"):
            await post(client, event_line(1), headers={"Authorization": f"Bearer {TOKEN}x"})
            await post(client, b"\n".join([event_line(2), event_line(3)]))
            await post(client, b"\n".join([event_line(4), b"nope"]))
    lines = [r.getMessage() for r in caplog.records if r.name == "stream.ingest.server"]
    assert len(lines) == 3, lines
    assert lines[0].startswith("POST /v1/events 401")
    assert lines[1].startswith("POST /v1/events 200, 2 accepted, 0 rejected")
    assert lines[2].startswith("POST /v1/events 400, 0 accepted, 1 rejected")
    assert TOKEN not in caplog.text
