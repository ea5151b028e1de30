"""The `supportpulse` command: broker, worker, replay, simulate, validate, ingest, import, demo."""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

DEFAULT_TOPIC = "support.ticket-events"


def _speed(value: str) -> float | None:
    if value == "max":
        return None
    speed = float(value)
    if speed <= 0:
        raise argparse.ArgumentTypeError("speed must be > 0 or 'max'")
    return speed


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (also used by the docs test of the README's CLI section)."""
    parser = argparse.ArgumentParser(
        prog="supportpulse", description="Live customer-support health from ticket events."
    )
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("broker", help="embedded Kafka-compatible broker (memory only)")
    p.add_argument("--port", type=int, default=None, help="port on 127.0.0.1 (default: free)")

    p = sub.add_parser(
        "worker",
        help="the stream processor (Faust worker)",
        description="Flags override SUPPORTPULSE_* environment variables, which override "
        "the defaults; see the README for every setting.",
    )
    p.add_argument("--broker", required=True, help="kafka://host:port[,host:port]")
    p.add_argument("--web-port", type=int, help="HTTP port (default 6066)")
    p.add_argument("--web-host", help="HTTP interface (default 127.0.0.1)")
    p.add_argument(
        "--clock",
        choices=("wall", "event"),
        help="processing clock: wall time (live, default) or stream time (replays)",
    )
    p.add_argument(
        "--policies",
        help="SLA policy file, TOML (default: the shipped deploy/sla/policies.toml; "
        "'none': no SLA clocks)",
    )
    p.add_argument(
        "--staffing",
        help="staffing file, TOML: Erlang C targets per queue (default: the shipped "
        "deploy/staffing/staffing.toml)",
    )
    p.add_argument("--data-dir", type=Path, help="Faust's local directory")
    p.add_argument("--topic", dest="input_topic", help=f"input topic (default {DEFAULT_TOPIC})")
    p.add_argument("--partitions", type=int, help="partitions of topics the worker creates")
    p.add_argument("--app-id", help="consumer group and table prefix (default supportpulse)")
    p.add_argument("--loglevel", default="info")

    p = sub.add_parser("replay", help="publish a JSON-lines file with its own timestamps")
    p.add_argument("file", type=Path)
    p.add_argument("--broker", required=True)
    p.add_argument("--topic", default=DEFAULT_TOPIC)
    p.add_argument("--speed", type=_speed, default=None, help="N x real time, or max")

    p = sub.add_parser("simulate", help="realistic synthetic ticket traffic")
    p.add_argument("--broker", help="publish live to this broker")
    p.add_argument("--topic", default=DEFAULT_TOPIC)
    p.add_argument("--rate", type=float, default=30.0, help="new tickets per minute")
    p.add_argument("--duration", type=float, default=None, help="seconds (default: forever)")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--out", type=Path, help="write a history to this JSON-lines file instead")

    p = sub.add_parser("validate", help="check a JSON-lines file against the event schema")
    p.add_argument("file", type=Path)

    # Getting events in: each command lives in its own module (add_arguments / run), which
    # keeps its heavy imports inside run().
    for name, module, text in _SOURCE_COMMANDS:
        importlib.import_module(module).add_arguments(sub.add_parser(name, help=text))

    p = sub.add_parser("demo", help="embedded broker + worker + simulator, zero setup")
    p.add_argument("--web-port", type=int, default=6066)
    p.add_argument("--rate", type=float, default=60.0, help="new tickets per minute")
    p.add_argument("--seed", type=int, default=1)
    return parser  # fmt: skip


_SOURCE_COMMANDS = (
    ("ingest", "stream.cli.ingest_cmd", "HTTP endpoint: POST /v1/events -> the input topic"),
    ("import", "stream.cli.import_cmd",
     "map a Zendesk, Freshdesk or Jira export, or an event log, to contract events"),
    ("connect", "stream.cli.connect_cmd", "poll a helpdesk API and publish its ticket events"),
)  # fmt: skip


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `supportpulse` console script."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")  # fmt: skip
    # kafka-python logs every connection at INFO; keep its warnings only.
    logging.getLogger("kafka").setLevel(logging.WARNING)
    if args.command == "broker":
        from stream.kafka.embedded import run_broker_foreground

        return run_broker_foreground(args.port)
    if args.command == "worker":
        from stream.adapters.toml_checker import ConfigFileError
        from stream.cli.worker_cmd import run_worker
        from stream.wiring.app import load_policies, load_staffing
        from stream.wiring.settings import WorkerSettings

        given = {name: getattr(args, name) for name in (
            "broker", "web_port", "web_host", "clock", "data_dir", "input_topic", "partitions",
            "app_id", "policies", "staffing") if getattr(args, name) is not None}  # fmt: skip
        try:
            settings = WorkerSettings(**given)
        except ValueError as exc:
            print(f"worker: invalid settings: {exc}", file=sys.stderr)
            return 2
        try:  # checked before anything starts, so a typo fails at once and clearly
            policies = load_policies(settings.policies)
        except (ConfigFileError, OSError) as exc:
            print(f"worker: SLA policies: {exc}", file=sys.stderr)
            return 2
        try:
            load_staffing(settings.staffing)
        except (ConfigFileError, OSError, ValueError) as exc:
            print(f"worker: staffing: {exc}", file=sys.stderr)
            return 2
        logging.getLogger(__name__).info(
            "SLA policies: %s", ", ".join(p.name for p in policies.policies) or "none"
        )
        return run_worker(settings, loglevel=args.loglevel)
    if args.command == "replay":
        from stream.kafka import security_from_env
        from stream.kafka.replay import run_replay
        from stream.kafka.urls import parse_broker_url

        try:  # the workers' SUPPORTPULSE_SECURITY_PROTOCOL, SASL_* and SSL_CAFILE
            security = security_from_env(os.environ)
        except ValueError as exc:
            print(f"replay: {exc}", file=sys.stderr)
            return 2
        return run_replay(args.file, parse_broker_url(args.broker), args.topic, args.speed,
                          security=security)  # fmt: skip
    if args.command == "simulate":
        return _simulate(args)
    if args.command == "validate":
        from stream.cli.validate_cmd import validate_file

        return validate_file(args.file, sys.stdout)
    for name, module, _text in _SOURCE_COMMANDS:
        if args.command == name:
            run: Any = importlib.import_module(module).run
            return int(run(args))
    if args.command == "demo":
        from stream.cli.demo_cmd import run_demo

        return run_demo(web_port=args.web_port, rate=args.rate, seed=args.seed)
    return 2  # pragma: no cover - argparse rejects unknown commands


