"""Zendesk ticket events (incremental export pages, webhooks) mapped to contract events.

The mapping table, with the id and authorship rules, is in ``docs/sources/zendesk.md``.

- ``ticket_id`` is ``"zd-<Zendesk ticket id>"``: the prefix keeps Zendesk's numbers apart
  from other sources' ids in one topic.
- ``event_id`` is ``stable_id("zendesk", <ticket id>, <Zendesk event id>)``: the child
  event's id for changes, comments and ratings; the audit's id for ``ticket.created``
  (which gathers all of an audit's ``Create`` children); ``"webhook", <payload id>`` for
  webhooks, except comments, which use the comment's id. Mapping the same data again gives
  the same ids, so the worker drops re-imported events as duplicates.
- A comment's author is decided by ``agent_ids`` when given, else by the ticket's
  requester (see ``zendesk_fields.author_role``); webhook comments carry
  ``author.is_staff``. When none of these is known the comment is counted as unmapped,
  not guessed: a wrong author would corrupt first reply time.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, MutableMapping
from typing import Any

from stream.domain.sources.common import Mapped, stable_id
from stream.domain.sources.zendesk_fields import (
    CSAT_FIELD,
    SYSTEM_USER_ID,
    Groups,
    Miss,
    author_role,
    created_fields,
    epoch_time,
    field_change,
    iso_time,
)

SOURCE = "zendesk"
#: Child event types that never carry a ticket fact (messages sent, macros applied...).
SKIPPED_TYPES = frozenset({"Notification", "NotificationWithCcs", "Cc", "FollowerNotification",
                           "AgentMacroReference", "OrganizationActivity", "Push",
                           "Error"})  # fmt: skip
# Keys of a child event that are not the field it sets (the export names the field by key).
_META_KEYS = frozenset({"id", "via", "via_reference_id", "event_type", "type", "previous_value",
                        "created_at", "audit_id", "added_tags", "removed_tags"})  # fmt: skip
_CREATED_FIELDS = ("status", "priority", "group_id", "assignee_id")
# Webhook event types that set one field, and the field.
_WEBHOOK_FIELDS = {"status_changed": "status", "priority_changed": "priority",
                   "group_assignment_changed": "group_id",
                   "agent_assignment_changed": "assignee_id"}  # fmt: skip
# Order of one audit's events: the worker breaks ties of equal time by arrival, and a reply
# "submitted as solved" must be a reply before the ticket is solved.
_RANK = {"ticket.created": 0, "ticket.assigned": 1, "ticket.queue_changed": 1,
         "ticket.priority_changed": 1, "ticket.message": 2, "ticket.status_changed": 3,
         "survey.csat": 4}  # fmt: skip


def map_incremental_events(
    page: Mapping[str, Any],
    *,
    groups: Groups | None = None,
    agent_ids: Collection[int | str] | None = None,
    requesters: MutableMapping[str, str] | None = None,
) -> Mapped:
    """Map one page of ``GET /api/v2/incremental/ticket_events.json`` to contract events.

    Args:
        page: The decoded response: ``ticket_events`` (audits, each with ``child_events``),
            ``end_time``, ``next_page``, ``end_of_stream``.
        groups: Zendesk group id -> queue name; unnamed groups become ``group-<id>``.
        agent_ids: Ids of Zendesk agents and admins; when given they alone decide authorship.
        requesters: Zendesk ticket id -> requester id, read and updated in place, so that a
            caller mapping successive pages keeps what earlier pages said about a ticket.

    Returns:
        The events in page order (within an audit: created, field changes, messages,
        status, rating), and what was not mapped.
    """
    out = Mapped()
    known = requesters if requesters is not None else {}
    agents = None if agent_ids is None else {str(a) for a in agent_ids}
    for audit in page.get("ticket_events") or ():
        if isinstance(audit, Mapping) and isinstance(audit.get("child_events"), list):
            out.extend(_map_audit(audit, groups or {}, agents, known))
        else:
            kind = _kind(audit) if isinstance(audit, Mapping) else type(audit).__name__
            out.unmapped[f"zendesk ticket_event {kind!r} without child_events"] += 1
    return out


def map_webhook(
    payload: Mapping[str, Any],
    *,
    groups: Groups | None = None,
    agent_ids: Collection[int | str] | None = None,
) -> Mapped:
    """Map one Zendesk event webhook request body (``zen:event-type:ticket.*``).

    Args:
        payload: The JSON body: ``type``, ``id``, ``time``, ``detail`` (the ticket) and
            ``event`` (``current``/``previous``, or the ``comment``).
        groups: Zendesk group id -> queue name.
        agent_ids: Agent ids, used only for a comment whose author lacks ``is_staff``.

    Returns:
        At most one event; an unknown or incomplete payload is counted as unmapped.
    """
    out = Mapped()
    kind = str(payload.get("type") or "")
    if not kind.startswith("zen:event-type:ticket."):
        out.unmapped[f"zendesk webhook type {kind or None!r}"] += 1
        return out
    kind = kind.removeprefix("zen:event-type:ticket.")
    detail = _mapping(payload.get("detail"))
    ticket = detail.get("id") or str(payload.get("subject") or "").rpartition(":")[2] or None
    occurred = iso_time(payload.get("time"))
    if ticket is None or occurred is None or not payload.get("id"):
        out.unmapped[f"zendesk webhook {kind} without ticket id, time or event id"] += 1
        return out
    agents = None if agent_ids is None else {str(a) for a in agent_ids}
    result = _webhook_fields(kind, detail, _mapping(payload.get("event")), groups or {}, agents)
    if isinstance(result, tuple):
        getattr(out, result[0])[result[1]] += 1
        return out
    event_id = stable_id(SOURCE, ticket, *result.pop("source_id", ("webhook", payload["id"])))
    out.events.append({"event_id": event_id, "occurred_at": occurred,
                       "ticket_id": f"zd-{ticket}", **result})  # fmt: skip
    return out


def _webhook_fields(
    kind: str, detail: Mapping[str, Any], change: Mapping[str, Any], groups: Groups,
    agents: set[str] | None,
) -> dict[str, Any] | Miss:  # fmt: skip
    """Contract fields for one webhook event type (``source_id``: a better id), or a Miss."""
    if kind == "created":
        return {"type": "ticket.created", **created_fields(detail, detail.get("via"), groups)}
    if kind in _WEBHOOK_FIELDS:
        field = _WEBHOOK_FIELDS[kind]
        current = change.get("current")
        if isinstance(current, Mapping):  # {"status": "OPEN"} or {"id": "123"}
            current = current.get(field, current.get("id"))
        return field_change(field, current, groups) or ("unmapped", f"zendesk webhook {kind}")
    comment = change.get("comment")
    if kind != "comment_added" or not isinstance(comment, Mapping):
        return ("unmapped", f"zendesk webhook {kind}")
    author = _mapping(comment.get("author"))
    if isinstance(author.get("is_staff"), bool):
        who: str | None = "agent" if author["is_staff"] else "customer"
    else:
        who = author_role(author.get("id"), detail.get("requester_id"), agents)
    if who is None:
        return ("unmapped", "zendesk comment with unknown author role")
    fields = {
        "type": "ticket.message",
        "author": who,
        "public": comment.get("is_public") is not False,
    }
    return fields | ({"source_id": (comment["id"],)} if comment.get("id") else {})


def _map_audit(
    audit: Mapping[str, Any], groups: Groups, agents: set[str] | None,
    requesters: MutableMapping[str, str],
) -> Mapped:  # fmt: skip
    """The events of one ticket update (an audit and its child events)."""
    out = Mapped()
    ticket = audit.get("ticket_id")
    occurred = epoch_time(audit.get("timestamp")) or iso_time(audit.get("created_at"))
    if ticket is None or occurred is None:
        out.unmapped["zendesk ticket_event without ticket_id or time"] += 1
        return out
    children = [c for c in audit["child_events"] if isinstance(c, Mapping)]
    if len(children) < len(audit["child_events"]):
        out.unmapped["zendesk child_event that is not an object"] += 1
    for child in children:  # the requester first: the audit's own comments need it
        field = _field(child)
        if field and field[0] == "requester_id" and field[1] is not None:
            requesters[str(ticket)] = str(field[1])
    base = {"occurred_at": occurred, "ticket_id": f"zd-{ticket}"}
    events: list[dict[str, Any]] = []
    initial: dict[str, Any] = {}
    rated = False
    for child in children:
        kind = _kind(child)
        result: dict[str, Any] | Miss | None
        if kind in ("Create", "Change"):
            field = _field(child)
            if field is None:
                result = ("unmapped", f"zendesk {kind} child_event without a field")
            elif kind == "Create" and field[0] in _CREATED_FIELDS:
                initial[field[0]] = field[1]  # part of ticket.created below
                continue
            else:
                name = "custom field" if field[0].isdigit() else field[0]
                result = (
                    field_change(*field, groups) if kind == "Change" or name == CSAT_FIELD else None
                ) or ("unmapped", f"zendesk {kind} field {name!r}")
        elif kind == "Comment":
            result = _comment(child, requesters.get(str(ticket)), audit.get("updater_id"), agents)
        elif kind == "SatisfactionRating":
            result = field_change(CSAT_FIELD, child.get("score"), groups)
        else:
            result = (
                "skipped" if kind in SKIPPED_TYPES else "unmapped",
                f"zendesk {kind} child_event",
            )
        if isinstance(result, dict) and result["type"] == "survey.csat" and rated:
            result = ("skipped", "zendesk rating repeated in one audit")  # Change + Rating
        if isinstance(result, dict):
            rated = rated or result["type"] == "survey.csat"
            events.append(
                {"event_id": stable_id(SOURCE, ticket, child.get("id")), **base, **result}
            )
        elif result is not None:
            getattr(out, result[0])[result[1]] += 1
    creates = [c for c in children if _kind(c) == "Create"]
    if creates:
        via = audit.get("via") if audit.get("via") is not None else creates[0].get("via")
        anchor = audit.get("id", creates[0].get("id"))
        created = created_fields(initial, via, groups)
        events.append({"event_id": stable_id(SOURCE, ticket, anchor), **base,
                       "type": "ticket.created", **created})  # fmt: skip
    events.sort(key=lambda e: _RANK[e["type"]])
    out.events.extend(events)
    return out


def _comment(
    child: Mapping[str, Any], requester: str | None, updater: Any, agents: set[str] | None
) -> dict[str, Any] | Miss:
    """A ``ticket.message`` for a Comment child event, or why there is none."""
    if child.get("comment_present") is False:
        return ("skipped", "zendesk Comment child_event without a comment")
    author_id = child.get("author_id", updater)  # without the sideload: the audit's updater
    if str(author_id) == SYSTEM_USER_ID:
        return ("skipped", "zendesk comment by the system user (-1)")
    author = author_role(author_id, requester, agents)
    if author is None:
        return ("unmapped", "zendesk comment with unknown author role")
    public = child.get("public", child.get("comment_public"))
    return {"type": "ticket.message", "author": author, "public": public is not False}


def _field(child: Mapping[str, Any]) -> tuple[str, Any] | None:
    """The field a Create/Change child sets: ``field_name``/``value``, or the field's own key."""
    if isinstance(child.get("field_name"), str):
        return child["field_name"], child.get("value")
    for name in (*_CREATED_FIELDS, CSAT_FIELD):
        if name in child:
            return name, child[name]
    names = [str(k) for k in child if k not in _META_KEYS]
    return (names[0], child[names[0]]) if names else None


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _kind(item: Mapping[str, Any]) -> str:
    return str(item.get("event_type") or item.get("type"))
