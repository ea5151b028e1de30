"""The Faust app factory: topics, the state table, the agent, timers and web pages."""

from __future__ import annotations

from typing import Any, cast

import faust

from stream.adapters.policy_file import default_policy_path, load_policy_file
from stream.adapters.staffing_file import default_staffing_path, load_staffing_file
from stream.domain.policies import PolicySet
from stream.domain.staffing import StaffingConfig
from stream.processing.config import ProcessorConfig
from stream.wiring import codec, web
from stream.wiring.broker_health import BrokerHealth
from stream.wiring.consumer import FastConsumer
from stream.wiring.runtime import Runtime
from stream.wiring.settings import WorkerSettings
from stream.wiring.staffing import StaffingExchange

STATE_TABLE = "state"
#: Largest record the worker's producer sends (a client-side check only; the broker keeps
#: its own limit): far above the 1 MiB Kafka accepts by default, so that every consumed
#: message can be dead-lettered with its original bytes.
PRODUCER_MAX_REQUEST_BYTES = 16 * 1024 * 1024
#: Largest record batch the producer builds (changelog batches fill it).
PRODUCER_MAX_BATCH_BYTES = 512 * 1024
#: Room left in a produce request for a dead letter's headers (a detail line is at most
#: 300 characters) and the record framing: longer values are cut (see Runtime.flush_effects).
DLQ_HEADROOM_BYTES = 64 * 1024


def faust_broker_options(settings: WorkerSettings) -> dict[str, object]:
    """Broker security options for Faust (SASL/TLS pass-through)."""
    if settings.security_protocol == "PLAINTEXT":
        return {}
    import ssl

    context = ssl.create_default_context(
        cafile=str(settings.ssl_cafile) if settings.ssl_cafile else None
    )
    if settings.security_protocol == "SSL":
        return {"broker_credentials": faust.SSLCredentials(context)}
    password = settings.sasl_password.get_secret_value() if settings.sasl_password else ""
    return {
        "broker_credentials": faust.SASLCredentials(
            username=settings.sasl_username or "",
            password=password,
            mechanism=settings.sasl_mechanism or "PLAIN",
            ssl_context=context if settings.security_protocol == "SASL_SSL" else None,
        )
    }


def load_policies(spec: str | None) -> PolicySet:
    """The SLA policies a worker runs with: a file, the shipped default, or none."""
    if spec is not None and spec.strip().lower() == "none":
        return PolicySet(())
    return load_policy_file(spec or default_policy_path())


def load_staffing(spec: str | None) -> StaffingConfig:
    """The staffing targets a worker runs with: a file, or the shipped default."""
    return load_staffing_file(spec or default_staffing_path())


