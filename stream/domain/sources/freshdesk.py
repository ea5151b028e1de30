"""Freshdesk ticket-activities exports and automation webhooks as contract events.

Both inputs describe a ticket by Freshdesk's display names or numeric ids, so every value goes
through the tables below; a value outside them is counted in ``unmapped`` rather than guessed.
The mapping tables, ids and webhook placeholders are documented in ``docs/sources/freshdesk.md``.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Collection, Mapping
from datetime import datetime
from typing import Any

from stream.domain.sources.common import Mapped, rfc3339, stable_id
from stream.domain.sources.freshdesk_values import (
    NOTE_KINDS,
    PRIORITY_IDS,
    PRIORITY_NAMES,
    SOURCE_IDS,
    SOURCE_NAMES,
    STATUS_IDS,
    STATUS_NAMES,
)
from stream.domain.vocabulary import STATUSES

SOURCE = "freshdesk"
DEFAULT_QUEUE = "freshdesk"
_QUEUE_CHARS = 64
_ID_CHARS = 128

_AGENT_KEYS = ("agent_id", "Agent")
_CREATION_KEYS = frozenset({"new_ticket", "status", "priority", "source", "group", *_AGENT_KEYS})
_CHANGE_KEYS = frozenset({"status", "priority", "group", *_AGENT_KEYS})
_SKIPPED_KEYS = frozenset({"requester_id", "source"})
# Observer events that add a message: a public or private note, or an agent's reply.
_MESSAGE_TRIGGERS = {("note_type", "public"), ("note_type", "private"), ("reply_sent", "sent")}
_TRIGGER = re.compile(r"^\{\s*(\w+)\s*:\s*(.*?)\s*\}$", re.DOTALL)
_FROM_TO = re.compile(r"^\{\s*from\s*:\s*([^,]*?)\s*,\s*to\s*:\s*([^}]*?)\s*\}$")

_INCOMPLETE = "freshdesk activity without ticket_id, performed_at or activity"
# Per call: "status" / "priority" / "source" -> (by id, by lower-case name).
_Tables = Mapping[str, tuple[Mapping[int, str], Mapping[str, str]]]


def map_activities(
    export: Mapping[str, Any],
    *,
    custom_statuses: Mapping[str, str] | None = None,
    agent_ids: Collection[int | str] | None = None,
    default_queue: str = DEFAULT_QUEUE,
) -> Mapped:
    """Map one Ticket Activities export file (``{"activities_data": [...]}``).

    Args:
        export: The export file's JSON object.
        custom_statuses: The account's custom statuses: name (or id as a string) -> contract
            status; they are added to (and override) the built-in table.
        agent_ids: Performer ids of agents. Without it a reply is the customer's when its
            performer is the ticket's requester (from the ``new_ticket`` activity), else the
            agent's; a reply on a ticket whose requester is unknown is reported as unmapped.
        default_queue: Queue of a ticket without a group.

    Returns:
        The contract events in export order, and what could not be mapped.
    """
    tables = _tables(custom_statuses)
    out = Mapped()
    rows = export.get("activities_data")
    if not isinstance(rows, list):
        out.unmapped["freshdesk export without an activities_data list"] += 1
        return out
    activities = [
        r for r in rows if isinstance(r, Mapping) and isinstance(r.get("activity"), Mapping)
    ]
    requesters = {
        _key(r.get("ticket_id")): _key(r["activity"]["requester_id"])
        for r in activities
        if r["activity"].get("requester_id") is not None
    }
    agents = None if agent_ids is None else {_key(a) for a in agent_ids}
    if len(activities) < len(rows):
        out.unmapped[_INCOMPLETE] += len(rows) - len(activities)
    for row in activities:
        _map_activity(row, tables, requesters, agents, default_queue, out)
    return out


def map_webhook(
    payload: Mapping[str, Any],
    *,
    received_at: datetime | None = None,
    custom_statuses: Mapping[str, str] | None = None,
    default_queue: str = DEFAULT_QUEUE,
) -> Mapped:
    """Map one automation-rule webhook body (``{"freshdesk_webhook": {...}}``).

    Args:
        payload: The JSON body the rule's admin configured (placeholders in the docs).
        received_at: When the webhook arrived, used only when the body has no
            ``ticket_updated_at`` (the adapter passes it: the domain never reads the clock).
        custom_statuses: As for :func:`map_activities`.
        default_queue: Queue of a ticket without a group.

    Returns:
        The event the body's ``triggered_event`` announces, and what could not be mapped.
    """
    tables = _tables(custom_statuses)
    out = Mapped()
    raw = payload.get("freshdesk_webhook", payload)
    body: Mapping[str, Any] = raw if isinstance(raw, Mapping) else {}
    ticket = _key(body.get("ticket_id"))
    when = _parse_time(body.get("ticket_updated_at")) or received_at
    trigger = _TRIGGER.match(str(body.get("triggered_event") or "").strip())
    if not ticket or when is None or trigger is None:
        out.unmapped["freshdesk webhook without ticket_id, a timestamp or triggered_event"] += 1
        return out
    prop, value = trigger.group(1).casefold(), trigger.group(2)
    change = _FROM_TO.match(value)
    occurred = rfc3339(when)
    base = {
        "event_id": stable_id(SOURCE, ticket, occurred, prop, value),
        "occurred_at": occurred,
        "ticket_id": f"fd-{ticket}",
    }
    agent = _agent(body.get("ticket_agent_email") or body.get("ticket_agent_name"))
    if (prop, value) == ("ticket_action", "created"):
        # One creation per ticket: the same id as the export's, so both deduplicate.
        base["event_id"] = stable_id(SOURCE, ticket, "created")
        values = {k: body.get(f"ticket_{k}") for k in ("status", "priority", "source")}
        queue = _queue(body.get("ticket_group_name"), default_queue)
        out.events.append(_created(base, values, queue, agent, tables, out))
    elif prop in ("status", "priority"):
        # The body's current name is preferred: custom statuses are known by name only.
        new_value = body.get(f"ticket_{prop}") or (change.group(2) if change else value)
        _change(base, prop, new_value, tables, out)
    elif prop == "group_id":
        queue = _queue(body.get("ticket_group_name"), default_queue)
        out.events.append({**base, "type": "ticket.queue_changed", "queue": queue})
    elif prop == "responder_id":
        out.events.append({**base, "type": "ticket.assigned", "assignee": agent})
    elif (prop, value) in _MESSAGE_TRIGGERS:
        public = value != "private"
        out.events.append({**base, "type": "ticket.message", "author": "agent", "public": public})
    else:
        out.unmapped[f"freshdesk webhook event '{prop}:{value}'"] += 1
    return out


def _map_activity(
    row: Mapping[str, Any],
    tables: _Tables,
    requesters: Mapping[str, str],
    agents: set[str] | None,
    default_queue: str,
    out: Mapped,
) -> None:
    """Append the events of one ``activities_data`` row, in the order they happened."""
    activity: Mapping[str, Any] = row["activity"]
    ticket, when = _key(row.get("ticket_id")), _parse_time(row.get("performed_at"))
    if not ticket or when is None:
        out.unmapped[_INCOMPLETE] += 1
        return
    # Activities have no id of their own and their position in the export changes between
    # exports, so the id is the ticket, the time and a digest of the content.
    content = json.dumps([row.get("performer_id"), activity], sort_keys=True, default=str)
    digest = hashlib.sha256(content.encode()).hexdigest()[:16]
    occurred = rfc3339(when)

    def base(part: str) -> dict[str, Any]:
        event_id = stable_id(SOURCE, ticket, occurred, digest, part)
        return {"event_id": event_id, "occurred_at": occurred, "ticket_id": f"fd-{ticket}"}

    agent = next((activity[k] for k in _AGENT_KEYS if k in activity), None)
    if activity.get("new_ticket") is True:
        handled = _CREATION_KEYS
        values = {k: activity.get(k) for k in ("status", "priority", "source")}
        created = {**base(""), "event_id": stable_id(SOURCE, ticket, "created")}
        queue = _queue(activity.get("group"), default_queue)
        out.events.append(_created(created, values, queue, _agent(agent), tables, out))
    else:
        handled = _CHANGE_KEYS
        if "group" in activity:
            queue = _queue(activity["group"], default_queue)
            out.events.append({**base("group"), "type": "ticket.queue_changed", "queue": queue})
        if any(k in activity for k in _AGENT_KEYS):
            assigned = {"type": "ticket.assigned", "assignee": _agent(agent)}
            out.events.append({**base("agent"), **assigned})
        for prop in ("priority", "status"):
            if prop in activity:
                _change(base(prop), prop, activity[prop], tables, out)
    if "note" in activity:
        _note(activity["note"], ticket, row.get("performer_id"), requesters, agents, base, out)
    for key in activity:
        if key not in handled and key != "note":
            bucket = out.skipped if key in _SKIPPED_KEYS else out.unmapped
            bucket[f"freshdesk activity key '{key}'"] += 1


def _note(
    note: Any,
    ticket: str,
    performer: Any,
    requesters: Mapping[str, str],
    agents: set[str] | None,
    base: Callable[[str], dict[str, Any]],
    out: Mapped,
) -> None:
    """Append the ``ticket.message`` of an activity's ``note``, if its type says who wrote it."""
    note_type = note.get("type") if isinstance(note, Mapping) else note
    kind = NOTE_KINDS.get(str(note_type).strip().casefold())
    if kind is None or kind == "forward":
        bucket = out.skipped if kind == "forward" else out.unmapped
        bucket[f"freshdesk note type '{note_type}'"] += 1
        return
    author = "agent"
    if kind == "reply":
        if agents is not None:
            author = "agent" if _key(performer) in agents else "customer"
        elif ticket in requesters:
            author = "customer" if _key(performer) == requesters[ticket] else "agent"
        else:
            out.unmapped["freshdesk reply on a ticket whose requester is unknown"] += 1
            return
    event = {
        **base("note"),
        "type": "ticket.message",
        "author": author,
        "public": kind != "private",
    }
    if isinstance(note, Mapping) and note.get("id") is not None:
        event["event_id"] = stable_id(SOURCE, ticket, "note", _key(note["id"]))
    out.events.append(event)


