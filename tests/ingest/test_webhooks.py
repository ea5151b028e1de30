"""POST /v1/webhooks/{source}: native helpdesk webhooks mapped, validated and produced."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson

from stream.domain.sources import jira
from stream.ingest.producer import IngestProducer
from stream.ingest.webhooks import signature_matches
from tests.ingest.ingest_helpers import TOKEN
from tests.ingest.test_server import AUTH, Client, serving, until_ready

DATA = Path(__file__).parents[1] / "domain" / "sources" / "data"


async def hook(client: Client, source: str, body: bytes, headers: dict[str, str]) -> Any:
    resp = await client.post(f"/v1/webhooks/{source}", data=body,
                             headers={"Content-Type": "application/json", **headers})  # fmt: skip
    return resp.status, await resp.json()


def test_signature__hmac_sha256_of_the_body_with_the_token() -> None:
    body = b'{"webhookEvent": "jira:issue_updated"}'
    good = "sha256=" + hmac.new(TOKEN.encode(), body, hashlib.sha256).hexdigest()
    assert signature_matches(good, body, TOKEN)
    assert not signature_matches(good, body + b" ", TOKEN)
    assert not signature_matches(None, body, TOKEN)
    assert not signature_matches(good.replace("sha256=", "sha1="), body, TOKEN)


async def test_webhook__jira_issue_created_is_mapped_and_produced(
    producer: IngestProducer, topic: str, read_topic: Callable[..., list[Any]]
) -> None:
    body = (DATA / "jira" / "issue_created.json").read_bytes()
    expected = jira.map_webhook(json.loads(body)).events
    assert expected
    async with serving(producer) as client:
        await until_ready(client)
        status, answer = await hook(client, "jira", body, AUTH)
    assert status == 200, answer
    assert answer["accepted"] == len(expected)
    records = read_topic(topic, len(expected))
    assert [orjson.loads(r.value) for r in records] == expected
    assert {r.key for r in records} == {expected[0]["ticket_id"].encode()}


async def test_webhook__a_signed_body_needs_no_bearer_token(
    producer: IngestProducer, topic: str
) -> None:
    body = (DATA / "jira" / "issue_created.json").read_bytes()
    signature = "sha256=" + hmac.new(TOKEN.encode(), body, hashlib.sha256).hexdigest()
    async with serving(producer) as client:
        await until_ready(client)
        status, _ = await hook(client, "jira", body, {"X-Hub-Signature": signature})
        assert status == 200
        status, answer = await hook(client, "jira", body, {"X-Hub-Signature": "sha256=00"})
        assert (status, answer["error"]) == (401, "unauthorized")


async def test_webhook__unmapped_kinds_are_reported_not_retried(
    producer: IngestProducer, topic: str
) -> None:
    body = (DATA / "jira" / "issue_deleted.json").read_bytes()
    async with serving(producer) as client:
        await until_ready(client)
        status, answer = await hook(client, "jira", body, AUTH)
    assert status == 200
    assert answer["accepted"] == 0
    assert answer["unmapped"]


async def test_webhook__unknown_source_and_bad_json(producer: IngestProducer) -> None:
    async with serving(producer) as client:
        status, answer = await hook(client, "servicenow", b"{}", AUTH)
        assert (status, answer["error"]) == (404, "unknown_source")
        status, answer = await hook(client, "zendesk", b"{not json", AUTH)
        assert (status, answer["error"]) == (400, "invalid_json")
        status, answer = await hook(client, "zendesk", b"[1, 2]", AUTH)
        assert (status, answer["error"]) == (400, "invalid_payload")
