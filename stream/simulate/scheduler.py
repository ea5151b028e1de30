"""The simulation's time-ordered heap of pending actions and events, and event stamping."""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

Event = dict[str, Any]
#: A future step of the simulation, called with its argument and its time (epoch ms).
Action = Callable[[Any, int], None]


@lru_cache(maxsize=4096)
def minute_prefix(minute: int) -> str:
    """Return `YYYY-MM-DDTHH:MM:` of epoch minute `minute` (cached: events come in order)."""
    return datetime.fromtimestamp(minute * 60, tz=UTC).strftime("%Y-%m-%dT%H:%M:")


def rfc3339_ms(t_ms: int) -> str:
    """Format epoch milliseconds as RFC 3339 UTC with milliseconds, e.g. `...T09:05:01.250Z`.

    Hand-rolled around a per-minute cache because formatting a `datetime` per event would
    take a third of the generator's time.
    """
    minute, rest = divmod(t_ms, 60_000)
    return f"{minute_prefix(minute)}{rest // 1000:02d}.{rest % 1000:03d}Z"


class Scheduler:
    """A heap of future actions and events, processed in time order.

    Entries are `(t_ms, seq, action, arg)`: `seq` breaks ties in push order (and keeps
    actions from ever being compared); an entry without an action is an event to emit.

    Args:
        start_ms: Epoch milliseconds of the start of the run.
        end_ms: Last epoch millisecond that may be emitted (`math.inf`: no end).
        event_prefix: Prefix of event ids; a running count follows it.
    """

    def __init__(self, start_ms: int, end_ms: float, event_prefix: str) -> None:
        self.now_ms = start_ms
        self._end_ms = end_ms
        self._event_prefix = event_prefix
        self._seq = 0
        self._heap: list[tuple[int, int, Action | None, Any]] = []

    def run(self) -> Iterator[Event]:
        """Process the heap; yield events with their id and timestamp filled in.

        `now_ms` holds the time of the event just yielded.
        """
        heap, pop, prefix, n = self._heap, heapq.heappop, self._event_prefix, 0
        last_minute, stamp = -1, ""
        while heap:
            t, _, action, arg = pop(heap)
            if action is not None:
                action(arg, t)
                continue
            n += 1
            arg["event_id"] = f"{prefix}{n}"
            minute, rest = divmod(t, 60_000)
            if minute != last_minute:  # rfc3339_ms, inlined: this loop is the hot path
                last_minute, stamp = minute, minute_prefix(minute)
            arg["occurred_at"] = f"{stamp}{rest // 1000:02d}.{rest % 1000:03d}Z"
            self.now_ms = t
            yield arg

    def push(self, t: int, action: Action | None, arg: Any) -> None:
        """Schedule `action(arg, t)` at `t`, or emit event `arg` at `t` if `action` is None."""
        if t <= self._end_ms:  # later work can never be emitted: drop it now
            self._seq += 1
            heapq.heappush(self._heap, (t, self._seq, action, arg))

    def emit_all(self, events: list[tuple[int, Event]]) -> None:
        """Emit `(t, event)` pairs; events at equal times keep their order in the list."""
        events.sort(key=lambda item: item[0])  # stable: equal times keep story order
        for t, event in events:
            self.push(t, None, event)
