"""What an event log's columns and activities mean: the declared mapping, checked when built."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, tzinfo
from typing import Final

from stream.domain import vocabulary as v

#: Activity meanings (see ``docs/sources/eventlog.md``); ``status:<status>`` is the other form.
CREATED: Final = "created"
REPLY: Final = "reply"
CUSTOMER_MESSAGE: Final = "customer_message"
NOTE: Final = "note"
ASSIGN: Final = "assign"
QUEUE_CHANGE: Final = "queue_change"
IGNORE: Final = "ignore"
STATUS_PREFIX: Final = "status:"
MEANINGS: Final = (CREATED, REPLY, CUSTOMER_MESSAGE, NOTE, ASSIGN, QUEUE_CHANGE, IGNORE)

#: The contract's limit on queue names.
MAX_QUEUE_CHARS: Final = 64
# A ticket's field when its creation row has no value and the mapping gives no default.
_CONTRACT_DEFAULTS: Final = {"queue": v.OTHER_QUEUE, "priority": "normal", "channel": "other"}


def check_meaning(meaning: str) -> None:
    """Reject a meaning the mapper does not know, saying which ones it does.

    Raises:
        ValueError: ``meaning`` is neither one of ``MEANINGS`` nor ``status:<status>``.
    """
    if meaning in MEANINGS:
        return
    if meaning.startswith(STATUS_PREFIX):
        status = meaning.removeprefix(STATUS_PREFIX)
        if status in v.STATUSES:
            return
        raise ValueError(f"unknown status {status!r}; use one of {', '.join(v.STATUSES)}")
    allowed = ", ".join((*MEANINGS, "status:<" + "|".join(v.STATUSES) + ">"))
    raise ValueError(f"unknown meaning {meaning!r}; use one of {allowed}")


def check_value(kind: str, value: str) -> None:
    """Reject a contract value that a ``queue``, ``priority`` or ``channel`` cannot take.

    Raises:
        ValueError: Not a queue name of 1-64 characters, or not in the contract's vocabulary.
    """
    if kind == "queue":
        if not 1 <= len(value) <= MAX_QUEUE_CHARS:
            raise ValueError(f"queue {value!r}: must have 1 to {MAX_QUEUE_CHARS} characters")
        return
    vocabulary = v.PRIORITIES if kind == "priority" else v.CHANNELS
    if value not in vocabulary:
        raise ValueError(f"{kind} {value!r}: use one of {', '.join(vocabulary)}")


@dataclass(frozen=True, slots=True)
class ValueColumn:
    """A column whose values give a ticket field (queue, priority or channel).

    Attributes:
        column: The column read, or None to always use ``default``.
        values: Source value -> contract value. A value not listed is used as it is when
            the contract accepts it (any queue name; a priority or channel of the
            contract's vocabulary, in any case), else it is reported as unmapped.
        default: The value of a ticket whose creation row has none (empty or unmapped);
            None means the contract's default (queue ``other``, priority ``normal``,
            channel ``other``).
    """

    column: str | None = None
    values: Mapping[str, str] = field(default_factory=dict)
    default: str | None = None

    def read(self, kind: str, row: Mapping[str, str]) -> tuple[str | None, str | None]:
        """The row's contract value (None when it has none) and, if unusable, the reason.

        Args:
            kind: ``queue``, ``priority`` or ``channel``.
            row: The row's columns.
        """
        raw = (row.get(self.column) or "").strip() if self.column is not None else ""
        if not raw:
            return None, None
        if raw in self.values:
            return self.values[raw], None
        if kind == "queue":
            if len(raw) <= MAX_QUEUE_CHARS:
                return raw, None
            return None, f"queue {raw[:40]!r}... (column {self.column!r}): too long"
        if raw.lower() in (v.PRIORITIES if kind == "priority" else v.CHANNELS):
            return raw.lower(), None
        return None, f"{kind} {raw!r} (column {self.column!r})"

    def fallback(self, kind: str) -> str:
        """The value of a ticket whose creation row has none: the default, else the contract's."""
        return self.default or _CONTRACT_DEFAULTS[kind]


