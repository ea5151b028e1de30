"""Runtime.flush_effects: a fetch is acked only once its effects are on the broker.

Faust's producer reports a failed send only on the record's future (and a warning): its
flush returns and the consumer commits. These tests drive ``Runtime.process_messages`` with
a fake app whose topics and table hand out futures the test resolves, as aiokafka would.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

import orjson
import pytest
from aiokafka.errors import (
    KafkaConnectionError,
    KafkaTimeoutError,
    MessageSizeTooLargeError,
    TopicAuthorizationFailedError,
)
from faust.exceptions import ProducerSendError
from faust.types import TP

from stream.processing.config import ProcessorConfig
from stream.processing.messages import REASON_HEADER, TRUNCATED_HEADER
from stream.processing.routing import partition_for
from stream.wiring import runtime as runtime_module
from stream.wiring.changelog import ChangelogWriter
from stream.wiring.delivery import EffectNotSent
from stream.wiring.runtime import DLQ_FALLBACK_VALUE_BYTES, Runtime
from tests.helpers.events import created, ts

TOPIC = "tickets"
NOW_S = ts(3600)  # an hour after the events below


@dataclass
class Record:
    """A consumed message, as aiokafka gives it."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes
    headers: list[tuple[str, bytes]] = field(default_factory=list)


