"""Jira Service Management webhooks (issue created/updated, comment created) as contract events.

Jira workflows are configurable, so a status is translated by its status category with a few
well-known names overriding it; the tables, ids and queue choice are documented in
``docs/sources/jira.md``.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from stream.domain.sources.common import Mapped, from_epoch, rfc3339, stable_id

SOURCE = "jira"
_QUEUE_CHARS = 64
_ID_CHARS = 128

# Status categories: To Do (new), In Progress (indeterminate), Done (done).
CATEGORY_STATUS: Mapping[str, str] = {"new": "new", "indeterminate": "open", "done": "solved"}
# Names that mean more than their category (compared without case). Waiting for the customer
# pauses the resolution clock; a closed, canceled or declined request is over but not solved.
NAMED_STATUS: Mapping[str, str] = {
    "waiting for customer": "pending",
    "pending": "pending",
    "resolved": "solved",
    "closed": "closed",
    "canceled": "closed",
    "cancelled": "closed",
    "declined": "closed",
}
# Jira Cloud's default priority scheme, and Jira Server's older one (Major was its default).
PRIORITIES: Mapping[str, str] = {
    "highest": "urgent",
    "high": "high",
    "medium": "normal",
    "low": "low",
    "lowest": "low",
    "blocker": "urgent",
    "critical": "high",
    "major": "normal",
    "minor": "low",
    "trivial": "low",
}
# Changelog fields that carry no fact of the contract (by field name or id, without case).
SKIPPED_FIELDS = frozenset(
    {
        "summary",
        "description",
        "labels",
        "attachment",
        "link",
        "rank",
        "resolution",
        "environment",
        "duedate",
        "timeestimate",
        "timeoriginalestimate",
        "timespent",
        "worklogid",
        "remoteissuelink",
        "request participants",
    }
)
_COMMENT_EVENTS = ("comment_created", "jira:issue_updated")
_IGNORED_EVENTS = ("comment_updated", "comment_deleted")


def map_webhook(payload: Mapping[str, Any], *, queue_field: str | None = None) -> Mapped:
    """Map one Jira webhook delivery.

    Args:
        payload: The JSON body Jira posted (``webhookEvent``, ``timestamp``, ``issue``, and
            ``changelog`` or ``comment``).
        queue_field: An issue field whose value names the queue, e.g. the request type field
            ``customfield_10010`` or ``components``; the project key when it is None or empty.

    Returns:
        The contract events of the delivery, and what could not be mapped.
    """
    out = Mapped()
    event = payload.get("webhookEvent")
    issue = payload.get("issue")
    if not isinstance(issue, Mapping) or not isinstance(issue.get("key"), str):
        bucket = out.skipped if event in _IGNORED_EVENTS else out.unmapped
        bucket[f"jira webhook event '{event}' without an issue"] += 1
        return out
    fields = _obj(issue.get("fields"))
    key = issue["key"]
    issue_id = str(issue.get("id") or key)
    stamp = payload.get("timestamp")
    sent_at = from_epoch(stamp / 1000) if isinstance(stamp, int | float) else None

    def base(occurred_at: str | None, *parts: object) -> dict[str, Any] | None:
        if occurred_at is None:
            out.unmapped["jira webhook without a timestamp"] += 1
            return None
        event_id = stable_id(SOURCE, issue_id, *parts)
        return {"event_id": event_id, "occurred_at": occurred_at, "ticket_id": f"jira-{key}"}

    if event == "jira:issue_created":
        created = base(_time(fields.get("created")) or sent_at, "created")
        if created is not None:
            out.events.append(_created(created, fields, key, queue_field, out))
    elif event == "jira:issue_updated":
        changelog = payload.get("changelog")
        items = _obj(changelog).get("items")
        items = items if isinstance(items, list) else []
        if sent_at is None and items:
            out.unmapped["jira webhook without a timestamp"] += 1
            items = []
        change_id = _obj(changelog).get("id")
        for item in items:
            if not isinstance(item, Mapping):
                out.unmapped["jira changelog item that is not an object"] += 1
                continue
            name = str(item.get("fieldId") or item.get("field") or "")
            changed = base(sent_at, "changelog", change_id or stamp, name)
            if changed is not None:
                _change(changed, item, fields, _queue(fields, key, None), queue_field, out)
    elif event in _IGNORED_EVENTS:
        out.skipped[f"jira webhook event '{event}'"] += 1
    elif event != "comment_created":
        out.unmapped[f"jira webhook event '{event}'"] += 1
    comment = payload.get("comment")
    if event in _COMMENT_EVENTS and isinstance(comment, Mapping):
        # A comment arrives twice when both events are subscribed; its id makes one duplicate.
        comment_id = comment.get("id") or comment.get("created")
        commented = base(_time(comment.get("created")) or sent_at, "comment", comment_id)
        if commented is not None:
            _comment(commented, comment, fields, out)
    return out


def _created(
    base: dict[str, Any], fields: Mapping[str, Any], key: str, queue_field: str | None, out: Mapped
) -> dict[str, Any]:
    """A ``ticket.created`` from the issue as it stands; an unknown status keeps ``new``."""
    event = {**base, "type": "ticket.created", "queue": _queue(fields, key, queue_field)}
    priority = _named(fields.get("priority"))
    if priority is not None:
        mapped = PRIORITIES.get(priority.casefold())
        if mapped is None:
            out.unmapped[f"jira priority '{priority}'"] += 1
        else:
            event["priority"] = mapped
    status = fields.get("status")
    if isinstance(status, Mapping):
        mapped = _status(_named(status), _category(status), out)
        if mapped is not None:
            event["status"] = mapped
    event["assignee"] = _user(fields.get("assignee"))
    return event


def _change(
    base: dict[str, Any],
    item: Mapping[str, Any],
    fields: Mapping[str, Any],
    project_queue: str,
    queue_field: str | None,
    out: Mapped,
) -> None:
    """Append the event of one changelog item (``field``, ``from``/``to``, ``toString``)."""
    field, field_id = str(item.get("field") or ""), str(item.get("fieldId") or "")
    names = {field.casefold(), field_id.casefold()}
    to_string = item.get("toString")
    if queue_field and queue_field.casefold() in names:
        queue = _text(to_string, _QUEUE_CHARS) or project_queue
        out.events.append({**base, "type": "ticket.queue_changed", "queue": queue})
    elif "status" in names:
        # The changelog names the new status; its category is the issue's current status's.
        current = _obj(fields.get("status"))
        same = str(_named(current) or "").casefold() == str(to_string or "").casefold()
        status = _status(_text(to_string, _ID_CHARS), _category(current) if same else None, out)
        if status is not None:
            out.events.append({**base, "type": "ticket.status_changed", "status": status})
    elif "priority" in names:
        priority = PRIORITIES.get(str(to_string or "").casefold())
        if priority is None:
            out.unmapped[f"jira priority '{to_string}'"] += 1
        else:
            out.events.append({**base, "type": "ticket.priority_changed", "priority": priority})
    elif "assignee" in names:
        assignee = _text(item.get("to"), _ID_CHARS) or _text(to_string, _ID_CHARS)
        out.events.append({**base, "type": "ticket.assigned", "assignee": assignee})
    elif names & SKIPPED_FIELDS:
        out.skipped[f"jira changelog field '{field or field_id}'"] += 1
    else:
        out.unmapped[f"jira changelog field '{field or field_id}'"] += 1


def _comment(
    base: dict[str, Any], comment: Mapping[str, Any], fields: Mapping[str, Any], out: Mapped
) -> None:
    """Append the ``ticket.message`` of a comment: who wrote it, and whether it is public."""
    author = _obj(comment.get("author"))
    if author.get("accountType") == "app":
        # Automation rules and apps: an acknowledgement is not an agent's reply.
        out.skipped["jira comment by an app"] += 1
        return
    reporter = _user(fields.get("reporter"))
    by_customer = author.get("accountType") == "customer" or (
        reporter is not None and _user(author) == reporter
    )
    public = comment.get("jsdPublic")
    if not isinstance(public, bool):
        # Outside a service project: a comment restricted to a role or group is internal.
        public = comment.get("visibility") is None
    message = {"author": "customer" if by_customer else "agent", "public": public or by_customer}
    out.events.append({**base, "type": "ticket.message", **message})


def _status(name: str | None, category: str | None, out: Mapped) -> str | None:
    """A status by name override, else by category; None (reported) when neither is known."""
    status = NAMED_STATUS.get((name or "").casefold()) or CATEGORY_STATUS.get(category or "")
    if status is None:
        known = f"category '{category}'" if category else "no status category"
        out.unmapped[f"jira status '{name}' ({known})"] += 1
    return status


def _queue(fields: Mapping[str, Any], key: str, queue_field: str | None) -> str:
    """The queue: the value of ``queue_field`` if set and non-empty, else the project key."""
    value = fields.get(queue_field) if queue_field else None
    if isinstance(value, list):
        value = value[0] if value else None
    if isinstance(value, Mapping) and isinstance(value.get("requestType"), Mapping):
        value = value["requestType"]  # the request type field holds the type in requestType
    name = _named(value) if isinstance(value, Mapping) else _text(value, _QUEUE_CHARS)
    project = _obj(fields.get("project"))
    fallback = _text(project.get("key"), _QUEUE_CHARS) or key.rsplit("-", 1)[0]
    return (name or fallback)[:_QUEUE_CHARS]


def _named(value: Any) -> str | None:
    """The display name of a Jira object (``name``, or ``value`` for a select option)."""
    if isinstance(value, Mapping):
        return _text(value.get("name") or value.get("value"), _ID_CHARS)
    return _text(value, _ID_CHARS)


def _category(status: Mapping[str, Any]) -> str | None:
    """The key of a status's category (``new``, ``indeterminate`` or ``done``)."""
    category = status.get("statusCategory")
    return _text(category.get("key"), _ID_CHARS) if isinstance(category, Mapping) else None


def _user(value: Any) -> str | None:
    """A user's stable id: ``accountId`` on Cloud, ``key`` or ``name`` on Data Center."""
    if not isinstance(value, Mapping):
        return None
    return _text(value.get("accountId") or value.get("key") or value.get("name"), _ID_CHARS)


def _time(value: Any) -> str | None:
    """A Jira time (``2024-05-14T09:12:03.481+0200``) in the contract's form, else None."""
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    return rfc3339(parsed) if parsed.tzinfo is not None else None


def _obj(value: Any) -> Mapping[str, Any]:
    """A JSON object, or an empty one in place of anything else."""
    return value if isinstance(value, Mapping) else {}


def _text(value: Any, limit: int) -> str | None:
    """A non-empty string cut to ``limit`` characters, else None."""
    text = value.strip() if isinstance(value, str) else ""
    return text[:limit] or None