@dataclass(frozen=True, slots=True)
class EventLogMapping:
    """How one event log's rows become contract events.

    Attributes:
        case: Column of the case id; the ticket id is ``ticket_prefix`` + case id.
        activity: Column(s) of the activity; several are joined by ``activity_separator``
            (BPI 2013: ``("Status", "Sub Status")`` gives ``"Accepted / In Progress"``).
        timestamp: Column of the event time.
        activities: Activity -> meaning, or several meanings applied in order
            (``"created"``, ``"status:solved"``, ``"reply"``, ``"customer_message"``,
            ``"note"``, ``"assign"``, ``"queue_change"``, ``"ignore"``).
        source: Prefix of the event ids, e.g. ``"helpdesk"``.
        ticket_prefix: Prefix of the ticket ids; None means ``source + "-"``.
        activity_separator: Joins the values of several activity columns.
        timestamp_format: A ``strptime`` format, or None for ISO 8601 (with or without
            an offset).
        timezone: The zone of timestamps written without an offset.
        resource: Column of the agent (the assignee of ``assign``), if any.
        queue: Where the queue comes from.
        priority: Where the priority comes from.
        channel: Where the channel comes from (read at creation only: the contract has no
            channel change).
    """

    case: str
    activity: str | tuple[str, ...]
    timestamp: str
    activities: Mapping[str, str | tuple[str, ...]]
    source: str = "eventlog"
    ticket_prefix: str | None = None
    activity_separator: str = " / "
    timestamp_format: str | None = None
    timezone: tzinfo = UTC
    resource: str | None = None
    queue: ValueColumn = field(default_factory=ValueColumn)
    priority: ValueColumn = field(default_factory=ValueColumn)
    channel: ValueColumn = field(default_factory=ValueColumn)
    _meanings: dict[str, tuple[str, ...]] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        """Normalise the shorthand forms and check every value, so mapping cannot fail later.

        Raises:
            ValueError: A meaning, value or name the mapper cannot use.
        """
        if isinstance(self.activity, str):
            object.__setattr__(self, "activity", (self.activity,))
        if not self.activity or not all(self.activity):
            raise ValueError("activity: name at least one column")
        if not self.source:
            raise ValueError("source: must not be empty")
        meanings: dict[str, tuple[str, ...]] = {}
        for name, given in self.activities.items():
            listed = (given,) if isinstance(given, str) else tuple(given)
            if not listed:
                raise ValueError(f"activities.{name!r}: give at least one meaning")
            if len(set(listed)) != len(listed):
                raise ValueError(f"activities.{name!r}: a meaning is listed twice")
            for meaning in listed:
                try:
                    check_meaning(meaning)
                except ValueError as exc:
                    raise ValueError(f"activities.{name!r}: {exc}") from None
            meanings[name] = listed
        object.__setattr__(self, "_meanings", meanings)
        for kind in ("queue", "priority", "channel"):
            column: ValueColumn = getattr(self, kind)
            targets = [*column.values.values()]
            if column.default is not None:
                targets.append(column.default)
            for value in targets:
                check_value(kind, value)

    @property
    def prefix(self) -> str:
        """The ticket id prefix in effect."""
        return f"{self.source}-" if self.ticket_prefix is None else self.ticket_prefix

    @property
    def activity_columns(self) -> tuple[str, ...]:
        """The activity column(s), normalised to a tuple."""
        return (self.activity,) if isinstance(self.activity, str) else self.activity

    def meanings_of(self, activity: str) -> tuple[str, ...] | None:
        """The meanings of an activity, or None when the mapping does not name it."""
        return self._meanings.get(activity)

    def required_columns(self) -> tuple[str, ...]:
        """Columns every row needs: case, activity and timestamp."""
        return (self.case, *self.activity_columns, self.timestamp)

    def optional_columns(self) -> tuple[str, ...]:
        """Columns read when present: resource, queue, priority, channel."""
        named = (self.resource, self.queue.column, self.priority.column, self.channel.column)
        return tuple(c for c in named if c is not None)
