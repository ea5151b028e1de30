"""`supportpulse connect zendesk`: poll Zendesk's ticket event export into Kafka or a file."""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from types import FrameType
from typing import Any

DEFAULT_TOPIC = "support.ticket-events"
_SUBDOMAIN = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$")

Sink = tuple[Callable[[dict[str, Any]], None], Callable[[], None]]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare ``connect <source>`` and each source's flags."""
    sources = parser.add_subparsers(dest="source", required=True, metavar="SOURCE")
    p = sources.add_parser(
        "zendesk",
        help="Zendesk incremental ticket event export",
        description="Poll Zendesk's incremental ticket event export and publish the mapped "
        "events (docs/sources/zendesk.md). Credentials: ZENDESK_EMAIL and ZENDESK_API_TOKEN "
        "(or the flags; a flag is visible to other users in the process list).",
    )
    where = p.add_mutually_exclusive_group(required=True)
    where.add_argument("--subdomain", help="Zendesk subdomain: https://SUBDOMAIN.zendesk.com")
    where.add_argument("--base-url", help="Zendesk URL, e.g. https://example.zendesk.com")
    to = p.add_mutually_exclusive_group(required=True)
    to.add_argument("--broker", help="publish to kafka://host:port[,host:port]")
    to.add_argument("--out", type=Path, help="append the events to this JSON-lines file instead")
    p.add_argument("--topic", default=DEFAULT_TOPIC, help=f"default {DEFAULT_TOPIC}")
    p.add_argument("--state", type=Path, help="cursor file: resume from it, update it per page")
    p.add_argument("--start-time", type=int, help="epoch seconds to start from when the state "
                   "file does not exist yet (default: one hour ago)")  # fmt: skip
    p.add_argument("--interval", type=float, default=60.0, help="seconds between polls")
    p.add_argument("--once", action="store_true", help="read to the end of the stream and exit")
    p.add_argument("--email", help="API user (default $ZENDESK_EMAIL)")
    p.add_argument("--api-token", help="API token (default $ZENDESK_API_TOKEN)")
    p.add_argument("--groups", type=Path, help='JSON file {"<group id>": "<queue name>", ...}')
    who = p.add_mutually_exclusive_group()
    who.add_argument(
        "--agent-ids",
        help="comma-separated Zendesk agent ids, which decide comment authorship "
        "(default: the agents and admins Zendesk lists at every poll)",
    )
    who.add_argument(
        "--no-agent-list",
        action="store_true",
        help="do not list the agents: the requester's comments are the customer's, "
        "everyone else's an agent's",
    )


def run(args: argparse.Namespace) -> int:
    """Run ``connect <source>``; returns the exit code (2: bad usage, 1: failed)."""
    if args.source == "zendesk":
        return _run_zendesk(args)
    return 2  # pragma: no cover - argparse rejects other sources


def _run_zendesk(args: argparse.Namespace) -> int:
    from stream.connect.zendesk import Credentials, CursorFile, ZendeskConnector, ZendeskError
    from stream.kafka import KafkaUnavailableError
    from stream.kafka.publish import DeliveryError

    email = args.email or os.environ.get("ZENDESK_EMAIL")
    token = args.api_token or os.environ.get("ZENDESK_API_TOKEN")
    problem = _usage_problem(args, email, token)
    if problem:
        print(f"connect zendesk: {problem}", file=sys.stderr)
        return 2
    base_url = args.base_url or f"https://{args.subdomain}.zendesk.com"
    stop = threading.Event()
    try:
        groups = json.loads(args.groups.read_text()) if args.groups else None
        if groups is not None and not isinstance(groups, dict):
            raise ValueError(f"{args.groups}: expected a JSON object of group id -> queue name")
        agent_ids = [a.strip() for a in args.agent_ids.split(",")] if args.agent_ids else None
        with _stop_on_signals(stop), _sink(args) as (send, flush):
            connector = ZendeskConnector(
                base_url, Credentials(str(email), str(token)), send, flush=flush,
                cursor=CursorFile(args.state), start_time=args.start_time, groups=groups,
                agent_ids=agent_ids, fetch_agents=agent_ids is None and not args.no_agent_list,
                stop=stop.is_set, sleep=stop.wait,
            )  # fmt: skip
            stats = connector.poll() if args.once else connector.run(args.interval)
    except (ZendeskError, KafkaUnavailableError, DeliveryError, OSError, ValueError) as exc:
        print(f"connect zendesk: {exc}", file=sys.stderr)
        return 1
    where = args.out or f"{args.topic} at {args.broker}"
    unmapped, skipped = stats.unmapped.total(), stats.skipped.total()
    print(f"sent {stats.events} events from {stats.pages} pages to {where}; cursor end_time "
          f"{stats.cursor}; {unmapped} unmapped, {skipped} skipped")  # fmt: skip
    for text, count in stats.unmapped.most_common(10):
        print(f"  unmapped {count:6d}  {text}")
    return 0


def _usage_problem(args: argparse.Namespace, email: str | None, token: str | None) -> str | None:
    if not email or not token:
        return "set ZENDESK_EMAIL and ZENDESK_API_TOKEN (or give --email and --api-token)"
    if args.subdomain is not None and not _SUBDOMAIN.match(args.subdomain):
        return f"--subdomain {args.subdomain!r} is not a Zendesk subdomain"
    if args.base_url is not None and not re.match(r"^https?://[^/?#]+/?$", args.base_url):
        return f"--base-url {args.base_url!r}: expected https://host (no path)"
    if not args.interval > 0:
        return f"--interval must be > 0, got {args.interval}"
    return None


@contextlib.contextmanager
def _sink(args: argparse.Namespace) -> Iterator[Sink]:
    """``(send, flush)``: append to ``--out``, or publish to Kafka keyed by ticket."""
    import orjson

    if args.out is not None:
        with args.out.open("ab") as f:

            def write(event: dict[str, Any]) -> None:
                f.write(orjson.dumps(event) + b"\n")

            def sync() -> None:
                f.flush()
                os.fsync(f.fileno())

            yield write, sync
        return
    from stream.kafka import security_from_env
    from stream.kafka.publish import EventPublisher
    from stream.kafka.replay import record_key_and_timestamp
    from stream.kafka.urls import parse_broker_url

    security = security_from_env(os.environ)  # the workers' SUPPORTPULSE_* security
    with EventPublisher(parse_broker_url(args.broker), args.topic, security=security) as publisher:

        def publish(event: dict[str, Any]) -> None:
            raw = orjson.dumps(event)
            key, timestamp_ms = record_key_and_timestamp(raw)  # ticket_id, occurred_at
            publisher.publish(raw, key=key, timestamp_ms=timestamp_ms)

        yield publish, publisher.flush


@contextlib.contextmanager
def _stop_on_signals(stop: threading.Event) -> Iterator[None]:
    """SIGINT/SIGTERM finish the current page (its cursor saved), then stop."""

    def handle(signum: int, frame: FrameType | None) -> None:
        stop.set()

    previous = {s: signal.signal(s, handle) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
