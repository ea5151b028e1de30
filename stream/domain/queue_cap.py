"""The cap on distinct `queue` label values, so a flood of queue names cannot blow up memory."""

from __future__ import annotations

from dataclasses import dataclass, field

from stream.domain.definitions import DEFAULT_MAX_QUEUES
from stream.domain.vocabulary import OTHER_QUEUE


@dataclass(slots=True)
class QueueCap:
    """Admits the first ``max_queues`` distinct queue names a worker sees; the rest are `other`.

    The cap is per worker and applied before aggregation, so memory stays bounded however
    many names arrive. Admission follows arrival order; with fewer distinct queues than the
    cap (the normal case) every queue keeps its own label.
    """

    max_queues: int = DEFAULT_MAX_QUEUES
    admitted: set[str] = field(default_factory=set)
    overflow_events: int = 0

    def label(self, queue: str) -> str:
        """The label value for ``queue``."""
        if queue in self.admitted:
            return queue
        if len(self.admitted) < self.max_queues or queue == OTHER_QUEUE:
            self.admitted.add(queue)
            return queue
        return OTHER_QUEUE

    def note_event(self, queue: str | None) -> bool:
        """Count an event that names a queue beyond the cap; True when it does."""
        if queue is not None and self.label(queue) == OTHER_QUEUE and queue != OTHER_QUEUE:
            self.overflow_events += 1
            return True
        return False
