"""`supportpulse simulate`: histories on disk and live pacing against an injected clock."""

from __future__ import annotations

import io
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pytest

from stream.cli import simulate_cmd
from stream.cli.simulate_cmd import (
    MAX_SLEEP_S,
    simulate_live,
    simulate_live_async,
    simulate_to_file,
)
from stream.simulate.generator import generate_events
from stream.simulate.jsonl import write_jsonl

START_S = datetime(2026, 3, 2, 9, 0, tzinfo=UTC).timestamp()
Event = dict[str, Any]


class FakeClock:
    """Wall clock that only moves when the code under test sleeps (or a test moves it)."""

    def __init__(self, now_s: float) -> None:
        self.now_s = now_s
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now_s

    def sleep(self, seconds: float) -> None:
        assert 0 < seconds <= MAX_SLEEP_S
        self.sleeps.append(seconds)
        self.now_s += seconds

    async def async_sleep(self, seconds: float) -> None:
        self.sleep(seconds)


def epoch_s(ev: Event) -> float:
    return datetime.fromisoformat(ev["occurred_at"]).timestamp()


# --- files ---------------------------------------------------------------------------------


def test_simulate_to_file__writes_the_generated_history_as_json_lines(tmp_path: Path) -> None:
    path = tmp_path / "history.jsonl"

    count = simulate_to_file(path, seed=4, duration_s=900, tickets_per_minute=20, start_s=START_S)

    lines = path.read_bytes().splitlines()
    expected = generate_events(seed=4, start_s=START_S, duration_s=900, tickets_per_minute=20)
    assert count == len(lines) > 0
    assert [orjson.loads(line) for line in lines] == list(expected)
    assert list(tmp_path.iterdir()) == [path]


def test_simulate_to_file__leaves_no_file_when_interrupted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def failing(**_: Any) -> Iterator[Event]:
        yield from generate_events(seed=1, start_s=START_S, duration_s=60, tickets_per_minute=5)
        raise KeyboardInterrupt

    monkeypatch.setattr(simulate_cmd, "generate_events", failing)
    path = tmp_path / "history.jsonl"

    with pytest.raises(KeyboardInterrupt):
        simulate_to_file(path, seed=1, duration_s=60, tickets_per_minute=5, start_s=START_S)

    assert list(tmp_path.iterdir()) == []


def test_simulate_to_file__rejects_an_endless_history(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="finite"):
        simulate_to_file(
            tmp_path / "x.jsonl",
            seed=1,
            duration_s=float("inf"),
            tickets_per_minute=5,
            start_s=START_S,
        )


def test_write_jsonl__writes_one_compact_object_per_line_in_batches() -> None:
    events = [{"event_id": f"e-{i}", "type": "survey.nps", "queue": "café"} for i in range(2500)]
    out = io.BytesIO()

    count = write_jsonl(iter(events), out)

    lines = out.getvalue().split(b"\n")
    assert count == 2500
    assert lines[-1] == b""  # every line ends with a newline
    assert [orjson.loads(line) for line in lines[:-1]] == events
    assert lines[0] == '{"event_id":"e-0","type":"survey.nps","queue":"café"}'.encode()


# --- live ----------------------------------------------------------------------------------


def test_simulate_live__sends_each_event_when_its_time_comes() -> None:
    clock = FakeClock(START_S)
    sent: list[tuple[float, Event]] = []

    count = simulate_live(
        lambda ev: sent.append((clock(), ev)),
        seed=5,
        tickets_per_minute=20,
        duration_s=600,
        clock=clock,
        sleep=clock.sleep,
    )

    expected = list(generate_events(seed=5, start_s=START_S, duration_s=600, tickets_per_minute=20))
    assert count == len(sent) == len(expected) > 0
    assert [ev for _, ev in sent] == expected
    for sent_at, ev in sent:  # event time equals wall time
        assert sent_at == pytest.approx(epoch_s(ev), abs=1e-6)
    assert clock.now_s == pytest.approx(START_S + 600)  # the quiet tail is slept out too


def test_simulate_live__sends_late_events_at_once_when_behind() -> None:
    clock = FakeClock(START_S)

    def slow_send(ev: Event) -> None:
        clock.now_s += 1000.0  # a publisher stuck far longer than the whole run

    count = simulate_live(
        slow_send, seed=5, tickets_per_minute=20, duration_s=600, clock=clock, sleep=clock.sleep
    )

    first = next(generate_events(seed=5, start_s=START_S, duration_s=600, tickets_per_minute=20))
    assert count > 1
    assert sum(clock.sleeps) == pytest.approx(epoch_s(first) - START_S)  # only before the first


def test_simulate_live__runs_until_stop_when_no_duration() -> None:
    clock = FakeClock(START_S)
    stop = threading.Event()
    sent: list[Event] = []

    def send(ev: Event) -> None:
        sent.append(ev)
        if len(sent) == 25:
            stop.set()

    count = simulate_live(
        send,
        seed=1,
        tickets_per_minute=30,
        duration_s=None,
        clock=clock,
        sleep=clock.sleep,
        stop=stop,
    )

    assert count == len(sent) == 25


def test_simulate_live__notices_stop_while_waiting_for_the_next_event() -> None:
    clock = FakeClock(START_S)
    stop = threading.Event()

    def sleep(seconds: float) -> None:
        clock.sleep(seconds)
        if clock.now_s >= START_S + 30:
            stop.set()

    count = simulate_live(
        lambda ev: None,
        seed=1,
        tickets_per_minute=30,
        duration_s=3600,
        clock=clock,
        sleep=sleep,
        stop=stop,
    )

    in_first_30s = generate_events(seed=1, start_s=START_S, duration_s=30, tickets_per_minute=30)
    assert count == len(list(in_first_30s))
    assert clock.now_s < START_S + 30 + MAX_SLEEP_S + 1e-9


async def test_simulate_live_async__awaits_sleep_and_an_async_send() -> None:
    clock = FakeClock(START_S)
    sent: list[Event] = []

    async def send(ev: Event) -> None:
        sent.append(ev)

    count = await simulate_live_async(
        send,
        seed=5,
        tickets_per_minute=20,
        duration_s=300,
        clock=clock,
        sleep=clock.async_sleep,
    )

    expected = generate_events(seed=5, start_s=START_S, duration_s=300, tickets_per_minute=20)
    assert count == len(sent) > 0
    assert sent == list(expected)
    assert clock.now_s == pytest.approx(START_S + 300)