def create_app(settings: WorkerSettings) -> tuple[faust.App, Runtime]:
    """Build the worker app. Nothing is read from the environment here: settings come in."""
    codec.register()
    app = faust.App(
        settings.app_id,
        broker=settings.broker,
        store="memory://",
        datadir=str(settings.data_dir),
        topic_partitions=settings.partitions,
        table_standby_replicas=settings.standby_replicas,
        consumer_auto_offset_reset="earliest",
        web_bind=settings.web_host,
        web_host=settings.web_host,
        web_port=settings.web_port,
        producer_linger_ms=5,
        # Changelog writes go out as whole record batches (see stream.wiring.changelog):
        # a batch of 5,000 events writes about 3 MB. Half of Kafka's default record-batch
        # limit (message.max.bytes, 1 MiB) per batch keeps the round trips few.
        producer_max_batch_size=PRODUCER_MAX_BATCH_BYTES,
        # A dead letter is the consumed message unchanged plus ~400 bytes of headers, so the
        # producer must take whatever the broker delivered: at Faust's 1,000,000-byte default
        # a 1 MB input (Kafka accepts up to 1 MiB) made the send raise and crash the agent.
        producer_max_request_size=PRODUCER_MAX_REQUEST_BYTES,
        consumer_group_instance_id=settings.group_instance_id,
        broker_commit_interval=1.0,
        # Tansu answers a JoinGroup only after half the session timeout; Faust's 60 s
        # default would keep a fresh worker idle for 30 s. Heartbeats run in the consumer
        # thread, so a long batch on the event loop does not cost the session.
        broker_session_timeout=settings.session_timeout_s,
        broker_rebalance_timeout=settings.session_timeout_s,
        broker_heartbeat_interval=max(settings.session_timeout_s / 10, 0.5),
        **faust_broker_options(settings),  # type: ignore[arg-type]
    )
    config = ProcessorConfig(
        input_topic=settings.input_topic,
        partitions=settings.partitions,
        fcr_reopen_window_s=settings.fcr_reopen_window_s,
        orphan_timeout_s=settings.orphan_timeout_s,
        max_future_skew_s=settings.max_future_skew_s,
        max_message_bytes=settings.max_message_bytes,
        default_backlog_age_s=settings.default_backlog_age_s,
        max_queues=settings.max_queues,
        max_ticket_events=settings.max_ticket_events,
        max_held_bytes=settings.max_held_bytes,
        closed_retention_s=settings.closed_retention_s,
        solved_retention_s=settings.solved_retention_s,
        policies=load_policies(settings.policies),
        clock=settings.clock,
    )
    # Faust's consumer spends four tasks per message on its hand-off to the streams; this
    # one does it inline when nothing has to wait (see stream.wiring.consumer).
    consumer_class = FastConsumer.configured(
        fetch_max_wait_ms=settings.fetch_max_wait_ms,
        batch_topics=frozenset()
        if settings.stream_handoff
        else frozenset({config.input_topic, config.rekey_topic}),
        batch_size=settings.batch_size,
    )
    app.transport.Consumer = consumer_class  # type: ignore[misc]  # this app's only
    # Key and value stay raw: the processor decodes, so bad bytes reach the dead-letter
    # topic unchanged instead of crashing a Faust deserializer.
    source = app.topic(
        config.input_topic, config.rekey_topic,
        key_type=bytes, value_type=bytes, key_serializer="raw", value_serializer="raw",
    )  # fmt: skip
    # One changelogged table holds every entity; the processor writes it with explicit
    # partitions (see Runtime.flush_effects), so it never needs a "current event".
    # Keys stay plain strings and values use orjson: the changelog topic is declared here
    # because Faust otherwise derives its serializers from the table's types (json).
    changelog = app.topic(
        f"{settings.app_id}-{STATE_TABLE}-changelog",
        key_type=str, key_serializer="raw", value_serializer=codec.CODEC_NAME,
        partitions=settings.partitions, compacting=True, internal=True,
    )  # fmt: skip
    table = cast(
        faust.Table,
        app.Table(STATE_TABLE, partitions=settings.partitions, key_type=str,
                  changelog_topic=changelog),
    )  # fmt: skip
    table.key_serializer = "raw"
    table.value_serializer = codec.CODEC_NAME
    # Whether the cluster answers, for /readyz: Faust and aiokafka keep waiting and retrying
    # through an outage, so without this a worker that processes nothing would look ready.
    broker_health = BrokerHealth(
        settings.bootstrap_servers, settings.input_topic, security=settings.aiokafka_security(),
        interval_s=settings.broker_check_interval_s,
        unreachable_after_s=settings.broker_unreachable_after_s,
    )  # fmt: skip
    runtime = Runtime(app, table, config,
                      purge_interval_s=settings.purge_interval_s,
                      catch_up_lag_s=settings.catch_up_lag_s,
                      broker_health=broker_health,
                      dlq_max_value_bytes=PRODUCER_MAX_REQUEST_BYTES - DLQ_HEADROOM_BYTES,
                      batch_size=settings.batch_size)  # fmt: skip

    if consumer_class.batch_topics:
        # Each fetch goes to the processor at once; the agent below still subscribes the
        # topics (and is the path with STREAM_HANDOFF=true).
        consumer_class.batch_handler = staticmethod(runtime.process_messages)

    @app.agent(source, name="supportpulse.process")
    async def process(stream: faust.StreamT) -> None:
        batches = cast(faust.Stream, stream).take_events
        async for events in batches(settings.batch_size, settings.batch_within_s):
            await runtime.process_batch(events)

    @app.timer(interval=settings.deadline_interval_s)
    async def deadlines() -> None:
        await runtime.fire_deadlines()

    @app.timer(interval=settings.housekeeping_interval_s)
    async def housekeeping() -> None:
        await runtime.housekeeping()

    staffing = StaffingExchange(app, runtime.processor, settings,
                                load_staffing(settings.staffing), config.policies)  # fmt: skip

    @app.timer(interval=settings.staffing_interval_s)
    async def publish_staffing() -> None:
        if runtime.settled():
            await staffing.publish()

    @app.task
    async def read_staffing() -> None:
        await staffing.run_reader()

    @app.task
    async def check_broker() -> None:
        await broker_health.run()

    async def revoked(*args: Any, **kwargs: Any) -> None:
        # Faust sends (sender, revoked_tps, signal=...)
        runtime.on_revoked(args[1] if len(args) > 1 else kwargs.get("revoked", ()))

    app.on_partitions_revoked.connect(revoked)

    web.register(app, runtime, staffing)
    return app, runtime
