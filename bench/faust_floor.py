"""Faust alone: the most a Faust worker shaped like supportpulse's can do here.

Run as a subprocess by ``make bench`` (phase ``faust``). A Faust app with the worker's
consumer settings reads the same topic in batches (``take_events`` of the worker's batch
size and wait) and, per batch, writes one changelog record per distinct key it saw, as the
worker writes one per touched ticket; nothing is decoded or derived. Between (a), a bare
consumer, and (b), the whole product, this says what Faust itself costs per event, and so
how much of (b)'s time the product can still win back.

``--fast`` runs it as the worker runs: with :class:`stream.wiring.consumer.FastConsumer`
and the worker's garbage-collector settings (``stream.cli.worker_cmd.tune_gc``).

When ``--events`` messages have been counted it writes ``{"n", "first_s", "last_s",
"first_batch"}`` to ``--result`` and keeps running until the bench stops it.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from pathlib import Path
from typing import cast

import faust
import orjson

from stream.cli.worker_cmd import _worker_class, tune_gc
from stream.wiring.consumer import FastConsumer
from stream.wiring.settings import WorkerSettings


def build(args: argparse.Namespace) -> faust.App:
    """The app: the worker's consumer settings, one agent, one raw changelogged table."""
    s = WorkerSettings()
    app = faust.App(
        args.app_id, broker=args.broker, store="memory://", datadir=str(args.data_dir),
        topic_partitions=args.partitions, consumer_auto_offset_reset="earliest",
        web_enabled=False, producer_linger_ms=5, broker_commit_interval=1.0,
        broker_session_timeout=s.session_timeout_s, broker_rebalance_timeout=s.session_timeout_s,
        broker_heartbeat_interval=max(s.session_timeout_s / 10, 0.5),
    )  # fmt: skip
    if args.fast:
        app.transport.Consumer = FastConsumer  # type: ignore[misc]
    source = app.topic(args.topic, key_type=bytes, value_type=bytes, key_serializer="raw",
                       value_serializer="raw")  # fmt: skip
    table = cast(faust.Table, app.Table("floor", partitions=args.partitions, key_type=str))
    table.key_serializer = table.value_serializer = "raw"
    app.producer.buffer.max_messages = max(100, 2 * s.batch_size)
    seen = {"n": 0, "first_s": 0.0, "first_batch": 0, "done": False}

    @app.agent(source, name="floor.count")
    async def count(stream: faust.StreamT) -> None:
        batches = cast(faust.Stream, stream).take_events
        async for events in batches(s.batch_size, s.batch_within_s):
            now = time.time()
            if seen["n"] == 0:
                seen["first_s"], seen["first_batch"] = now, len(events)
            seen["n"] += len(events)
            keys = {(e.message.partition, e.message.key or b"") for e in events}
            for partition, key in keys:
                table.send_changelog(partition, key.decode(), b"%d" % seen["n"])
            if seen["n"] >= args.events and not seen["done"]:
                seen["done"] = True
                result = {"n": seen["n"], "first_s": seen["first_s"], "last_s": now,
                          "first_batch": seen["first_batch"]}  # fmt: skip
                args.result.write_bytes(orjson.dumps(result))

    return app


def main() -> None:
    """Run until stopped (the bench sends SIGTERM once the result file exists)."""
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--broker", required=True)
    p.add_argument("--topic", required=True)
    p.add_argument("--partitions", type=int, required=True)
    p.add_argument("--events", type=int, required=True)
    p.add_argument("--app-id", required=True)
    p.add_argument("--data-dir", type=Path, required=True)
    p.add_argument("--result", type=Path, required=True)
    p.add_argument("--fast", action="store_true")
    args = p.parse_args()
    asyncio.set_event_loop(asyncio.new_event_loop())
    app = build(args)
    if args.fast:
        tune_gc()
    worker = _worker_class()(app, loglevel="warning", quiet=True, redirect_stdouts=False)
    worker.execute_from_commandline()


if __name__ == "__main__":
    main()
