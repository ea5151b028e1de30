"""The closed vocabularies of the input contract (event types, statuses, priorities)."""

from __future__ import annotations

from typing import Final

TICKET_CREATED: Final = "ticket.created"
TICKET_ASSIGNED: Final = "ticket.assigned"
TICKET_QUEUE_CHANGED: Final = "ticket.queue_changed"
TICKET_PRIORITY_CHANGED: Final = "ticket.priority_changed"
TICKET_STATUS_CHANGED: Final = "ticket.status_changed"
TICKET_MESSAGE: Final = "ticket.message"
INTERACTION_COMPLETED: Final = "interaction.completed"
SURVEY_CSAT: Final = "survey.csat"
SURVEY_NPS: Final = "survey.nps"
AGENT_PRESENCE: Final = "agent.presence"

EVENT_TYPES: Final = frozenset(
    {
        TICKET_CREATED,
        TICKET_ASSIGNED,
        TICKET_QUEUE_CHANGED,
        TICKET_PRIORITY_CHANGED,
        TICKET_STATUS_CHANGED,
        TICKET_MESSAGE,
        INTERACTION_COMPLETED,
        SURVEY_CSAT,
        SURVEY_NPS,
        AGENT_PRESENCE,
    }
)

PRIORITIES: Final = ("low", "normal", "high", "urgent")
CHANNELS: Final = ("email", "chat", "phone", "web", "social", "api", "other")
STATUSES: Final = ("new", "open", "pending", "on_hold", "solved", "closed")
UNSOLVED: Final = frozenset({"new", "open", "pending", "on_hold"})
SOLVED: Final = "solved"
CLOSED: Final = "closed"

# Average ticket severity weights: the contract's low=1 .. urgent=4 scale.
SEVERITY: Final = {"low": 1, "normal": 2, "high": 3, "urgent": 4}

# Label used when a fact has no attributable queue and for queues over the cap.
OTHER_QUEUE: Final = "other"
