"""Zendesk field values (status, priority, group, channel, rating...) as contract values.

Shared by the export and the webhook mappings in ``zendesk.py``, which differ in how they
carry a value (child events keyed by field name, webhook ``current`` values) but not in
what the value means.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from stream.domain.sources.common import from_epoch, rfc3339

#: Zendesk's id for changes made by the system (automations, rules), never a person.
SYSTEM_USER_ID = "-1"
#: The queue of a ticket in no group.
UNASSIGNED_QUEUE = "unassigned"
#: The contract's longest queue name.
MAX_QUEUE_CHARS = 64
#: The Zendesk field of the satisfaction rating.
CSAT_FIELD = "satisfaction_score"

#: Zendesk statuses (any case: webhooks send ``"OPEN"``); others (deleted...) are unmapped.
STATUSES = {"new": "new", "open": "open", "pending": "pending", "hold": "on_hold",
            "solved": "solved", "closed": "closed"}  # fmt: skip
PRIORITIES = frozenset({"low", "normal", "high", "urgent"})
#: Channel codes (``via.channel``) and the display names the export gives instead
#: ("Web form", "Mail"), normalised by ``channel_of``; anything else is ``other``.
CHANNELS = {
    "email": "email", "mail": "email",
    "web": "web", "web_form": "web", "web_widget": "web", "help_center": "web",
    "chat": "chat", "native_messaging": "chat", "messaging": "chat",
    "voice": "phone", "phone": "phone", "voicemail": "phone",
    "phone_call_inbound": "phone", "phone_call_outbound": "phone",
    "api": "api", "web_service": "api",
    "twitter": "social", "facebook": "social", "facebook_post": "social",
    "facebook_private_message": "social", "instagram_dm": "social", "whatsapp": "social",
}  # fmt: skip
#: Zendesk's two-point satisfaction rating on the contract's 1-5 scale: the extremes, so
#: that "good" counts as satisfied (4-5) and "bad" as unsatisfied.
CSAT_SCORES = {"good": 5, "good_with_comment": 5, "bad": 1, "bad_with_comment": 1}
#: Rating states that are not a rating (the survey was or was not sent).
CSAT_NOT_RATED = frozenset({"offered", "unoffered"})

_YEAR_10000_S = 253_402_300_800  # datetime's limit

#: Zendesk group id -> queue name.
Groups = Mapping[int | str, str]
#: Why an input produced no event: ``("unmapped" | "skipped", description)``.
Miss = tuple[str, str]


def field_change(name: str, value: Any, groups: Groups) -> dict[str, Any] | Miss | None:
    """The contract event fields for a Zendesk field set to ``value``.

    Args:
        name: The Zendesk field (``status``, ``priority``, ``group_id``, ``assignee_id``,
            ``satisfaction_score``).
        value: Its new value, as Zendesk gives it.
        groups: Group id -> queue name.

    Returns:
        ``type`` and the event's fields; a ``Miss`` when the value has no contract
        meaning; None when the contract has no such field at all.
    """
    if name == "status":
        status = STATUSES.get(lower(value))
        if status is None:
            return ("unmapped", f"zendesk status {value!r}")
        return {"type": "ticket.status_changed", "status": status}
    if name == "priority":
        priority = priority_of(value)
        if priority is None:
            return ("unmapped", f"zendesk priority {value!r}")
        return {"type": "ticket.priority_changed", "priority": priority}
    if name == "group_id":
        return {"type": "ticket.queue_changed", "queue": queue_name(value, groups)}
    if name == "assignee_id":
        return {"type": "ticket.assigned", "assignee": id_or_none(value)}
    if name == CSAT_FIELD:
        if lower(value) in CSAT_NOT_RATED:
            return ("skipped", f"zendesk satisfaction {lower(value)} (no rating yet)")
        score = CSAT_SCORES.get(lower(value))
        if score is None:
            return ("unmapped", f"zendesk satisfaction score {value!r}")
        return {"type": "survey.csat", "score": score}
    return None


def created_fields(initial: Mapping[str, Any], via: Any, groups: Groups) -> dict[str, Any]:
    """``ticket.created`` fields from a ticket's initial values; absent ones get defaults.

    Args:
        initial: ``status``, ``priority``, ``group_id``, ``assignee_id`` as Zendesk set them.
        via: The ticket's ``via``: an object with ``channel``, or the export's display name.
        groups: Group id -> queue name.
    """
    channel = via.get("channel") if isinstance(via, Mapping) else via
    return {
        "queue": queue_name(initial.get("group_id"), groups),
        "priority": priority_of(initial.get("priority")) or "normal",
        "channel": channel_of(channel),
        "status": STATUSES.get(lower(initial.get("status")), "new"),
        "assignee": id_or_none(initial.get("assignee_id")),
    }


def author_role(author_id: Any, requester: Any, agents: set[str] | None) -> str | None:
    """``agent`` or ``customer`` for a comment's author, or None when it cannot be known.

    Agent ids, when given, decide alone (they are Zendesk's roles). Without them, the
    ticket's requester is the customer and anyone else writing on the ticket is an agent;
    with neither, there is no honest answer.
    """
    if author_id is None:
        return None
    if agents is not None:
        return "agent" if str(author_id) in agents else "customer"
    if requester is None:
        return None
    return "customer" if str(author_id) == str(requester) else "agent"


def queue_name(group_id: Any, groups: Groups) -> str:
    """The queue of a Zendesk group: its name in ``groups``, else ``group-<id>``."""
    if group_id in (None, "", 0, "0"):
        return UNASSIGNED_QUEUE
    name = groups.get(group_id) or groups.get(str(group_id))
    if name is None and str(group_id).isdigit():
        name = groups.get(int(group_id))
    return (name or f"group-{group_id}")[:MAX_QUEUE_CHARS]


def priority_of(value: Any) -> str | None:
    """A contract priority; Zendesk's empty priority is ``normal``; unknown ones None."""
    if value in (None, ""):
        return "normal"
    return lower(value) if lower(value) in PRIORITIES else None


def channel_of(value: Any) -> str:
    """A contract channel for a ``via.channel`` code or an export display name."""
    text = lower(value).strip().replace("(", "").replace(")", "")
    return CHANNELS.get(text.replace(" ", "_").replace("-", "_"), "other")


def id_or_none(value: Any) -> str | None:
    """A Zendesk id as the contract's string, None for "nobody"."""
    return None if value in (None, "", 0, "0") else str(value)


def lower(value: Any) -> str:
    """A string value in lower case; anything else as ``""``."""
    return value.lower() if isinstance(value, str) else ""


def epoch_time(value: Any) -> str | None:
    """Epoch seconds as RFC 3339, or None when not a usable number."""
    number = isinstance(value, int | float) and not isinstance(value, bool)
    return from_epoch(value) if number and 0 <= value < _YEAR_10000_S else None


def iso_time(value: Any) -> str | None:
    """An ISO 8601 time with offset (nanoseconds allowed) as RFC 3339, else None."""
    try:
        moment = datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        return None
    return rfc3339(moment) if moment is not None and moment.tzinfo is not None else None