def _created(
    base: dict[str, Any],
    values: Mapping[str, Any],
    queue: str,
    assignee: str | None,
    tables: _Tables,
    out: Mapped,
) -> dict[str, Any]:
    """A ``ticket.created``; a status, priority or source it cannot translate keeps its default."""
    event = {**base, "type": "ticket.created", "queue": queue, "assignee": assignee}
    for prop, field in (("status", "status"), ("priority", "priority"), ("source", "channel")):
        if values.get(prop) not in (None, ""):
            mapped = _translate(prop, values[prop], tables, out)
            if mapped is not None:
                event[field] = mapped
    return event


def _change(base: dict[str, Any], prop: str, value: Any, tables: _Tables, out: Mapped) -> None:
    """Append a ``ticket.status_changed`` or ``ticket.priority_changed`` if ``value`` is known."""
    mapped = _translate(prop, value, tables, out)
    if mapped is not None:
        out.events.append({**base, "type": f"ticket.{prop}_changed", prop: mapped})


def _translate(prop: str, value: Any, tables: _Tables, out: Mapped) -> str | None:
    """A Freshdesk id (number or digit string) or name (any case) in the contract's words."""
    by_id, by_name = tables[prop]
    mapped = None
    if isinstance(value, int) and not isinstance(value, bool):
        mapped = by_id.get(value)
    elif isinstance(value, str):
        text = value.strip()
        mapped = by_id.get(int(text)) if text.isdigit() else by_name.get(text.casefold())
    if mapped is None:
        out.unmapped[f"freshdesk {prop} '{value}'"] += 1
    return mapped


