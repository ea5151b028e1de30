"""HTTP surfaces on the worker's web server: /metrics, /healthz, /readyz, /api/*."""

from __future__ import annotations

from typing import Any

import faust
from prometheus_client import generate_latest

from stream.adapters.exporter import build_registry
from stream.adapters.staffing_exporter import StaffingCollector
from stream.processing.snapshot import queue_summary
from stream.wiring.runtime import Runtime
from stream.wiring.staffing import StaffingExchange, StaffingView
from stream.wiring.wall import register_wall

# The text exposition format (UTF-8). aiohttp refuses a charset inside content_type, so the
# library's constant cannot be passed as is.
METRICS_CONTENT_TYPE = "text/plain; version=0.0.4"


def register(app: faust.App, runtime: Runtime, staffing: StaffingExchange) -> None:
    """Add the supportpulse pages to the app's web server."""
    registry = build_registry(runtime.snapshot, StaffingCollector(staffing.view))

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

    @app.page("/api/staffing")
    async def staffing_page(web: Any, request: Any) -> Any:
        return web.json(staffing_json(staffing.view(), staffing))

    register_wall(app)


def staffing_json(view: StaffingView, staffing: StaffingExchange) -> dict[str, Any]:
    """/api/staffing: every queue's numbers with every input used, for audits and tools."""
    cfg = staffing.config
    return {
        "computed_at_seconds": view.computed_at_s,
        "clock": staffing.settings.clock,
        "partitions": view.partitions,
        "partitions_reporting": view.reporting,
        "partitions_stale": view.stale,
        "complete": view.complete,
        "model": "Erlang C (Poisson arrivals, no abandonment), trailing hour",
        "defaults": {
            "service_level": cfg.service_level,
            "realtime_answer_seconds": cfg.realtime_answer_s,
            "deferred_answer_seconds": cfg.deferred_answer_s,
            "max_occupancy": cfg.max_occupancy,
            "shrinkage": cfg.shrinkage,
            "fallback_aht_seconds": cfg.fallback_aht_s,
            "min_interactions": cfg.min_interactions,
            "presence_timeout_seconds": cfg.presence_timeout_s,
            "realtime_share": cfg.realtime_share,
        },
        "queues": {queue: s.to_dict() for queue, s in view.queues.items()},
    }
