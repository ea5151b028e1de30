"""Shared by the ingest tests: the token, valid event lines, and a POST over plain urllib."""

from __future__ import annotations

import urllib.error
import urllib.request
import uuid
from typing import Any

import orjson

PARTITIONS = 3
TOKEN = "test-token-7f3c2a9e0b414c8e"
NDJSON = "application/x-ndjson"


def event_line(n: int, ticket: str | None = None, **fields: Any) -> bytes:
    """One valid ``ticket.created`` line with a fresh id (old events are always accepted)."""
    event = {"event_id": f"ev-{n}-{uuid.uuid4().hex[:8]}", "type": "ticket.created",
             "occurred_at": "2026-03-02T09:00:00Z", "ticket_id": ticket or f"T-{n}",
             "queue": "billing", **fields}  # fmt: skip
    return orjson.dumps(event)


def post(url: str, body: bytes, *, token: str | None = TOKEN, content_type: str = NDJSON,
         timeout: float = 15.0) -> tuple[int, dict[str, str], Any]:  # fmt: skip
    """POST a body; status, headers and the JSON answer (errors are returned, not raised)."""
    headers = {"Content-Type": content_type}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(url, data=body, method="POST", headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as resp:
            return resp.status, dict(resp.headers), orjson.loads(resp.read())
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), orjson.loads(exc.read())
