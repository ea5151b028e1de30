"""Create the topics the processor needs, with the partition counts it needs, before use."""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from kafka import KafkaAdminClient
from kafka.errors import (
    KafkaError,
    KafkaTimeoutError,
    TopicAlreadyExistsError,
    UnknownTopicOrPartitionError,
)

from stream.kafka import KafkaUnavailableError, security_kwargs

__all__ = [
    "TopicPartitionMismatchError",
    "ensure_topics",
    "existing_partition_counts",
    "partition_counts",
]

log = logging.getLogger(__name__)

# Kafka error codes seen in metadata and CreateTopics responses.
_UNKNOWN_TOPIC = UnknownTopicOrPartitionError.errno
_TOPIC_ALREADY_EXISTS = TopicAlreadyExistsError.errno
# -1 lets the cluster apply its own default.replication.factor (Kafka >= 2.4), which is
# what an operator has configured for durability; the embedded broker has one replica.
_CLUSTER_DEFAULT = -1


class TopicPartitionMismatchError(RuntimeError):
    """A topic exists with another partition count than the processor needs.

    Faust refuses to start when a table's changelog and its source topic have different
    partition counts (they are co-partitioned), and keyed events would be routed to
    other partitions than the state that owns them. Changing partition counts moves
    keys between partitions, so this is an operator's decision, never made silently.
    """


def ensure_topics(
    brokers: list[str],
    topics: dict[str, int],
    *,
    security: Mapping[str, Any] | None = None,
    timeout_s: float = 30,
    configs: Mapping[str, Mapping[str, str]] | None = None,
) -> None:
    """Create missing topics with the given partition counts; check the existing ones.

    Call this before anything produces to or consumes from the topics: a Kafka broker
    with ``auto.create.topics.enable`` (Tansu always does it) creates an unknown topic on
    first use with its default partition count (4 on Tansu), and then the count is
    wrong for good. Safe to run from several processes at once: a topic someone else
    created in the meantime is accepted if its partition count matches.

    Args:
        brokers: ``host:port`` bootstrap addresses.
        topics: Topic name to required partition count.
        security: kafka-python security options (see ``stream.kafka.security_kwargs``).
        timeout_s: How long to wait for the cluster, and for each request.
        configs: Topic configuration of topics created here, by name (e.g.
            ``{"cleanup.policy": "compact"}``); existing topics are left as they are.

    Raises:
        ValueError: A topic name is empty or a partition count is below 1.
        KafkaUnavailableError: No broker answered within ``timeout_s``.
        TopicPartitionMismatchError: A topic exists with another partition count.
        kafka.errors.KafkaError: The cluster refused to create a topic (e.g. not
            authorised); the message names the topic.
    """
    for name, partitions in topics.items():
        if not name:
            raise ValueError("empty topic name")
        if partitions < 1:
            raise ValueError(f"topic {name!r}: partition count must be >= 1, got {partitions}")
    if not topics:
        return
    with _admin_session(brokers, security, timeout_s) as admin:
        existing = partition_counts(admin, list(topics))
        missing = {name: n for name, n in topics.items() if name not in existing}
        if missing:
            _create(admin, missing, int(timeout_s * 1000), configs or {})
            existing = partition_counts(admin, list(topics))
    problems = [
        f"{name!r} has {existing.get(name, 0)} partitions, needs {wanted}"
        for name, wanted in topics.items()
        if existing.get(name) != wanted
    ]
    if problems:
        raise TopicPartitionMismatchError(
            "topic partition counts differ from the configuration: "
            + "; ".join(problems)
            + ". Delete and recreate the topics (losing their data), or configure the "
            "partition counts they have."
        )


def existing_partition_counts(
    brokers: list[str],
    names: list[str],
    *,
    security: Mapping[str, Any] | None = None,
    timeout_s: float = 30,
) -> dict[str, int]:
    """Return the partition count of each named topic that exists; create nothing.

    For adopting the partition count of an input topic that someone else created.

    Raises:
        KafkaUnavailableError: No broker answered within ``timeout_s``.
    """
    with _admin_session(brokers, security, timeout_s) as admin:
        return partition_counts(admin, names)


def partition_counts(admin: KafkaAdminClient, names: list[str]) -> dict[str, int]:
    """Return the partition count of each named topic that exists.

    Uses a metadata request that does not allow auto-creation, so asking about a topic
    never creates it (pinned for Tansu in the tests).
    """
    counts: dict[str, int] = {}
    for topic in admin.describe_topics(names):
        error_code = topic.get("error_code", 0)
        if error_code == _UNKNOWN_TOPIC:
            continue
        if error_code:
            raise KafkaError(f"metadata for topic {topic.get('name')!r} failed: code {error_code}")
        counts[topic["name"]] = len(topic.get("partitions") or [])
    return counts


@contextmanager
def _admin_session(
    brokers: list[str], security: Mapping[str, Any] | None, timeout_s: float
) -> Iterator[KafkaAdminClient]:
    """An admin client, closed afterwards; a timeout becomes KafkaUnavailableError."""
    admin = _admin(brokers, security, int(timeout_s * 1000))
    try:
        yield admin
    except KafkaTimeoutError as exc:
        raise KafkaUnavailableError(
            f"Kafka at {','.join(brokers)} did not answer within {timeout_s:g} s: {exc}"
        ) from exc
    finally:
        admin.close()


def _admin(
    brokers: list[str], security: Mapping[str, Any] | None, timeout_ms: int
) -> KafkaAdminClient:
    try:
        return KafkaAdminClient(
            bootstrap_servers=brokers,
            client_id="supportpulse-topics",
            bootstrap_timeout_ms=timeout_ms,
            request_timeout_ms=timeout_ms,
            **security_kwargs(security),
        )
    except KafkaTimeoutError as exc:
        raise KafkaUnavailableError(
            f"cannot reach Kafka at {','.join(brokers)} within {timeout_ms / 1000:g} s: {exc}"
        ) from exc


def _create(
    admin: KafkaAdminClient,
    missing: dict[str, int],
    timeout_ms: int,
    configs: Mapping[str, Mapping[str, str]],
) -> None:
    request: dict[str, dict[str, Any]] = {
        name: {"num_partitions": partitions, "replication_factor": _CLUSTER_DEFAULT}
        for name, partitions in missing.items()
    }
    for name, config in configs.items():
        if name in request:
            request[name]["configs"] = dict(config)
    response = admin.create_topics(request, timeout_ms=timeout_ms, raise_errors=False)
    created = []
    for result in response["topics"]:
        code = result.get("error_code", 0)
        if code == 0:
            created.append(result["name"])
        elif code != _TOPIC_ALREADY_EXISTS:  # created concurrently: checked by the caller
            message = result.get("error_message") or f"error code {code}"
            raise KafkaError(f"cannot create topic {result['name']!r}: {message}")
    if created:
        admin.wait_for_topics(created, timeout_ms=timeout_ms)
        log.info(
            "created Kafka topics %s",
            ", ".join(f"{name} ({missing[name]} partitions)" for name in sorted(created)),
        )
