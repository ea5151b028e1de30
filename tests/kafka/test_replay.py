"""Replaying recorded events: bytes, keys and timestamps through a real broker; pacing."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from stream.kafka import KafkaUnavailableError
from stream.kafka.embedded import EmbeddedBroker, find_free_port
from stream.kafka.publish import EventPublisher
from stream.kafka.replay import (
    MAX_SLEEP_S,
    ReplayStats,
    record_key_and_timestamp,
    replay_file,
    run_replay,
)
from stream.kafka.topics import ensure_topics, existing_partition_counts

T0_MS = 1_772_442_000_000  # 2026-03-02T09:00:00Z


def _event(seconds: float, ticket: str | None = "T-1", offset: str = "Z", **extra: str) -> bytes:
    """A compact event line at ``seconds`` after 2026-03-02T09:00:00Z (UTC)."""
    minutes, secs = divmod(seconds, 60)
    hh, mm = 9 + int(minutes) // 60, int(minutes) % 60
    stamp = f"2026-03-02T{hh:02d}:{mm:02d}:{secs:06.3f}{offset}"
    fields = [f'"event_id":"e-{seconds}"', '"type":"ticket.message"', f'"occurred_at":"{stamp}"']
    if ticket is not None:
        fields.append(f'"ticket_id":"{ticket}"')
    fields += [f'"{k}":"{v}"' for k, v in extra.items()]
    return ("{" + ",".join(fields) + "}").encode()


class RecordingPublisher:
    """Stands in for EventPublisher where no broker is needed (pacing)."""

    def __init__(self) -> None:
        self.records: list[tuple[bytes, bytes | None, int | None]] = []
        self.flushed = False

    def publish(self, raw: bytes, *, key: bytes | None, timestamp_ms: int | None) -> None:
        self.records.append((raw, key, timestamp_ms))

    def flush(self) -> None:
        self.flushed = True


def _replay(path: Path, speed: float | None) -> tuple[ReplayStats, RecordingPublisher, list[float]]:
    publisher, sleeps = RecordingPublisher(), []
    stats = replay_file(path, publisher, speed=speed, sleep=sleeps.append)  # type: ignore[arg-type]
    return stats, publisher, sleeps


def _write(tmp_path: Path, *lines: bytes, ending: bytes = b"\n") -> Path:
    path = tmp_path / "events.jsonl"
    path.write_bytes(b"".join(line + ending for line in lines))
    return path


# --- key and timestamp of one line -------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "key", "timestamp_ms"),
    [
        (_event(0), b"T-1", T0_MS),
        (_event(1.5, offset="+02:00"), b"T-1", T0_MS + 1500 - 2 * 3600 * 1000),
        (_event(0, ticket="Tï-1"), "Tï-1".encode(), T0_MS),
        (b'{"ticket_id":"T-9","occurred_at":"2026-03-02t09:00:00.0004z"}', b"T-9", T0_MS),
        (_event(0, ticket=None), None, T0_MS),
        (b'{"ticket_id":42,"occurred_at":"2026-03-02T09:00:00Z"}', None, T0_MS),
        (b'{"ticket_id":"T-1","occurred_at":"2026-03-02T09:00:00"}', b"T-1", None),
        (b'{"ticket_id":"T-1","occurred_at":"yesterday"}', b"T-1", None),
        (b'{"ticket_id":"T-1","occurred_at":1772442000}', b"T-1", None),
        (b'{"ticket_id":"T-1","occurred_at":"1969-12-31T23:59:59Z"}', b"T-1", None),
        (b'{"ticket_id":"T-1"', None, None),
        (b'["T-1"]', None, None),
        (b"not json at all", None, None),
    ],
)
def test_record_key_and_timestamp__derives_what_it_can(
    raw: bytes, key: bytes | None, timestamp_ms: int | None
) -> None:
    assert record_key_and_timestamp(raw) == (key, timestamp_ms)


# --- through the real broker ---------------------------------------------------------------


def test_replay_file__round_trips_exact_bytes_keys_and_timestamps(
    broker: EmbeddedBroker,
    make_topic_name: Callable[[], str],
    consume_all: Callable[..., list[Any]],
    tmp_path: Path,
) -> None:
    topic = make_topic_name()
    ensure_topics(broker.bootstrap_servers, {topic: 3})
    good = [_event(0, "T-1"), _event(1, "T-2", offset="+05:30"), _event(2.25, "T-1")]
    presence = _event(3, ticket=None, agent="a-1")
    bad = [b'{"ticket_id": "T-1", "occurred_at": ', b"  \t not json, kept as is  ", b"[1, 2]"]
    path = _write(tmp_path, good[0], b"", good[1], b"   ", presence, *bad, good[2])

    before_ms = int(time.time() * 1000)
    with EventPublisher(broker.bootstrap_servers, topic) as publisher:
        stats = replay_file(path, publisher, speed=None)
    after_ms = int(time.time() * 1000)

    assert stats == ReplayStats(lines=9, published=7, keyed=3, unkeyed=4)
    records = consume_all(topic, 7)
    got = {r.value: r for r in records}
    assert len(records) == 7 and set(got) == {*good, presence, *bad}
    assert [(got[v].key, got[v].timestamp) for v in good] == [
        (b"T-1", T0_MS),
        (b"T-2", T0_MS + 1000 - 5 * 3600 * 1000 - 30 * 60 * 1000),
        (b"T-1", T0_MS + 2250),
    ]
    assert (got[presence].key, got[presence].timestamp) == (None, T0_MS + 3000)
    for value in bad:  # published unchanged, unkeyed, stamped by the producer
        assert got[value].key is None
        assert before_ms <= got[value].timestamp <= after_ms


def test_replay_file__one_tickets_events_share_a_partition_in_file_order(
    broker: EmbeddedBroker,
    make_topic_name: Callable[[], str],
    consume_all: Callable[..., list[Any]],
    tmp_path: Path,
) -> None:
    topic = make_topic_name()
    ensure_topics(broker.bootstrap_servers, {topic: 3})
    lines = [_event(i, f"T-{i % 4}") for i in range(40)]
    path = _write(tmp_path, *lines)

    with EventPublisher(broker.bootstrap_servers, topic) as publisher:
        replay_file(path, publisher, speed=None)

    records = consume_all(topic, 40)
    by_ticket: dict[bytes, list[Any]] = {}
    for record in sorted(records, key=lambda r: (r.partition, r.offset)):
        by_ticket.setdefault(record.key, []).append(record)
    for ticket, ticket_records in by_ticket.items():
        assert len({r.partition for r in ticket_records}) == 1, ticket
        expected = [line for line in lines if f'"ticket_id":"{ticket.decode()}"'.encode() in line]
        assert [r.value for r in ticket_records] == expected


def test_replay_file__crlf_line_endings_are_not_published(
    broker: EmbeddedBroker,
    make_topic_name: Callable[[], str],
    consume_all: Callable[..., list[Any]],
    tmp_path: Path,
) -> None:
    topic = make_topic_name()
    ensure_topics(broker.bootstrap_servers, {topic: 1})
    path = _write(tmp_path, _event(0), _event(1), ending=b"\r\n")

    with EventPublisher(broker.bootstrap_servers, topic) as publisher:
        replay_file(path, publisher, speed=None)

    assert [r.value for r in consume_all(topic, 2)] == [_event(0), _event(1)]


def test_replay_file__a_line_too_large_for_kafka_names_the_line(
    broker: EmbeddedBroker, make_topic_name: Callable[[], str], tmp_path: Path
) -> None:
    topic = make_topic_name()
    ensure_topics(broker.bootstrap_servers, {topic: 1})
    huge = _event(1, note="x" * 2_000_000)
    path = _write(tmp_path, _event(0), huge)

    with (
        EventPublisher(broker.bootstrap_servers, topic) as publisher,
        pytest.raises(ValueError, match=r"events\.jsonl:2: event of 2000\d+ bytes"),
    ):
        replay_file(path, publisher, speed=None)


def test_run_replay__creates_the_topic_and_prints_a_summary(
    broker: EmbeddedBroker,
    make_topic_name: Callable[[], str],
    consume_all: Callable[..., list[Any]],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    topic = make_topic_name()
    path = _write(tmp_path, _event(0), b"oops", _event(1, "T-2"))

    code = run_replay(path, broker.bootstrap_servers, topic, None, partitions=2)

    out = capsys.readouterr().out
    assert code == 0
    assert out.count("\n") == 1
    assert f"replayed 3 events from {path} to {topic} at {broker.url}" in out
    assert "(2 keyed by their ticket or agent, 1 without a key)" in out
    assert len(consume_all(topic, 3)) == 3
    assert existing_partition_counts(broker.bootstrap_servers, [topic]) == {topic: 2}


def test_run_replay__missing_file_is_an_error(
    broker: EmbeddedBroker, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = run_replay(tmp_path / "nope.jsonl", broker.bootstrap_servers, "t", None)

    assert code == 1
    assert "error: no such file" in capsys.readouterr().err


def test_event_publisher__unreachable_broker_raises_a_clear_error() -> None:
    address = f"127.0.0.1:{find_free_port()}"

    with pytest.raises(KafkaUnavailableError, match=f"cannot reach Kafka at {address} within 1 s"):
        EventPublisher([address], "t", timeout_s=1)


def test_event_publisher__broker_gone_before_flush_raises_a_clear_error(
    make_topic_name: Callable[[], str],
) -> None:
    topic = make_topic_name()
    with EmbeddedBroker(stop_grace_s=0.5) as own:
        ensure_topics(own.bootstrap_servers, {topic: 1})
        publisher = EventPublisher(own.bootstrap_servers, topic, timeout_s=1)
        publisher.publish(b"first", key=None, timestamp_ms=None)
        publisher.flush()
        own.stop()
        started = time.monotonic()
        with (
            pytest.raises(KafkaUnavailableError, match=r"did not acknowledge .* within 1 s"),
            publisher,
        ):
            publisher.publish(b"second", key=None, timestamp_ms=None)
            publisher.flush()

    assert time.monotonic() - started < 10


def test_event_publisher__close_raises_when_records_cannot_be_delivered(
    make_topic_name: Callable[[], str],
) -> None:
    topic = make_topic_name()
    with EmbeddedBroker(stop_grace_s=0.5) as own:
        ensure_topics(own.bootstrap_servers, {topic: 1})
        publisher = EventPublisher(own.bootstrap_servers, topic, timeout_s=1)
        publisher.publish(b"first", key=None, timestamp_ms=None)
        publisher.flush()
        own.stop()
        publisher.publish(b"second", key=None, timestamp_ms=None)
        started = time.monotonic()

        with pytest.raises(KafkaUnavailableError):
            publisher.close()
        publisher.close()  # idempotent, and does not raise twice

    assert time.monotonic() - started < 10


# --- pacing --------------------------------------------------------------------------------


def test_replay_file__speed_paces_by_stream_time_gaps(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        _event(0),
        _event(10),
        _event(10),  # same instant: no pause
        _event(4),  # late: published at once, and adds no pause later on
        b"not json",  # no timestamp: no pause
        _event(30),  # 20 s of stream time after 10
        _event(31, offset="+00:00"),
    )

    stats, publisher, sleeps = _replay(path, speed=2)

    assert sleeps == [5.0, 10.0, 0.5]
    assert stats.published == 7 and publisher.flushed
    assert [r[0] for r in publisher.records][3] == _event(4)


def test_replay_file__a_long_gap_sleeps_at_most_max_sleep(tmp_path: Path) -> None:
    path = _write(tmp_path, _event(0), _event(3 * 3600), _event(3 * 3600 + 60))

    _, _, sleeps = _replay(path, speed=1)

    assert sleeps == [MAX_SLEEP_S, 60.0]
    assert MAX_SLEEP_S == 60.0


def test_replay_file__no_speed_never_sleeps(tmp_path: Path) -> None:
    path = _write(tmp_path, _event(0), _event(600), _event(1200))

    _, publisher, sleeps = _replay(path, speed=None)

    assert sleeps == []
    assert len(publisher.records) == 3


def test_replay_file__fast_speed_scales_gaps_down(tmp_path: Path) -> None:
    path = _write(tmp_path, _event(0), _event(60), _event(61))

    _, _, sleeps = _replay(path, speed=60)

    assert sleeps == pytest.approx([1.0, 1 / 60])


@pytest.mark.parametrize("speed", [0, -1, math.nan])
def test_replay_file__rejects_a_speed_that_is_not_positive(tmp_path: Path, speed: float) -> None:
    with pytest.raises(ValueError, match="replay speed must be > 0"):
        _replay(_write(tmp_path, _event(0)), speed=speed)
