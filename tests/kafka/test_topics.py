"""Topic creation with fixed partition counts, and Tansu's auto-creation that it races."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest
from kafka import KafkaAdminClient, KafkaProducer
from pydantic import SecretStr

from stream.kafka import KafkaUnavailableError, security_kwargs
from stream.kafka.embedded import EmbeddedBroker, find_free_port
from stream.kafka.topics import (
    TopicPartitionMismatchError,
    ensure_topics,
    existing_partition_counts,
    partition_counts,
)


def _counts(broker: EmbeddedBroker, names: list[str]) -> dict[str, int]:
    admin = KafkaAdminClient(bootstrap_servers=broker.bootstrap_servers)
    try:
        return partition_counts(admin, names)
    finally:
        admin.close()


def test_ensure_topics__creates_missing_topics_with_their_partition_counts(
    broker: EmbeddedBroker, make_topic_name: Callable[[], str]
) -> None:
    events, dlq = make_topic_name(), make_topic_name()

    ensure_topics(broker.bootstrap_servers, {events: 3, dlq: 1})

    assert _counts(broker, [events, dlq]) == {events: 3, dlq: 1}


def test_ensure_topics__second_call_is_a_no_op(
    broker: EmbeddedBroker, make_topic_name: Callable[[], str], caplog: pytest.LogCaptureFixture
) -> None:
    topic = make_topic_name()
    ensure_topics(broker.bootstrap_servers, {topic: 3})

    with caplog.at_level("INFO", logger="stream.kafka.topics"):
        ensure_topics(broker.bootstrap_servers, {topic: 3})

    assert _counts(broker, [topic]) == {topic: 3}
    assert not [r for r in caplog.records if "created" in r.getMessage()]


def test_ensure_topics__partition_mismatch_raises_naming_the_topic(
    broker: EmbeddedBroker, make_topic_name: Callable[[], str]
) -> None:
    same, other = make_topic_name(), make_topic_name()
    ensure_topics(broker.bootstrap_servers, {same: 2, other: 3})

    with pytest.raises(TopicPartitionMismatchError, match=f"'{other}' has 3 partitions, needs 8"):
        ensure_topics(broker.bootstrap_servers, {same: 2, other: 8})

    assert _counts(broker, [other]) == {other: 3}  # never changed behind the operator's back


def test_ensure_topics__mixed_existing_and_missing_topics(
    broker: EmbeddedBroker, make_topic_name: Callable[[], str]
) -> None:
    existing, missing = make_topic_name(), make_topic_name()
    ensure_topics(broker.bootstrap_servers, {existing: 2})

    ensure_topics(broker.bootstrap_servers, {existing: 2, missing: 5})

    assert _counts(broker, [existing, missing]) == {existing: 2, missing: 5}


@pytest.mark.parametrize("partitions", [0, -1])
def test_ensure_topics__rejects_a_partition_count_below_one(
    broker: EmbeddedBroker, partitions: int
) -> None:
    # Checked here because Tansu itself accepts a topic with 0 partitions.
    with pytest.raises(ValueError, match="partition count must be >= 1"):
        ensure_topics(broker.bootstrap_servers, {"never-created": partitions})


def test_ensure_topics__unreachable_broker_raises_a_clear_error() -> None:
    address = f"127.0.0.1:{find_free_port()}"
    started = time.monotonic()

    with pytest.raises(KafkaUnavailableError, match=f"cannot reach Kafka at {address} within 1 s"):
        ensure_topics([address], {"t": 1}, timeout_s=1)

    assert time.monotonic() - started < 10


def test_existing_partition_counts__reports_existing_topics_only(
    broker: EmbeddedBroker, make_topic_name: Callable[[], str]
) -> None:
    there, missing = make_topic_name(), make_topic_name()
    ensure_topics(broker.bootstrap_servers, {there: 6})

    counts = existing_partition_counts(broker.bootstrap_servers, [there, missing])

    assert counts == {there: 6}
    assert _counts(broker, [missing]) == {}  # asking did not create it


def test_ensure_topics__rejects_non_security_options(broker: EmbeddedBroker) -> None:
    with pytest.raises(ValueError, match="unsupported Kafka security option 'acks'"):
        ensure_topics(broker.bootstrap_servers, {"t": 1}, security={"acks": 0})


# --- Tansu auto-creation: why ensure_topics must run before anything touches a topic -------


def test_tansu__metadata_request_allowing_auto_creation_creates_a_4_partition_topic(
    broker: EmbeddedBroker, make_topic_name: Callable[[], str]
) -> None:
    """What a producer (or aiokafka, hence Faust) does on first use of a topic."""
    topic = make_topic_name()
    producer = KafkaProducer(bootstrap_servers=broker.bootstrap_servers)
    try:
        partitions = producer.partitions_for(topic)
    finally:
        producer.close()

    assert partitions == {0, 1, 2, 3}
    assert _counts(broker, [topic]) == {topic: 4}
    with pytest.raises(TopicPartitionMismatchError, match="has 4 partitions, needs 8"):
        ensure_topics(broker.bootstrap_servers, {topic: 8})


def test_tansu__metadata_request_without_auto_creation_does_not_create_the_topic(
    broker: EmbeddedBroker, make_topic_name: Callable[[], str]
) -> None:
    """What ensure_topics relies on: looking a topic up leaves it missing."""
    topic = make_topic_name()

    assert _counts(broker, [topic]) == {}
    admin = KafkaAdminClient(bootstrap_servers=broker.bootstrap_servers)
    try:
        assert topic not in admin.list_topics()
    finally:
        admin.close()


def test_security_kwargs__passes_options_through_unwrapping_secrets() -> None:
    security = {
        "security_protocol": "SASL_SSL",
        "sasl_mechanism": "SCRAM-SHA-512",
        "sasl_plain_username": "svc",
        "sasl_plain_password": SecretStr("s3cret"),
        "ssl_cafile": None,
    }

    assert security_kwargs(security) == {
        "security_protocol": "SASL_SSL",
        "sasl_mechanism": "SCRAM-SHA-512",
        "sasl_plain_username": "svc",
        "sasl_plain_password": "s3cret",
    }
    assert security_kwargs(None) == {}