def _simulate(args: argparse.Namespace) -> int:
    from stream.cli.simulate_cmd import simulate_live, simulate_to_file

    if args.out is not None:
        duration = args.duration or 3600.0
        n = simulate_to_file(
            args.out,
            seed=args.seed,
            duration_s=duration,
            tickets_per_minute=args.rate,
            start_s=time.time() - duration,
        )
        print(f"wrote {n} events to {args.out}")
        return 0
    if not args.broker:
        print("simulate: give --broker kafka://host:port or --out FILE", file=sys.stderr)
        return 2
    import orjson

    from stream.kafka import security_from_env
    from stream.kafka.publish import EventPublisher
    from stream.kafka.urls import parse_broker_url
    from stream.processing.routing import entity_key

    try:
        security = security_from_env(os.environ)
    except ValueError as exc:
        print(f"simulate: {exc}", file=sys.stderr)
        return 2
    with EventPublisher(parse_broker_url(args.broker), args.topic, security=security) as publisher:

        def send(event: dict[str, object]) -> None:
            key = entity_key(event)
            publisher.publish(orjson.dumps(event), key=key.encode() if key else None,
                              timestamp_ms=None)  # fmt: skip

        n = simulate_live(send, seed=args.seed, tickets_per_minute=args.rate,
                          duration_s=args.duration)  # fmt: skip
    print(f"published {n} events")
    return 0


if __name__ == "__main__":
    sys.exit(main())
