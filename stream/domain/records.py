"""Compact records of a ticket's events, as kept in its state and its changelog."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from stream.domain import vocabulary as v
from stream.domain.shared import share_fields, share_str

# Only the fields that ticket facts depend on are kept; the rest of an event's payload is
# forwarded nowhere, which keeps per-ticket state small.
_KEPT_FIELDS: dict[str, tuple[str, ...]] = {
    v.TICKET_CREATED: ("queue", "priority", "channel", "status", "assignee"),
    v.TICKET_ASSIGNED: ("assignee",),
    v.TICKET_QUEUE_CHANGED: ("queue",),
    v.TICKET_PRIORITY_CHANGED: ("priority",),
    v.TICKET_STATUS_CHANGED: ("status",),
    v.TICKET_MESSAGE: ("author", "public"),
    v.INTERACTION_COMPLETED: (),
    v.SURVEY_CSAT: ("score",),
    v.SURVEY_NPS: ("score", "queue"),
}


@dataclass(slots=True)
class TicketEvent:
    """One accepted event of a ticket.

    Attributes:
        event_id: the source event id (deduplication key).
        type: the event type.
        t: ``occurred_at`` in epoch seconds.
        seq: arrival order within the ticket; breaks ties of equal ``t``.
        src: Kafka coordinates of the original message (``topic:partition:offset``), so a
            redelivery after a crash is told apart from a genuine duplicate.
        via: coordinates of the delivering message (differs from ``src`` when re-keyed).
        f: the type's own fields that facts depend on; shared by equal events, so never
            changed in place (see :func:`stream.domain.shared.share_fields`).
    """

    event_id: str
    type: str
    t: float
    seq: int
    src: str
    via: str
    f: dict[str, Any]

    @classmethod
    def from_event(
        cls, event: dict[str, Any], *, t: float, seq: int, src: str, via: str
    ) -> TicketEvent:
        """Keep what facts need of a validated event (defaults already applied)."""
        etype = share_str(event["type"])
        # Types and field values (queues, statuses, authors...) repeat across thousands of
        # tickets: one interned copy each (see stream.domain.shared).
        via = src if via == src else via  # one string when not re-keyed
        fields = {k: share_str(event.get(k)) for k in _KEPT_FIELDS.get(etype, ())}
        if etype == v.INTERACTION_COMPLETED:
            fields["handle"] = (
                float(event.get("talk_seconds", 0))
                + float(event.get("hold_seconds", 0))
                + float(event.get("wrap_seconds", 0))
            )
        return cls(event["event_id"], etype, t, seq, src, via, _shared(etype, fields))

    @property
    def order(self) -> tuple[float, int]:
        """Position in the ticket's history: event time, then arrival."""
        return (self.t, self.seq)

    def to_list(self) -> list[Any]:
        """Serialise compactly for the changelog."""
        return [self.event_id, self.type, self.t, self.seq, self.src, self.via, self.f]

    @classmethod
    def from_list(cls, data: list[Any]) -> TicketEvent:
        """Inverse of :meth:`to_list`."""
        event_id, etype, t, seq, src, via, fields = data
        etype = share_str(etype)
        fields = {k: share_str(x) for k, x in fields.items()}
        via = src if via == src else via
        return cls(event_id, etype, float(t), int(seq), src, via, _shared(etype, fields))


def _shared(etype: str, fields: dict[str, Any]) -> dict[str, Any]:
    """The pooled copy of an event's fields; an interaction's handle time is its own."""
    return fields if etype == v.INTERACTION_COMPLETED else share_fields(fields)
