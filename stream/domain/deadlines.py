"""A deadline queue: which tickets have a clock that breaches next, without scanning them all.

Breaches must be detected at their instant even when no event arrives for the ticket, so
each partition keeps its tickets' earliest breach instants in a heap. Each ticket has at
most one live entry; rescheduling pushes a new entry and leaves the old one in the heap
as stale (skipped when it surfaces), which keeps every operation O(log n). The heap is
compacted when stale entries outnumber live ones, so it stays bounded.
"""

from __future__ import annotations

import heapq


class DeadlineQueue:
    """Earliest pending deadline per key, popped in time order once the clock passes it."""

    __slots__ = ("_at", "_heap")

    def __init__(self) -> None:
        self._heap: list[tuple[float, str]] = []
        self._at: dict[str, float] = {}

    def __len__(self) -> int:
        return len(self._at)

    def get(self, key: str) -> float | None:
        """The scheduled deadline of ``key``, if any."""
        return self._at.get(key)

    def schedule(self, key: str, at_s: float | None) -> None:
        """Set (or with ``None`` clear) the deadline of ``key``."""
        current = self._at.get(key)
        if at_s == current:
            return
        if at_s is None:
            del self._at[key]
            return
        self._at[key] = at_s
        heapq.heappush(self._heap, (at_s, key))
        if len(self._heap) > 2 * len(self._at) + 1024:
            self._compact()

    def pop_due(self, now_s: float) -> list[str]:
        """Keys whose deadline has passed (strictly before ``now_s``), earliest first.

        Strict because a clock breaches only once its elapsed time *exceeds* the target:
        at the deadline instant itself it is still within target.
        """
        heap, at = self._heap, self._at
        due: list[str] = []
        while heap and heap[0][0] < now_s:
            when, key = heapq.heappop(heap)
            if at.get(key) == when:
                del at[key]
                due.append(key)
        return due

    def next_s(self) -> float | None:
        """The earliest live deadline (for timers and tests)."""
        while self._heap and self._at.get(self._heap[0][1]) != self._heap[0][0]:
            heapq.heappop(self._heap)
        return self._heap[0][0] if self._heap else None

    def clear(self) -> None:
        """Forget every deadline (the partition moved to another worker)."""
        self._heap.clear()
        self._at.clear()

    def _compact(self) -> None:
        self._heap = [(when, key) for key, when in self._at.items()]
        heapq.heapify(self._heap)
