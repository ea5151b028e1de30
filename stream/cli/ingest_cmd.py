"""`supportpulse ingest`: an HTTP endpoint that validates events and produces them to Kafka."""

from __future__ import annotations

import argparse
import ipaddress
import logging
import os
import sys
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

DEFAULT_TOPIC = "support.ticket-events"
DEFAULT_PORT = 8088
DEFAULT_MAX_BODY_BYTES = 8 * 1024 * 1024


def _positive_int(value: str) -> int:
    number = int(value)
    if number < 1:
        raise argparse.ArgumentTypeError("must be >= 1")
    return number


def _positive_float(value: str) -> float:
    number = float(value)
    if not number > 0:
        raise argparse.ArgumentTypeError("must be > 0")
    return number


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare the command's flags (kept free of heavy imports: every command builds them)."""
    parser.description = (
        "Accept events over HTTP (POST /v1/events, JSON or NDJSON), validate them exactly as "
        "the worker does, and produce them to the input topic: all of a request's events or "
        "none. Clients authenticate with a bearer token from SUPPORTPULSE_INGEST_TOKEN or "
        "--token-file. See docs/ingest.md."
    )
    parser.add_argument("--broker", required=True, help="kafka://host:port[,host:port]")
    parser.add_argument("--topic", default=DEFAULT_TOPIC, help=f"default {DEFAULT_TOPIC}")
    parser.add_argument("--host", default="127.0.0.1", help="interface (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"default {DEFAULT_PORT}")
    parser.add_argument("--token-file", type=Path, help="file holding the bearer token")
    parser.add_argument(
        "--no-auth",
        action="store_true",
        help="accept requests without a token (development only; loopback hosts only)",
    )
    parser.add_argument(
        "--max-body-bytes",
        type=_positive_int,
        default=DEFAULT_MAX_BODY_BYTES,
        help=f"largest request body (default {DEFAULT_MAX_BODY_BYTES})",
    )
    parser.add_argument(
        "--max-events", type=_positive_int, default=10_000, help="most events per request"
    )
    parser.add_argument(
        "--ack-timeout",
        type=_positive_float,
        default=10.0,
        help="seconds to wait for the broker's acknowledgements before answering 503",
    )


def run(args: argparse.Namespace) -> int:
    """Serve until SIGINT/SIGTERM; 2 for a configuration error, 1 if the port is taken."""
    from aiohttp import web

    from stream.ingest.auth import TokenError, load_token
    from stream.ingest.producer import IngestProducer
    from stream.ingest.security import aiokafka_security
    from stream.ingest.server import EVENTS_PATH, IngestConfig, create_app
    from stream.kafka.urls import parse_broker_url

    try:
        brokers = parse_broker_url(args.broker)
        if args.no_auth and not _is_loopback(args.host):
            raise ValueError(f"--no-auth is for loopback development only, not --host {args.host}")
        token = None if args.no_auth else load_token(token_file=args.token_file,
                                                     env=os.environ, allow_none=False)  # fmt: skip
        security = aiokafka_security(os.environ)
        config = IngestConfig(token=token, max_body_bytes=args.max_body_bytes,
                              max_events=args.max_events, **_worker_limits())  # fmt: skip
    except (TokenError, ValueError) as exc:
        print(f"ingest: {exc}", file=sys.stderr)
        return 2
    # aiokafka logs every failed connection attempt at ERROR; the producer logs each change
    # of the connection's state instead, once.
    logging.getLogger("aiokafka").setLevel(logging.CRITICAL)
    producer = IngestProducer(
        brokers, args.topic, security=security, ack_timeout_s=args.ack_timeout
    )
    base = f"http://{_url_host(args.host)}:{args.port}"

    def announce(*_: Any, **__: Any) -> None:
        log.info("ingest listening on %s%s -> topic %s at %s; authentication: %s", base,
                 EVENTS_PATH, args.topic, ",".join(brokers),
                 "bearer token" if token else "DISABLED (--no-auth)")  # fmt: skip

    try:
        web.run_app(create_app(config, producer), host=args.host, port=args.port,
                    access_log=None, print=announce, shutdown_timeout=5.0)  # fmt: skip
    except OSError as exc:
        print(f"ingest: cannot listen on {args.host}:{args.port}: {exc}", file=sys.stderr)
        return 1
    return 0


def _worker_limits() -> dict[str, Any]:
    """The worker's validation limits from the same ``SUPPORTPULSE_*`` variables.

    An event this endpoint accepts must not be dead-lettered by a worker configured from the
    same environment.
    """
    limits: dict[str, Any] = {}
    for name, key, kind in (("MAX_MESSAGE_BYTES", "max_message_bytes", int),
                            ("MAX_FUTURE_SKEW_S", "max_future_skew_s", float)):  # fmt: skip
        value = os.environ.get(f"SUPPORTPULSE_{name}")
        if value:
            try:
                limits[key] = kind(value)
            except ValueError:
                raise ValueError(f"SUPPORTPULSE_{name}={value!r} is not a number") from None
    return limits


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host
