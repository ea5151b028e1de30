"""The aiohttp application: POST /v1/events and /v1/webhooks/{source}, /healthz, /readyz."""

from __future__ import annotations

import contextvars
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Final

from aiohttp import hdrs, web

from stream.ingest.auth import bearer_matches
from stream.ingest.batch import UnsupportedMediaType, body_lines, media_kind, validate_lines
from stream.ingest.config import CONFIG, PRODUCER, IngestConfig
from stream.ingest.producer import BrokerUnavailable, IngestProducer
from stream.ingest.responses import error, read_body, too_large
from stream.ingest.webhooks import WEBHOOKS_PATH, post_webhook

__all__ = ["EVENTS_PATH", "IngestConfig", "create_app"]

log = logging.getLogger(__name__)

EVENTS_PATH: Final = "/v1/events"


# (accepted, rejected) of a POST, for the request's log line. A context variable, not request
# storage: the handler runs in the middleware's task, and it works on every aiohttp 3.9+.
_COUNTS: Final[contextvars.ContextVar[tuple[int, int] | None]] = contextvars.ContextVar(
    "ingest_counts", default=None
)


def create_app(config: IngestConfig, producer: IngestProducer) -> web.Application:
    """Build the application; the producer is started and stopped with it."""
    app = web.Application(client_max_size=config.max_body_bytes, middlewares=[_request_log])
    app[CONFIG] = config
    app[PRODUCER] = producer
    app.cleanup_ctx.append(_producer_lifecycle)
    app.router.add_post(EVENTS_PATH, _post_events, expect_handler=_expect)
    app.router.add_post(WEBHOOKS_PATH, post_webhook)
    app.router.add_get("/healthz", _healthz)
    app.router.add_get("/readyz", _readyz)
    return app


async def _producer_lifecycle(app: web.Application) -> AsyncIterator[None]:
    await app[PRODUCER].start()
    yield
    await app[PRODUCER].stop()


async def _post_events(request: web.Request) -> web.StreamResponse:
    config = request.app[CONFIG]
    refusal = _check_headers(request)
    if refusal is not None:
        return refusal
    kind = media_kind(request.content_type, request.charset)
    body = await read_body(request, config.max_body_bytes)
    if body is None:
        return too_large(config.max_body_bytes)
    lines = body_lines(body, kind)
    if not lines:
        return error(400, "empty_body", "the request body holds no event")
    if len(lines) > config.max_events:
        return error(413, "too_many_events", f"{len(lines)} events in one request; at most "
                      f"{config.max_events}: split the body")  # fmt: skip
    batch = validate_lines(lines, now_s=time.time(), max_bytes=config.max_message_bytes,
                           max_future_skew_s=config.max_future_skew_s)  # fmt: skip
    if batch.rejected:
        _COUNTS.set((0, len(batch.rejected)))
        return web.json_response(batch.rejection(), status=400)
    valid = batch.valid
    try:
        delivered = await request.app[PRODUCER].produce([(v.key, v.raw) for v in valid])
    except BrokerUnavailable as exc:
        # Retrying is safe even if some records did get through: the worker counts a
        # repeated event_id as a duplicate, and it changes nothing.
        return error(503, "broker_unavailable", f"{exc}; nothing was accepted, retry later",
                      headers={hdrs.RETRY_AFTER: str(config.retry_after_s)})  # fmt: skip
    _COUNTS.set((len(valid), 0))
    results = [{"line": v.line, "status": "accepted", "event_id": v.event_id,
                "partition": d.partition, "offset": d.offset}
               for v, d in zip(valid, delivered, strict=True)]  # fmt: skip
    return web.json_response({"accepted": len(valid), "results": results})


def _check_headers(request: web.Request) -> web.Response | None:
    """Refuse on the headers alone (401, 415, 413), before any of the body is read."""
    config = request.app[CONFIG]
    if config.token is not None and not bearer_matches(
        request.headers.get(hdrs.AUTHORIZATION), config.token
    ):
        return error(401, "unauthorized", "missing or wrong bearer token",
                      headers={hdrs.WWW_AUTHENTICATE: 'Bearer realm="supportpulse"'})  # fmt: skip
    try:
        mimetype = request.content_type if hdrs.CONTENT_TYPE in request.headers else ""
        media_kind(mimetype, request.charset)
    except UnsupportedMediaType as exc:
        return error(415, "unsupported_media_type", str(exc))
    length = request.content_length
    if length is not None and length > config.max_body_bytes:
        return too_large(config.max_body_bytes)
    return None


async def _expect(request: web.Request) -> web.Response | None:
    """Answer ``Expect: 100-continue`` with the refusal when the headers already decide it.

    A client such as curl then never sends a body that would be refused anyway.
    """
    refusal = _check_headers(request)
    if refusal is not None:
        _log(request, refusal.status, 0.0)
        return refusal
    if request.headers.get(hdrs.EXPECT, "").lower() != "100-continue":
        return error(417, "expectation_failed", "only Expect: 100-continue is understood")
    if request.version >= (1, 1):
        await request.writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        request.writer.output_size = 0
    return None


async def _healthz(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


async def _readyz(request: web.Request) -> web.Response:
    producer = request.app[PRODUCER]
    return web.json_response(producer.status(), status=200 if producer.ready else 503)


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@web.middleware
async def _request_log(request: web.Request, handler: Handler) -> web.StreamResponse:
    """One log line per request: status and counts, never headers (they carry the token)."""
    started = time.monotonic()
    status = 500
    reset = _COUNTS.set(None)
    try:
        response = await handler(request)
        status = response.status
        return response
    except web.HTTPException as exc:
        status = exc.status
        raise
    finally:
        _log(request, status, time.monotonic() - started)
        _COUNTS.reset(reset)


def _log(request: web.Request, status: int, elapsed_s: float) -> None:
    counts = _COUNTS.get()
    level = logging.DEBUG if request.path in ("/healthz", "/readyz") else logging.INFO
    extra = f", {counts[0]} accepted, {counts[1]} rejected" if counts else ""
    log.log(level, "%s %s %d%s (%.0f ms, %s)", request.method, request.path, status, extra,
            elapsed_s * 1000, request.remote)  # fmt: skip
