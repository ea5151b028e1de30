"""Freshdesk's value tables: statuses, priorities, sources and note kinds, by id and by name."""

from __future__ import annotations

from collections.abc import Mapping

# Built-in statuses (API v2: 2 Open, 3 Pending, 4 Resolved, 5 Closed). Ids 6+ are custom per
# account; the two common custom names are mapped by name: waiting on the customer pauses the
# resolution clock like pending, waiting on a third party is on hold.
STATUS_IDS: Mapping[int, str] = {2: "open", 3: "pending", 4: "solved", 5: "closed"}
STATUS_NAMES: Mapping[str, str] = {
    "open": "open",
    "pending": "pending",
    "resolved": "solved",
    "closed": "closed",
    "waiting on customer": "pending",
    "waiting on third party": "on_hold",
}
# Priorities (API v2): 1 Low, 2 Medium, 3 High, 4 Urgent.
PRIORITY_IDS: Mapping[int, str] = {1: "low", 2: "normal", 3: "high", 4: "urgent"}
PRIORITY_NAMES: Mapping[str, str] = {
    "low": "low",
    "medium": "normal",
    "high": "high",
    "urgent": "urgent",
}
# Sources (API v2): 1 Email, 2 Portal, 3 Phone, 7 Chat, 9 Feedback widget, 10 Outbound email.
SOURCE_IDS: Mapping[int, str] = {1: "email", 2: "web", 3: "phone", 7: "chat", 9: "web", 10: "email"}
SOURCE_NAMES: Mapping[str, str] = {
    "email": "email",
    "portal": "web",
    "phone": "phone",
    "chat": "chat",
    "feedback widget": "web",
    "outbound email": "email",
}
# Export note types. A reply's author is found from its performer; notes are written by agents;
# a forward goes to a third party and is no message to or from the customer.
NOTE_KINDS: Mapping[str, str] = {
    "reply": "reply",
    "public note": "public",
    "public": "public",
    "private note": "private",
    "private": "private",
    "forward": "forward",
}
