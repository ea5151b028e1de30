"""`supportpulse worker`: create the topics it needs, then run the Faust worker."""

from __future__ import annotations

import asyncio
import gc
import logging
import os
import threading
from typing import Any

from stream.wiring.settings import WorkerSettings

log = logging.getLogger(__name__)


def prepare_topics(settings: WorkerSettings) -> WorkerSettings:
    """Create the input, re-key, dead-letter and staffing topics; adopt the input's partitions.

    Faust refuses a table whose changelog partition count differs from its source topic, so
    every co-partitioned topic is created explicitly with the input topic's count. The
    staffing topic holds one small record per input partition, read whole by every worker:
    one partition, compacted.
    """
    from stream.kafka.topics import ensure_topics, existing_partition_counts

    security = kafka_python_security(settings)
    existing = existing_partition_counts(
        settings.bootstrap_servers, [settings.input_topic], security=security
    ).get(settings.input_topic)
    if existing is not None and existing != settings.partitions:
        log.info("input topic %s has %d partitions; using that", settings.input_topic, existing)
        settings = settings.model_copy(update={"partitions": existing})
    n = settings.partitions
    ensure_topics(
        settings.bootstrap_servers,
        {settings.input_topic: n, f"{settings.input_topic}.rekeyed": n,
         f"{settings.input_topic}.dlq": n, settings.staffing_topic: 1},
        security=security,
        configs={settings.staffing_topic: {"cleanup.policy": "compact"}},
    )  # fmt: skip
    return settings


def kafka_python_security(settings: WorkerSettings) -> dict[str, object]:
    """SASL/TLS settings as kafka-python keyword arguments (empty for PLAINTEXT)."""
    from stream.kafka import security_options

    password = settings.sasl_password.get_secret_value() if settings.sasl_password else None
    return security_options(
        settings.security_protocol, mechanism=settings.sasl_mechanism,
        username=settings.sasl_username, password=password,
        cafile=str(settings.ssl_cafile) if settings.ssl_cafile else None,
    )  # fmt: skip


# How long a worker may take to stop after SIGTERM/SIGINT before it exits anyway. aiokafka
# can wait for ever on a broker that is gone; nothing is lost by exiting, since state is in
# the changelog and uncommitted messages are read again.
SHUTDOWN_GRACE_S = 20.0


def _worker_class() -> type:
    from faust.worker import Worker

    class BoundedShutdownWorker(Worker):
        """A Faust worker whose shutdown cannot hang."""

        def _schedule_shutdown(self, signal: Any) -> None:
            timer = threading.Timer(SHUTDOWN_GRACE_S, _force_exit)
            timer.daemon = True
            timer.start()
            super()._schedule_shutdown(signal)

    return BoundedShutdownWorker


def _force_exit() -> None:
    log.error("worker did not stop within %.0f s (broker unreachable?); exiting now",
              SHUTDOWN_GRACE_S)  # fmt: skip
    logging.shutdown()
    os._exit(1)


#: Allocations between two young-generation collections (CPython's default is 700), and
#: how many of those per middle-generation one (default 10). See tune_gc.
GC_THRESHOLDS = (20_000, 20, 10)


def tune_gc() -> None:
    """Make the cyclic garbage collector cheap for a worker's heap.

    A worker allocates a few dozen short-lived containers per message (Faust's events and
    futures, decoded events, derived facts) on top of a heap of ticket state that only
    grows. At CPython's default threshold of 700 the collector ran every few dozen messages
    and took a quarter of the processor's time (``make bench``, phase core). A larger young
    generation makes the same garbage cost far fewer passes, and freezing what start-up
    built (modules, Faust, the app) keeps it out of every later full collection. Memory is
    unaffected: the state is not garbage, and cycles are still collected, in larger steps.
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)


def run_worker(settings: WorkerSettings, *, loglevel: str = "info") -> int:
    """Run a worker until SIGINT/SIGTERM."""
    from stream.wiring import end_offsets
    from stream.wiring.app import create_app

    settings = prepare_topics(settings)
    end_offsets.install(settings.bootstrap_servers, kafka_python_security(settings))
    asyncio.set_event_loop(asyncio.new_event_loop())
    app, _runtime = create_app(settings)
    log.info(
        "worker %s: broker %s, input %s (%d partitions), clock %s, web http://%s:%d",
        settings.app_id, settings.broker, settings.input_topic, settings.partitions,
        settings.clock, settings.web_host, settings.web_port,
    )  # fmt: skip
    tune_gc()
    worker = _worker_class()(app, loglevel=loglevel, quiet=True, redirect_stdouts=False)
    worker.execute_from_commandline()  # raises SystemExit when the worker stops
    return 0
