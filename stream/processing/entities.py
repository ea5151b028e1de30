"""The small entities kept beside tickets: per-partition accounting, lone NPS responses, agents."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from stream.domain.aggregates import HistogramState
from stream.domain.facts import CounterKey, Observation
from stream.domain.ticket import ACCOUNTED, APPLIED, DUPLICATE


@dataclass(slots=True)
class PartitionRecord:
    """Accounting of one partition, persisted with its tickets.

    It is written after the ticket states of each batch, in the same changelog partition,
    so after a crash the recovered record never claims more than the recovered tickets
    hold: messages past ``offsets`` are processed again and counted once.
    """

    partition: int
    consumed: int = 0
    applied: int = 0
    duplicate: int = 0
    dead_lettered: dict[str, int] = field(default_factory=dict)
    offsets: dict[str, int] = field(default_factory=dict)
    stream_time_s: float = 0.0
    last_event_s: float = 0.0
    queue_overflow: int = 0
    # Counters and histogram observations of tickets dropped after retention, so that
    # counters never go down when old tickets are forgotten.
    retired_counters: dict[CounterKey, int] = field(default_factory=dict)
    retired_histograms: dict[tuple[str, tuple[str, ...]], HistogramState] = field(
        default_factory=dict
    )
    # Keys being dropped: written before their tombstones, cleared after them, so a
    # recovered prefix never counts a ticket both live and retired.
    purging: list[str] = field(default_factory=list)

    def retire(self, counted: Iterable[CounterKey], observed: Iterable[Observation]) -> None:
        """Keep a dropped ticket's counted facts."""
        for key in counted:
            self.retired_counters[key] = self.retired_counters.get(key, 0) + 1
        for metric, labels, value in observed:
            hist = self.retired_histograms.get((metric, labels))
            if hist is None:
                hist = self.retired_histograms[(metric, labels)] = HistogramState.empty(metric)
            hist.observe(metric, value)

    def to_dict(self) -> dict[str, Any]:
        """Serialise for the changelog."""
        return {
            "k": "partition",
            "retired_counters": [[list(k), n] for k, n in self.retired_counters.items()],
            "retired_histograms": [
                [m, list(lb), h.counts, h.total, h.count]
                for (m, lb), h in self.retired_histograms.items()
            ],
            "purging": list(self.purging),
            "p": self.partition,
            "consumed": self.consumed,
            "applied": self.applied,
            "duplicate": self.duplicate,
            "dead_lettered": self.dead_lettered,
            "offsets": self.offsets,
            "stream_time_s": self.stream_time_s,
            "last_event_s": self.last_event_s,
            "queue_overflow": self.queue_overflow,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PartitionRecord:
        """Inverse of :meth:`to_dict`."""
        return cls(
            partition=int(data["p"]),
            consumed=int(data["consumed"]),
            applied=int(data["applied"]),
            duplicate=int(data["duplicate"]),
            dead_lettered={k: int(n) for k, n in data["dead_lettered"].items()},
            offsets={k: int(n) for k, n in data["offsets"].items()},
            stream_time_s=float(data["stream_time_s"]),
            last_event_s=float(data["last_event_s"]),
            queue_overflow=int(data.get("queue_overflow", 0)),
            retired_counters={tuple(k): int(n) for k, n in data.get("retired_counters", [])},
            retired_histograms={
                (m, tuple(lb)): HistogramState(list(counts), float(total), int(count))
                for m, lb, counts, total, count in data.get("retired_histograms", [])
            },
            purging=list(data.get("purging", [])),
        )


@dataclass(slots=True)
class LoneNps:
    """An NPS response that names no ticket, kept so a redelivery is recognised."""

    partition: int
    t: float
    score: int
    queue: str
    src: str
    via: str

    def to_dict(self) -> dict[str, Any]:
        """Serialise for the changelog."""
        return {"k": "nps", "p": self.partition, "t": self.t, "score": self.score,
                "queue": self.queue, "src": self.src, "via": self.via}  # fmt: skip

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> LoneNps:
        """Inverse of :meth:`to_dict`."""
        return cls(int(data["p"]), float(data["t"]), int(data["score"]), data["queue"],
                   data["src"], data["via"])  # fmt: skip


# How many recent presence event ids an agent remembers to recognise duplicates.
PRESENCE_RECENT_IDS = 32


@dataclass(slots=True)
class AgentPresence:
    """An agent's latest presence (by event time); the input of live staffing."""

    partition: int
    agent: str
    status: str = "offline"
    queues: list[str] = field(default_factory=list)
    t: float = 0.0
    recent: dict[str, str] = field(default_factory=dict)  # event_id -> via

    def observe(self, event: dict[str, Any], *, t: float, via: str) -> str:
        """Apply a presence event; the latest by event time wins.

        Returns ``APPLIED``, ``DUPLICATE`` (a known event id from another message) or
        ``ACCOUNTED`` (the same message again after a crash: applied, nothing changes).
        """
        seen_via = self.recent.get(event["event_id"])
        if seen_via is not None:
            return ACCOUNTED if seen_via == via else DUPLICATE
        if t >= self.t:
            self.status = str(event["status"])
            self.queues = [str(q) for q in event.get("queues", [])]
            self.t = t
        self.recent[event["event_id"]] = via
        while len(self.recent) > PRESENCE_RECENT_IDS:
            del self.recent[next(iter(self.recent))]
        return APPLIED

    def to_dict(self) -> dict[str, Any]:
        """Serialise for the changelog."""
        return {"k": "agent", "p": self.partition, "agent": self.agent, "status": self.status,
                "queues": self.queues, "t": self.t, "recent": self.recent}  # fmt: skip

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> AgentPresence:
        """Inverse of :meth:`to_dict`."""
        return cls(int(data["p"]), data["agent"], data["status"], list(data["queues"]),
                   float(data["t"]), dict(data["recent"]))  # fmt: skip
