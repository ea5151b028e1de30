"""What the processor is configured with; built from the worker settings."""

from __future__ import annotations

from dataclasses import dataclass, field

from stream.domain.definitions import (
    DEFAULT_BACKLOG_AGE_S,
    DEFAULT_CLOSED_RETENTION_S,
    DEFAULT_MAX_FUTURE_SKEW_S,
    DEFAULT_MAX_HELD_BYTES,
    DEFAULT_MAX_QUEUES,
    DEFAULT_MAX_TICKET_EVENTS,
    DEFAULT_ORPHAN_TIMEOUT_S,
    DEFAULT_SOLVED_RETENTION_S,
)
from stream.domain.facts import DEFAULT_FCR_REOPEN_WINDOW_S
from stream.domain.policies import PolicySet
from stream.domain.rules import TicketRules


@dataclass(frozen=True, slots=True)
class ProcessorConfig:
    """What the processor needs to know; built from the worker settings."""

    input_topic: str
    partitions: int
    fcr_reopen_window_s: float = DEFAULT_FCR_REOPEN_WINDOW_S
    orphan_timeout_s: float = DEFAULT_ORPHAN_TIMEOUT_S
    max_future_skew_s: float = DEFAULT_MAX_FUTURE_SKEW_S
    max_message_bytes: int = 65536
    default_backlog_age_s: float = DEFAULT_BACKLOG_AGE_S
    max_queues: int = DEFAULT_MAX_QUEUES
    max_ticket_events: int = DEFAULT_MAX_TICKET_EVENTS
    max_held_bytes: int = DEFAULT_MAX_HELD_BYTES
    closed_retention_s: float = DEFAULT_CLOSED_RETENTION_S
    solved_retention_s: float = DEFAULT_SOLVED_RETENTION_S
    policies: PolicySet = field(default_factory=lambda: PolicySet(()))
    # The processing clock: "wall" (live) or "event" (stream time, for replays).
    clock: str = "wall"

    def rules(self) -> TicketRules:
        """What ticket facts are derived with."""
        return TicketRules(
            fcr_reopen_window_s=self.fcr_reopen_window_s,
            policies=self.policies,
            default_backlog_age_s=self.default_backlog_age_s,
            max_events=self.max_ticket_events,
            max_held_bytes=self.max_held_bytes,
        )

    @property
    def rekey_topic(self) -> str:
        """Internal topic of messages moved to the partition of their ticket."""
        return f"{self.input_topic}.rekeyed"

    @property
    def dlq_topic(self) -> str:
        """Dead-letter topic."""
        return f"{self.input_topic}.dlq"
