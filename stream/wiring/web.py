"""HTTP surfaces on the worker's web server: /metrics, /healthz, /readyz, /api/summary."""

from __future__ import annotations

from typing import Any

import faust
from prometheus_client import generate_latest

from stream.adapters.exporter import build_registry
from stream.processing.snapshot import queue_summary
from stream.wiring.runtime import Runtime

# The text exposition format (UTF-8). aiohttp refuses a charset inside content_type, so the
# library's constant cannot be passed as is.
METRICS_CONTENT_TYPE = "text/plain; version=0.0.4"


def register(app: faust.App, runtime: Runtime) -> None:
    """Add the supportpulse pages to the app's web server."""
    registry = build_registry(runtime.snapshot)

    @app.page("/metrics")
    async def metrics(web: Any, request: Any) -> Any:
        return web.bytes(generate_latest(registry), content_type=METRICS_CONTENT_TYPE)

    @app.page("/healthz")
    async def healthz(web: Any, request: Any) -> Any:
        return web.json({"status": "ok"})

    @app.page("/readyz")
    async def readyz(web: Any, request: Any) -> Any:
        body = runtime.readiness()
        return web.json(body, status=200 if body["ready"] else 503)

    @app.page("/api/summary")
    async def summary(web: Any, request: Any) -> Any:
        snap = runtime.snapshot()
        return web.json({
            "processing_clock_seconds": snap.now_s,
            "clock": runtime.config.clock,
            "owned_partitions": snap.partitions,
            "events": {"consumed": snap.consumed, "applied": snap.applied,
                       "duplicate": snap.duplicate, "dead_lettered": snap.dead_lettered,
                       "held": snap.held},
            "queues": queue_summary(snap),
        })  # fmt: skip
