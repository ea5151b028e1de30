"""`supportpulse simulate`: synthetic traffic to a JSON Lines file, or live in real time."""

from __future__ import annotations

import inspect
import math
import threading
import time
from collections.abc import Awaitable, Callable, Generator, Iterator
from pathlib import Path
from typing import Any

from stream.simulate.generator import generate_events, generate_timed_events
from stream.simulate.jsonl import write_jsonl
from stream.simulate.profile import Profile

Event = dict[str, Any]

#: Longest single sleep while pacing: how late a `stop` request can be noticed.
MAX_SLEEP_S = 0.25


def simulate_to_file(
    path: Path,
    *,
    seed: int,
    duration_s: float,
    tickets_per_minute: float,
    start_s: float,
    profile: Profile | None = None,
) -> int:
    """Write a history of `duration_s` seconds from `start_s` to `path` (JSON Lines).

    The file appears only once complete (written beside it, then renamed), so an
    interrupted run never leaves a truncated history for `replay` to pick up.

    Returns:
        The number of events written.
    """
    if not math.isfinite(duration_s):
        raise ValueError("a file needs a finite duration_s")
    events = generate_events(
        seed=seed,
        start_s=start_s,
        duration_s=duration_s,
        tickets_per_minute=tickets_per_minute,
        profile=profile,
    )
    partial = path.with_name(path.name + ".partial")
    try:
        with partial.open("wb") as out:
            count = write_jsonl(events, out)
        partial.replace(path)
    finally:
        partial.unlink(missing_ok=True)
    return count


def simulate_live(
    send: Callable[[Event], None],
    *,
    seed: int,
    tickets_per_minute: float,
    duration_s: float | None,
    clock: Callable[[], float] = time.time,
    sleep: Callable[[float], None] = time.sleep,
    stop: threading.Event | None = None,
    profile: Profile | None = None,
) -> int:
    """Generate from now and send each event when its `occurred_at` comes (blocking).

    Event time equals wall time, so the worker's wall-clock processing sees a live help
    desk. When `send` falls behind, events go out at once with their own times.

    Args:
        send: Publishes one event (e.g. to Kafka, keyed by `ticket_id`).
        seed: Seed of the traffic.
        tickets_per_minute: Daily average arrival rate.
        duration_s: Run this long, then return; None runs until `stop` is set.
        clock: Wall clock in epoch seconds (injected for tests).
        sleep: Blocking sleep (injected for tests); called in slices of at most
            `MAX_SLEEP_S` so that `stop` is noticed promptly.
        stop: Set it (from another thread) to end the run early.
        profile: The traffic profile (default: `Profile()`).

    Returns:
        The number of events sent.
    """
    sent = 0
    for step in _paced(seed, tickets_per_minute, duration_s, clock, stop, profile):
        if isinstance(step, float):
            sleep(step)
        else:
            send(step)
            sent += 1
    return sent


async def simulate_live_async(
    send: Callable[[Event], Awaitable[None] | None],
    *,
    seed: int,
    tickets_per_minute: float,
    duration_s: float | None,
    clock: Callable[[], float] = time.time,
    sleep: Callable[[float], Awaitable[None]] | None = None,
    stop: threading.Event | None = None,
    profile: Profile | None = None,
) -> int:
    """Same as `simulate_live`, for an event loop (e.g. the demo's).

    `sleep` (default `asyncio.sleep`) is awaited, and so is `send` when it returns an
    awaitable, so the loop keeps serving while the traffic is paced.
    """
    if sleep is None:
        import asyncio

        sleep = asyncio.sleep
    sent = 0
    for step in _paced(seed, tickets_per_minute, duration_s, clock, stop, profile):
        if isinstance(step, float):
            await sleep(step)
        else:
            result = send(step)
            if inspect.isawaitable(result):
                await result
            sent += 1
    return sent


def _paced(
    seed: int,
    tickets_per_minute: float,
    duration_s: float | None,
    clock: Callable[[], float],
    stop: threading.Event | None,
    profile: Profile | None,
) -> Iterator[float | Event]:
    """Yield either seconds to sleep or the next event to send, in order.

    One pacing plan for the blocking and the asyncio drivers; it ends at `stop`, or at
    the end of the run (after sleeping out the quiet tail, so a run lasts `duration_s`).
    """
    start_s = clock()
    end_s = math.inf if duration_s is None else start_s + duration_s
    events = generate_timed_events(
        seed=seed,
        start_s=start_s,
        duration_s=math.inf if duration_s is None else duration_s,
        tickets_per_minute=tickets_per_minute,
        profile=profile,
    )
    for due_s, event in events:
        if not (yield from _wait_until(due_s, clock, stop)):
            return
        yield event
    yield from _wait_until(end_s, clock, stop)


def _wait_until(
    due_s: float, clock: Callable[[], float], stop: threading.Event | None
) -> Generator[float, None, bool]:
    """Yield sleep slices until `clock()` reaches `due_s`; return False if stopped first."""
    while True:
        if stop is not None and stop.is_set():
            return False
        wait_s = due_s - clock()
        if wait_s <= 0:
            return True
        yield float(min(wait_s, MAX_SLEEP_S))