def _tables(custom_statuses: Mapping[str, str] | None) -> _Tables:
    """The translation tables of one call, with the account's custom statuses added."""
    by_id, by_name = dict(STATUS_IDS), dict(STATUS_NAMES)
    for name, status in (custom_statuses or {}).items():
        if status not in STATUSES:
            raise ValueError(f"custom status {name!r}: {status!r} is not one of {STATUSES}")
        if name.strip().isdigit():
            by_id[int(name)] = status
        else:
            by_name[name.strip().casefold()] = status
    return {
        "status": (by_id, by_name),
        "priority": (PRIORITY_IDS, PRIORITY_NAMES),
        "source": (SOURCE_IDS, SOURCE_NAMES),
    }


def _parse_time(value: Any) -> datetime | None:
    """An export time (``31-01-2022 09:33:38 +0000``, day first) or ISO 8601 with an offset."""
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        parsed = datetime.strptime(value.strip(), "%d-%m-%Y %H:%M:%S %z")
    except ValueError:
        try:
            parsed = datetime.fromisoformat(value.strip())
        except ValueError:
            return None
    return parsed if parsed.tzinfo is not None else None


def _key(value: Any) -> str:
    """A source id as text (ids arrive as numbers in exports and as strings in webhooks)."""
    return "" if value is None or isinstance(value, bool) else str(value).strip()


def _queue(group: Any, default_queue: str) -> str:
    """The queue of a Freshdesk group name (the default when the ticket has none)."""
    name = group.strip() if isinstance(group, str) else ""
    return (name or default_queue)[:_QUEUE_CHARS]


def _agent(value: Any) -> str | None:
    """An assignee id from an agent id, name or e-mail; None when the ticket is unassigned."""
    text = _key(value)
    return text[:_ID_CHARS] if text and text.casefold() not in ("none", "null") else None
