"""The ingest endpoint's settings and the application keys its routes share."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from aiohttp import web

from stream.adapters.codec import DEFAULT_MAX_BYTES, DEFAULT_MAX_FUTURE_SKEW_S
from stream.ingest.producer import IngestProducer


@dataclass(frozen=True, slots=True)
class IngestConfig:
    """What the endpoint enforces; built once by the CLI.

    Attributes:
        token: The bearer token clients must present; None disables authentication.
        max_body_bytes: Largest request body (413 above it, before it is read).
        max_events: Most events in one request (413 above it), which bounds how long one
            request may hold the producer.
        max_message_bytes: Largest event, as the worker's ``MAX_MESSAGE_BYTES``.
        max_future_skew_s: How far ahead ``occurred_at`` may be, as the worker's setting.
        retry_after_s: The ``Retry-After`` of a 503.
    """

    token: str | None
    max_body_bytes: int = 8 * 1024 * 1024
    max_events: int = 10_000
    max_message_bytes: int = DEFAULT_MAX_BYTES
    max_future_skew_s: float = DEFAULT_MAX_FUTURE_SKEW_S
    retry_after_s: int = 5


CONFIG: Final = web.AppKey("config", IngestConfig)
PRODUCER: Final = web.AppKey("producer", IngestProducer)
