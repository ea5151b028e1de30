"""Event factories: build contract-shaped events with readable relative times."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from typing import Any

# A fixed Monday morning, so bucket arithmetic in tests is easy to follow.
EPOCH = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
_ids = itertools.count(1)


def at(seconds: float) -> str:
    """RFC 3339 timestamp ``seconds`` after EPOCH."""
    return (EPOCH + timedelta(seconds=seconds)).isoformat().replace("+00:00", "Z")


def ts(seconds: float) -> float:
    """Epoch seconds of ``seconds`` after EPOCH."""
    return EPOCH.timestamp() + seconds


def event(etype: str, t: float, ticket: str | None = "T-1", **fields: Any) -> dict[str, Any]:
    """One event with a fresh id; defaults are left to the schema unless given."""
    ev: dict[str, Any] = {"event_id": fields.pop("event_id", f"e-{next(_ids)}"), "type": etype,
                          "occurred_at": at(t)}  # fmt: skip
    if ticket is not None:
        ev["ticket_id"] = ticket
    ev.update(fields)
    return ev


def created(t: float, ticket: str = "T-1", **fields: Any) -> dict[str, Any]:
    """A ``ticket.created`` with the contract defaults filled in."""
    base = {"queue": "billing", "priority": "normal", "channel": "email", "status": "new"}
    base.update(fields)
    return event("ticket.created", t, ticket, **base)


def status(t: float, new: str, ticket: str = "T-1", **fields: Any) -> dict[str, Any]:
    """A ``ticket.status_changed``."""
    return event("ticket.status_changed", t, ticket, status=new, **fields)


def reply(t: float, ticket: str = "T-1", **fields: Any) -> dict[str, Any]:
    """An agent public message."""
    return event("ticket.message", t, ticket, author="agent", public=True, **fields)


def customer(t: float, ticket: str = "T-1", **fields: Any) -> dict[str, Any]:
    """A customer public message."""
    return event("ticket.message", t, ticket, author="customer", public=True, **fields)


def interaction(t: float, talk: float, hold: float = 0, wrap: float = 0,
                ticket: str = "T-1", **fields: Any) -> dict[str, Any]:  # fmt: skip
    """An ``interaction.completed``."""
    return event("interaction.completed", t, ticket, talk_seconds=talk, hold_seconds=hold,
                 wrap_seconds=wrap, **fields)  # fmt: skip


def csat(t: float, score: int, ticket: str = "T-1", **fields: Any) -> dict[str, Any]:
    """A ``survey.csat``."""
    return event("survey.csat", t, ticket, score=score, **fields)


def nps(t: float, score: int, ticket: str | None = "T-1", **fields: Any) -> dict[str, Any]:
    """A ``survey.nps``."""
    return event("survey.nps", t, ticket, score=score, **fields)
