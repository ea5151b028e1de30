"""POST /v1/webhooks/{zendesk,freshdesk,jira}: a helpdesk's own webhook, mapped, then produced.

A helpdesk cannot send contract events, so this route takes its native webhook body, maps it
with the source's pure mapping (``stream/domain/sources``), validates every resulting event
like the worker does and produces them all or none, as ``/v1/events`` does. A webhook that
maps to no event (a kind the contract has no fact for) is answered 200 with what was not
mapped, so the helpdesk does not retry it for ever; the log line says so.

Authentication: the bearer token, or, for senders that cannot set headers but sign their
body (Jira Cloud's webhook secret), ``X-Hub-Signature: sha256=<HMAC of the body>`` with the
same token as the secret, compared in constant time.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any, Final

import orjson
from aiohttp import hdrs, web

from stream.domain.sources.common import Mapped
from stream.ingest.auth import bearer_matches
from stream.ingest.batch import validate_lines
from stream.ingest.config import CONFIG, PRODUCER
from stream.ingest.producer import BrokerUnavailable
from stream.ingest.responses import error, read_body, too_large

WEBHOOKS_PATH: Final = "/v1/webhooks/{source}"
SIGNATURE_HEADER: Final = "X-Hub-Signature"


def _zendesk(payload: Mapping[str, Any]) -> Mapped:
    from stream.domain.sources import zendesk

    return zendesk.map_webhook(dict(payload))


def _freshdesk(payload: Mapping[str, Any]) -> Mapped:
    from stream.domain.sources import freshdesk

    return freshdesk.map_webhook(payload, received_at=datetime.now(UTC))


def _jira(payload: Mapping[str, Any]) -> Mapped:
    from stream.domain.sources import jira

    return jira.map_webhook(payload)


MAPPINGS: Final[dict[str, Callable[[Mapping[str, Any]], Mapped]]] = {
    "zendesk": _zendesk,
    "freshdesk": _freshdesk,
    "jira": _jira,
}


def signature_matches(header: str | None, body: bytes, token: str) -> bool:
    """Whether ``sha256=<hex>`` is the HMAC-SHA256 of ``body`` keyed by ``token``."""
    if not header or not header.startswith("sha256="):
        return False
    expected = hmac.new(token.encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(header.removeprefix("sha256=").strip().lower(), expected)


async def post_webhook(request: web.Request) -> web.StreamResponse:
    """Map one webhook body to contract events and produce them all (or none)."""
    config = request.app[CONFIG]
    source = request.match_info["source"]
    mapping = MAPPINGS.get(source)
    if mapping is None:
        return error(404, "unknown_source", f"no webhook mapping for {source!r}; known: "
                      + ", ".join(sorted(MAPPINGS)))  # fmt: skip
    length = request.content_length
    if length is not None and length > config.max_body_bytes:
        return too_large(config.max_body_bytes)
    body = await read_body(request, config.max_body_bytes)
    if body is None:
        return too_large(config.max_body_bytes)
    if config.token is not None and not (
        bearer_matches(request.headers.get(hdrs.AUTHORIZATION), config.token)
        or signature_matches(request.headers.get(SIGNATURE_HEADER), body, config.token)
    ):
        return error(401, "unauthorized", "missing or wrong bearer token or body signature",
                      headers={hdrs.WWW_AUTHENTICATE: 'Bearer realm="supportpulse"'})  # fmt: skip
    try:
        payload = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        return error(400, "invalid_json", f"the webhook body is not JSON: {exc}")
    if not isinstance(payload, dict):
        return error(400, "invalid_payload", "the webhook body must be a JSON object")
    mapped = mapping(payload)
    report = {"unmapped": dict(mapped.unmapped), "skipped": dict(mapped.skipped)}
    lines = [(i, orjson.dumps(ev)) for i, ev in enumerate(mapped.events, start=1)]
    batch = validate_lines(lines, now_s=time.time(), max_bytes=config.max_message_bytes,
                           max_future_skew_s=config.max_future_skew_s)  # fmt: skip
    if batch.rejected:
        # The mapping made an event the contract refuses (a bad value in the webhook):
        # nothing is produced, and the answer says which event and why.
        return web.json_response({**batch.rejection(), **report}, status=400)
    try:
        delivered = await request.app[PRODUCER].produce([(v.key, v.raw) for v in batch.valid])
    except BrokerUnavailable as exc:
        return error(503, "broker_unavailable", f"{exc}; nothing was accepted, retry later",
                      headers={hdrs.RETRY_AFTER: str(config.retry_after_s)})  # fmt: skip
    results = [{"event_id": v.event_id, "partition": d.partition, "offset": d.offset}
               for v, d in zip(batch.valid, delivered, strict=True)]  # fmt: skip
    return web.json_response({"accepted": len(results), "results": results, **report})