class Producer:
    """Decides what becomes of each record sent: sent, failed later, or raised at once."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, dict[str, Any]]] = []
        self.ok: list[tuple[str, dict[str, Any]]] = []  # delivered
        #: Per topic, outcomes for the next sends: None (delivered), or an exception,
        #: raised at once when wrapped in ``("raise", exc)``.
        self.plan: dict[str, list[Any]] = {}

    def send(self, topic: str, **kwargs: Any) -> asyncio.Future[Any]:
        outcome = self.plan.get(topic, []).pop(0) if self.plan.get(topic) else None
        if isinstance(outcome, tuple):
            raise ProducerSendError(f"Error while sending: {outcome[1]!r}") from outcome[1]
        self.sent.append((topic, kwargs))
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        loop = asyncio.get_running_loop()
        if outcome is None:
            loop.call_later(0.01, future.set_result, "metadata")
            self.ok.append((topic, kwargs))
        else:
            loop.call_later(0.01, future.set_exception, outcome)
        return future

    def create_batch(self) -> Builder:
        return Builder()

    async def send_batch(self, builder: Builder, topic: str, *, partition: int) -> Any:
        """The batch API of aiokafka (changelog writes): one outcome per record batch."""
        outcome = self.plan.get(topic, []).pop(0) if self.plan.get(topic) else None
        if isinstance(outcome, tuple):
            raise outcome[1]  # aiokafka's own error, not wrapped by Faust
        records = [{"key": key.decode(), "value": value, "partition": partition}
                   for key, value in builder.records]  # fmt: skip
        self.sent += [(topic, r) for r in records]
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        loop = asyncio.get_running_loop()
        if outcome is None:
            loop.call_later(0.01, future.set_result, "metadata")
            self.ok += [(topic, r) for r in records]
        else:
            loop.call_later(0.01, future.set_exception, outcome)
        return future

    def delivered(self, topic: str) -> list[dict[str, Any]]:
        return [kw for t, kw in self.sent if t == topic]


class Builder:
    """An aiokafka record batch, as the changelog writer fills it."""

    def __init__(self) -> None:
        self.records: list[tuple[bytes, bytes | None]] = []

    def append(self, *, key: bytes, value: bytes | None, timestamp: None) -> bool:
        self.records.append((key, value))
        return True


class Topic:
    def __init__(self, name: str, producer: Producer) -> None:
        self.name, self.producer = name, producer

    async def send(self, **kwargs: Any) -> asyncio.Future[Any]:
        return self.producer.send(self.name, **kwargs)


class Table:
    def __init__(self) -> None:
        self.data: dict[str, Any] = {}


class App:
    def __init__(self, producer: Producer) -> None:
        self.producer_ = producer
        self.acked: list[int] = []
        self.rebalancing = False
        app = self

        class Consumer:
            def ack(self, message: Record) -> None:
                app.acked.append(message.offset)

            def highwater(self, tp: TP) -> int:
                return 0

        class Assignor:
            def assigned_actives(self) -> set[TP]:
                return {TP(TOPIC, 0), TP(TOPIC, 1)}

            def assigned_standbys(self) -> set[TP]:
                return set()

        self.consumer, self.assignor = Consumer(), Assignor()

    def topic(self, name: str, **kwargs: Any) -> Topic:
        return Topic(name, self.producer_)


@pytest.fixture
def producer() -> Producer:
    return Producer()


@pytest.fixture
def app(producer: Producer) -> App:
    return App(producer)


@pytest.fixture
def runtime(app: App, producer: Producer, monkeypatch: pytest.MonkeyPatch) -> Runtime:
    # Retries without the real pauses.
    real = runtime_module.deliver

    async def quick(records: Any) -> None:
        await real(records, retry_s=0.001, max_retry_s=0.001)

    monkeypatch.setattr(runtime_module, "deliver", quick)
    config = ProcessorConfig(input_topic=TOPIC, partitions=2, clock="event")
    return Runtime(app, Table(), config, wall=lambda: NOW_S,  # type: ignore[arg-type]
                   changelog=ChangelogWriter(lambda: producer, "changelog"))  # fmt: skip


def ticket_in(partition: int, other: bool = False) -> str:
    """A ticket id whose partition is (or, with ``other``, is not) ``partition``."""
    n = 0
    while (partition_for(f"T-{n}", 2) == partition) == other:
        n += 1
    return f"T-{n}"


def messages() -> list[Record]:
    """A valid event of partition 0, one that belongs to partition 1, and a bad one."""
    here, there = ticket_in(0), ticket_in(0, other=True)
    return [
        Record(TOPIC, 0, 0, here.encode(), orjson.dumps(created(60, here))),
        Record(TOPIC, 0, 1, there.encode(), orjson.dumps(created(70, there))),
        Record(TOPIC, 0, 2, b"x", b"not json"),
    ]


async def test_runtime__effects_delivered_then_acked(runtime: Runtime, app: App,
                                                     producer: Producer) -> None:  # fmt: skip
    await runtime.process_messages(messages())
    assert app.acked == [0, 1, 2]
    assert len(producer.delivered(f"{TOPIC}.dlq")) == 1
    assert len(producer.delivered(f"{TOPIC}.rekeyed")) == 1
    assert {kw["key"] for kw in producer.delivered("changelog")} >= {"~p:0"}


@pytest.mark.parametrize("topic", [f"{TOPIC}.dlq", f"{TOPIC}.rekeyed", "changelog"])
async def test_runtime__a_send_the_broker_refuses_stops_the_worker_with_nothing_acked(
    runtime: Runtime, app: App, producer: Producer, topic: str
) -> None:
    # Before, the failure only reached Faust's warning: the messages were acked, their
    # offsets committed after the producer's flush, and the effect was lost.
    producer.plan[topic] = [TopicAuthorizationFailedError(topic)]
    with pytest.raises(EffectNotSent, match="TopicAuthorizationFailed"):
        await runtime.process_messages(messages())
    assert app.acked == []


@pytest.mark.parametrize(
    "failure",
    [KafkaConnectionError(), KafkaTimeoutError(), ("raise", KafkaTimeoutError())],
    ids=["connection lost", "batch expired", "raised at send"],
)
@pytest.mark.parametrize("topic", [f"{TOPIC}.dlq", f"{TOPIC}.rekeyed", "changelog"])
async def test_runtime__a_send_that_fails_for_a_while_is_sent_again_then_acked(
    runtime: Runtime, app: App, producer: Producer, topic: str, failure: Any
) -> None:
    producer.plan[topic] = [failure, failure]
    await runtime.process_messages(messages())
    assert app.acked == [0, 1, 2]
    assert producer.delivered(f"{TOPIC}.dlq")[-1]["value"] == b"not json"
    assert producer.plan[topic] == []  # both failures seen, then delivered
    for name in (f"{TOPIC}.dlq", f"{TOPIC}.rekeyed", "changelog"):
        keys = {kw["key"] for t, kw in producer.sent if t == name}
        assert {kw["key"] for t, kw in producer.ok if t == name} == keys, name


async def test_runtime__a_dead_letter_too_large_for_the_broker_is_cut_to_fit(
    runtime: Runtime, app: App, producer: Producer
) -> None:
    # The producer takes 16 MiB, but a DLQ topic at Kafka's default max.message.bytes
    # refuses more than 1 MiB: the dead letter goes again, cut, instead of being lost.
    big = b"{" + b"x" * (3 * 1024 * 1024)
    producer.plan[f"{TOPIC}.dlq"] = [MessageSizeTooLargeError()]
    await runtime.process_messages([Record(TOPIC, 0, 0, b"k", big)])
    assert app.acked == [0]
    first, second = producer.delivered(f"{TOPIC}.dlq")
    assert first["value"] == big
    assert second["value"] == big[:DLQ_FALLBACK_VALUE_BYTES]
    headers = dict(second["headers"])
    assert headers[TRUNCATED_HEADER] == str(len(big)).encode()
    assert headers[REASON_HEADER] == b"too_large"


async def test_runtime__a_dead_letter_refused_even_when_cut_stops_the_worker(
    runtime: Runtime, app: App, producer: Producer
) -> None:
    producer.plan[f"{TOPIC}.dlq"] = [MessageSizeTooLargeError(), MessageSizeTooLargeError()]
    with pytest.raises(EffectNotSent, match="MessageSizeTooLarge"):
        await runtime.process_messages([Record(TOPIC, 0, 0, b"k", b"{" + b"x" * 2_000_000)])
    assert app.acked == []


async def test_runtime__a_changelog_write_too_large_for_the_broker_stops_the_worker(
    runtime: Runtime, app: App, producer: Producer
) -> None:
    # Nothing can be cut from a ticket's state: losing the write would lose the ticket on
    # the next restart, so the worker stops, loudly, with the message unacked.
    producer.plan["changelog"] = [MessageSizeTooLargeError()]
    with pytest.raises(EffectNotSent, match="changelog batch"):
        await runtime.process_messages(messages()[:1])
    assert app.acked == []
