"""The configuration that ticket facts depend on, passed to every derivation as one value."""

from __future__ import annotations

from dataclasses import dataclass, field

from stream.domain.definitions import (
    DEFAULT_BACKLOG_AGE_S,
    DEFAULT_MAX_HELD_BYTES,
    DEFAULT_MAX_TICKET_EVENTS,
)
from stream.domain.facts import DEFAULT_FCR_REOPEN_WINDOW_S
from stream.domain.policies import PolicySet


@dataclass(frozen=True, slots=True)
class TicketRules:
    """Knobs of the metric definitions: FCR reopen window, SLA policies, default backlog age.

    Attributes:
        fcr_reopen_window_s: a reopen within this long after the first solve spoils FCR.
        policies: the SLA policies (empty: no SLA clocks).
        default_backlog_age_s: backlog age of a ticket whose policy sets no resolution target.
        max_events: events a ticket keeps (applied and held); more are dead-lettered.
        max_held_bytes: raw bytes of the events a ticket holds before its creation.
    """

    fcr_reopen_window_s: float = DEFAULT_FCR_REOPEN_WINDOW_S
    policies: PolicySet = field(default_factory=lambda: PolicySet(()))
    default_backlog_age_s: float = DEFAULT_BACKLOG_AGE_S
    max_events: int = DEFAULT_MAX_TICKET_EVENTS
    max_held_bytes: int = DEFAULT_MAX_HELD_BYTES
