"""The embedded Tansu broker: start, readiness, stop, failures, and Tansu quirks we pin."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition

from stream.kafka.embedded import BrokerStartError, EmbeddedBroker
from stream.kafka.topics import ensure_topics


@pytest.fixture
def own_broker() -> Iterator[EmbeddedBroker]:
    """A broker of the test's own (the session one must not be stopped)."""
    embedded = EmbeddedBroker()
    try:
        yield embedded
    finally:
        embedded.stop()


def _gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


def _group_gone(pgid: int, within_s: float = 5.0) -> bool:
    """Whether the process group is empty (its orphans are reaped by init, not us)."""
    deadline = time.monotonic() + within_s
    while True:
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return True
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)


def _listening_addresses(port: int) -> set[str]:
    """Local addresses with a TCP listener on ``port``, from /proc/net/tcp{,6} (Linux)."""
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for row in Path(table).read_text().splitlines()[1:]:
            local, state = row.split()[1], row.split()[3]
            address, port_hex = local.split(":")
            if state == "0A" and int(port_hex, 16) == port:  # 0A = LISTEN
                found.add(address)
    return found


def _fake_broker(tmp_path: Path, body: str) -> str:
    script = tmp_path / "fake-tansu"
    script.write_text("#!/bin/sh\n" + textwrap.dedent(body))
    script.chmod(0o755)
    return str(script)


def test_embedded_broker__starts_on_a_free_loopback_port_and_answers_metadata(
    own_broker: EmbeddedBroker,
) -> None:
    own_broker.start()

    assert re.fullmatch(r"kafka://127\.0\.0\.1:\d+", own_broker.url)
    assert own_broker.url == f"kafka://127.0.0.1:{own_broker.port}"
    assert own_broker.bootstrap_servers == [f"127.0.0.1:{own_broker.port}"]
    admin = KafkaAdminClient(bootstrap_servers=own_broker.bootstrap_servers)
    try:
        cluster = admin.describe_cluster()
    finally:
        admin.close()
    assert [(b["host"], b["port"]) for b in cluster["brokers"]] == [("127.0.0.1", own_broker.port)]
    assert _listening_addresses(own_broker.port) == {"0100007F"}  # 127.0.0.1 only


def test_embedded_broker__logs_that_it_keeps_data_in_memory_only(
    own_broker: EmbeddedBroker, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level("WARNING", logger="stream.kafka.embedded"):
        own_broker.start()

    warnings = [r.getMessage() for r in caplog.records if r.name == "stream.kafka.embedded"]
    assert any("memory only" in m and "lost when it stops" in m for m in warnings)


def test_embedded_broker__stop_leaves_no_process_and_is_idempotent(
    own_broker: EmbeddedBroker,
) -> None:
    own_broker.start()
    pid = own_broker.pid
    assert pid is not None and not _gone(pid)

    own_broker.stop()
    own_broker.stop()

    assert not own_broker.running
    assert _gone(pid)  # reaped, not a zombie
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", own_broker.port), timeout=1).close()


def test_embedded_broker__second_start_gets_a_different_free_port(
    broker: EmbeddedBroker, own_broker: EmbeddedBroker
) -> None:
    own_broker.start()

    assert own_broker.port != broker.port
    assert broker.running and own_broker.running


def test_embedded_broker__context_manager_stops_the_broker_on_error() -> None:
    with pytest.raises(RuntimeError, match="boom"), EmbeddedBroker() as embedded:
        pid = embedded.pid
        raise RuntimeError("boom")

    assert pid is not None and _gone(pid)


def test_embedded_broker__taken_port_is_refused_plainly(broker: EmbeddedBroker) -> None:
    with pytest.raises(BrokerStartError, match=f"port {broker.port} on 127.0.0.1 is not available"):
        EmbeddedBroker(broker.port).start()


def test_embedded_broker__death_during_start_up_reports_the_output_tail(tmp_path: Path) -> None:
    fake = _fake_broker(tmp_path, 'echo "tansu: cannot start: bad storage" >&2\nexit 3\n')

    with pytest.raises(BrokerStartError) as caught:
        EmbeddedBroker(binary=fake, startup_timeout_s=10).start()

    assert "exited with code 3" in str(caught.value)
    assert "tansu: cannot start: bad storage" in str(caught.value)


def test_embedded_broker__no_answer_times_out_and_kills_a_broker_ignoring_sigterm(
    tmp_path: Path,
) -> None:
    pid_file = tmp_path / "pid"
    fake = _fake_broker(
        tmp_path,
        f"""\
        trap '' TERM
        echo $$ > {pid_file}
        echo "starting forever"
        while true; do sleep 1; done
        """,
    )
    embedded = EmbeddedBroker(binary=fake, startup_timeout_s=1, stop_grace_s=0.5)

    started = time.monotonic()
    with pytest.raises(BrokerStartError, match=r"did not answer .* within 1 s(.|\n)*forever"):
        embedded.start()

    assert time.monotonic() - started < 10
    pid = int(pid_file.read_text())
    assert _gone(pid) and _group_gone(pid)  # the sleep child went with it


def test_run_broker_foreground__prints_url_and_warning_and_stops_on_sigint() -> None:
    code = "from stream.kafka.embedded import run_broker_foreground as r; raise SystemExit(r(None))"
    proc = subprocess.Popen(
        [sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()
        url = re.search(r"kafka://127\.0\.0\.1:(\d+)", first)
        assert url, first
        assert "memory only" in proc.stdout.readline()
        port = int(url.group(1))
        socket.create_connection(("127.0.0.1", port), timeout=2).close()

        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()

    assert proc.returncode == 0, err
    assert "broker stopped" in out
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=1).close()


# --- Tansu behaviours the project depends on or must work around -------------------------


def test_tansu__record_timestamps_are_kept_as_produced(
    broker: EmbeddedBroker, make_topic_name: Callable[[], str]
) -> None:
    topic = make_topic_name()
    ensure_topics(broker.bootstrap_servers, {topic: 1})
    producer = KafkaProducer(bootstrap_servers=broker.bootstrap_servers)
    old = 1_000_000_000_123  # 2001: far outside any retention, still kept
    producer.send(topic, b"x", timestamp_ms=old)
    producer.close()
    consumer = KafkaConsumer(bootstrap_servers=broker.bootstrap_servers)
    consumer.assign([TopicPartition(topic, 0)])
    consumer.seek_to_beginning()
    records = [r for batch in consumer.poll(timeout_ms=5000).values() for r in batch]
    consumer.close()

    assert [(r.timestamp, r.timestamp_type) for r in records] == [(old, 0)]  # 0 = CreateTime


def test_tansu__latest_offset_is_last_batch_base_plus_one_not_the_log_end(
    broker: EmbeddedBroker, make_topic_name: Callable[[], str]
) -> None:
    """A Tansu bug: ListOffsets(latest) after a 5-record batch says 1, not 5.

    Fetch responses report the true high watermark. Anything that trusts end offsets
    (lag, "caught up" checks, Faust's changelog recovery target) reads short. When this
    test fails, Tansu has been fixed and any workaround can go.
    """
    topic = make_topic_name()
    ensure_topics(broker.bootstrap_servers, {topic: 1})
    producer = KafkaProducer(bootstrap_servers=broker.bootstrap_servers, linger_ms=100)
    for i in range(5):
        producer.send(topic, b"%d" % i, partition=0)
    producer.flush()
    producer.close()
    tp = TopicPartition(topic, 0)
    consumer = KafkaConsumer(bootstrap_servers=broker.bootstrap_servers)
    try:
        end = consumer.end_offsets([tp])[tp]
        consumer.assign([tp])
        consumer.seek_to_beginning()
        fetched = [r for batch in consumer.poll(timeout_ms=5000).values() for r in batch]
        highwater = consumer.highwater(tp)
    finally:
        consumer.close()

    assert len(fetched) == 5
    assert highwater == 5
    assert end == 1


def test_tansu__first_consumer_group_join_waits_half_the_session_timeout(
    broker: EmbeddedBroker, make_topic_name: Callable[[], str]
) -> None:
    """A fresh group's first JoinGroup completes only after session_timeout / 2.

    With Faust's default 60 s session timeout a worker would sit ~30 s before consuming,
    so the embedded setup needs a short session timeout. When this fails (join is fast),
    Tansu has changed and the workaround can go.
    """
    topic = make_topic_name()
    ensure_topics(broker.bootstrap_servers, {topic: 1})
    consumer = KafkaConsumer(
        bootstrap_servers=broker.bootstrap_servers,
        group_id=topic,
        session_timeout_ms=6000,
        heartbeat_interval_ms=1000,
    )
    try:
        started = time.monotonic()
        consumer.subscribe([topic])
        while not consumer.assignment() and time.monotonic() - started < 20:
            consumer.poll(timeout_ms=100)
        joined_after_s = time.monotonic() - started
        assigned = consumer.assignment()
    finally:
        consumer.close()

    assert assigned == {TopicPartition(topic, 0)}
    # The lower bound is the pinned behaviour; the upper one only says the join completes
    # (it is loose because a loaded 2-core machine adds seconds of scheduling delay).
    assert 2.5 <= joined_after_s < 12, joined_after_s
