"""Process-mining event logs (CSV rows, XES events) mapped to contract events.

A log row is one activity of one case at one instant; an ``EventLogMapping`` (usually a
TOML file) declares what it means for a ticket. The rules (``docs/sources/eventlog.md``):

- A case's rows are taken in time order (ties in file order, exact repeats together). A
  case gives one ``ticket.created``: at its first row whose activity means ``created``,
  else at its first row (always so when no activity is mapped to ``created``), with that
  row's queue, priority and channel; a ``status:`` or ``assign`` meaning of that row is
  folded into it, its other meanings follow it.
- Rows before the creation row keep their own time (the worker counts them at the
  creation instant). From the creation on, a queue or priority column value that differs
  from the ticket's emits ``ticket.queue_changed`` / ``ticket.priority_changed`` at that
  row, whatever its activity.
- An unchanged status or assignee, a ``queue_change`` row whose queue did not change,
  ``ignore`` activities and a second ``created`` carry no new fact: counted in ``skipped``.
- Nothing follows a close in the contract: later rows are counted in ``unmapped``, as are
  unknown activities and values, and rows without a case id or a valid timestamp (with
  their row numbers: the n-th row given, header not counted).

Event ids are content-based, so re-importing a file, even reordered, gives the same ids
and the worker ignores the repeats: ``<source>:<case>:<time>:<activity>:<resource>[:#n]:
<meaning>``, ``#n`` numbering exact repeats; the creation is ``<source>:<case>:created``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from stream.domain import vocabulary as v
from stream.domain.sources.common import MAX_ID_CHARS, Mapped, rfc3339, stable_id
from stream.domain.sources.eventlog_mapping import (
    ASSIGN,
    CREATED,
    CUSTOMER_MESSAGE,
    IGNORE,
    NOTE,
    QUEUE_CHANGE,
    REPLY,
    STATUS_PREFIX,
    EventLogMapping,
    ValueColumn,
)

__all__ = ["EventLogMapping", "ValueColumn", "map_rows"]

_MESSAGES = {REPLY: ("agent", True), CUSTOMER_MESSAGE: ("customer", True), NOTE: ("agent", False)}
_ROWS_LISTED = 5


@dataclass(slots=True)
class _Row:
    """One usable row: where it came from, its case, instant, activity and raw columns."""

    number: int
    case: str
    moment: datetime
    at: str
    activity: str
    resource: str
    raw: Mapping[str, str]
    ident: tuple[str, ...] = ()


@dataclass(slots=True)
class _Problems:
    """Rows that could not be read, by kind, with their row numbers and a first example.

    One unmapped entry per kind (not per row) keeps a file with a systematic problem, say
    a wrong timestamp format, from burying the rest of the report.
    """

    rows: dict[str, list[int]] = field(default_factory=dict)
    examples: dict[str, str] = field(default_factory=dict)

    def add(self, kind: str, number: int, example: str = "") -> None:
        self.rows.setdefault(kind, []).append(number)
        if example:
            self.examples.setdefault(kind, example)

    def report(self, into: Counter[str]) -> None:
        for kind, numbers in self.rows.items():
            example = f" (e.g. {self.examples[kind]!r})" if kind in self.examples else ""
            shown = ", ".join(str(n) for n in numbers[:_ROWS_LISTED])
            more = f" and {len(numbers) - _ROWS_LISTED} more" if len(numbers) > _ROWS_LISTED else ""
            plural = "s" if len(numbers) > 1 else ""
            into[f"{kind}{example}: row{plural} {shown}{more}"] += len(numbers)


def map_rows(rows: Iterable[Mapping[str, str]], mapping: EventLogMapping) -> Mapped:
    """Map an event log's rows (column -> text) to contract events, case by case.

    Args:
        rows: CSV rows, or XES events flattened with their trace's attributes.
        mapping: What the columns and activities mean.

    Returns:
        The events (cases by creation time, each case's events in time order), and what
        was not mapped or was skipped, with counts.
    """
    out = Mapped()
    problems = _Problems()
    cases: dict[str, list[_Row]] = {}
    for number, raw in enumerate(rows, start=1):
        row = _read_row(number, raw, mapping, problems)
        if row is not None:
            cases.setdefault(row.case, []).append(row)
    ordered = []
    for case, case_rows in cases.items():
        case_rows.sort(key=lambda r: (r.moment, r.number))
        ordered.append((case_rows[0].moment, case, case_rows))
    for _moment, case, case_rows in sorted(ordered, key=lambda c: (c[0], c[1])):
        if len(mapping.prefix + case) > MAX_ID_CHARS:
            for row in case_rows:
                problems.add(f"case id longer than {MAX_ID_CHARS} characters", row.number)
            continue
        _Case(mapping, case, case_rows, out).map()
    problems.report(out.unmapped)
    return out


def _read_row(
    number: int, raw: Mapping[str, str], mapping: EventLogMapping, problems: _Problems
) -> _Row | None:
    """The row's case, instant and activity, or None (counted) when it has no case or time."""
    case = (raw.get(mapping.case) or "").strip()
    if not case:
        problems.add(f"no case id in column {mapping.case!r}", number)
        return None
    text = (raw.get(mapping.timestamp) or "").strip()
    parsed = _parse_time(text, mapping)
    if parsed is None:
        problems.add(f"bad timestamp in column {mapping.timestamp!r}", number, text[:40])
        return None
    parts = [(raw.get(c) or "").strip() for c in mapping.activity_columns]
    activity = mapping.activity_separator.join(parts) if any(parts) else ""
    if not activity:
        columns = ", ".join(repr(c) for c in mapping.activity_columns)
        problems.add(f"no activity in column(s) {columns}", number)
    resource = (raw.get(mapping.resource) or "").strip() if mapping.resource else ""
    return _Row(number, case, *parsed, activity, resource, raw)


def _parse_time(text: str, mapping: EventLogMapping) -> tuple[datetime, str] | None:
    """The instant and its RFC 3339 form; a time without an offset is in the mapping's zone."""
    if not text:
        return None
    try:
        if mapping.timestamp_format is None:
            moment = datetime.fromisoformat(text)
        else:
            moment = datetime.strptime(text, mapping.timestamp_format)  # noqa: DTZ007
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=mapping.timezone)
        return moment, rfc3339(moment)  # fails out of range (year 9999 and an offset)
    except (ValueError, OverflowError):
        return None


class _Case:
    """Maps one case's rows, sorted by time, keeping the ticket's current state."""

    def __init__(self, mapping: EventLogMapping, case: str, rows: list[_Row], out: Mapped) -> None:
        self.m, self.case, self.rows, self.out = mapping, case, rows, out
        self.ticket_id = mapping.prefix + case
        self.status = "new"
        self.assignee: str | None = None
        self.queue = self.priority = ""
        _number_repeats(case, rows)

    def emit(self, row: _Row, suffix: str, etype: str, **fields: Any) -> None:
        event_id = stable_id(self.m.source, *row.ident, suffix)
        self.out.events.append(
            {"event_id": event_id, "type": etype, "ticket_id": self.ticket_id,
             "occurred_at": row.at, **fields}
        )  # fmt: skip

    def map(self) -> None:
        """The creation first, then every other row in order (see the module's rules)."""
        creation = next((r for r in self.rows if CREATED in self._meanings(r)), self.rows[0])
        self.create(creation)
        after_creation = False
        for row in self.rows:
            if row is creation:
                after_creation = True
                continue
            if self.status == v.CLOSED:  # the contract takes nothing after a close
                self.out.unmapped[f"activity {row.activity!r} after the ticket was closed"] += 1
                continue
            queue_changed = after_creation and self.track(row, "queue")
            if after_creation:
                self.track(row, "priority")
            meanings = self.m.meanings_of(row.activity)
            if meanings is None:
                if row.activity:
                    self.out.unmapped[f"activity {row.activity!r}"] += 1
                continue
            for meaning in meanings:
                self.apply(row, meaning, queue_changed=queue_changed)

    def create(self, row: _Row) -> None:
        """The ticket.created of the creation row, with its status and assignee folded in."""
        self.queue = self.value(row, "queue") or self.m.queue.fallback("queue")
        self.priority = self.value(row, "priority") or self.m.priority.fallback("priority")
        channel = self.value(row, "channel") or self.m.channel.fallback("channel")
        event: dict[str, Any] = {
            "event_id": stable_id(self.m.source, self.case, "created"),
            "type": v.TICKET_CREATED, "ticket_id": self.ticket_id, "occurred_at": row.at,
            "queue": self.queue, "priority": self.priority, "channel": channel,
        }  # fmt: skip
        meanings = self._meanings(row)
        if row.activity and self.m.meanings_of(row.activity) is None:
            self.out.unmapped[f"activity {row.activity!r}"] += 1
        for meaning in meanings:
            if meaning.startswith(STATUS_PREFIX):
                self.status = event["status"] = meaning.removeprefix(STATUS_PREFIX)
            elif meaning == ASSIGN:
                self.assignee = self.agent(row)
                if self.assignee is not None:
                    event["assignee"] = self.assignee
        self.out.events.append(event)
        for meaning in meanings:
            if meaning in _MESSAGES:
                self.apply(row, meaning, queue_changed=False)

    def apply(self, row: _Row, meaning: str, *, queue_changed: bool) -> None:
        """Emit what one meaning of a row says, or count why it says nothing new."""
        what = f"activity {row.activity!r} ({meaning})"
        if self.status == v.CLOSED:  # an earlier meaning of the same row closed it
            self.out.unmapped[f"{what} after the ticket was closed"] += 1
        elif meaning == IGNORE:
            self.out.skipped[what] += 1
        elif meaning == CREATED:
            self.out.skipped[f"{what}: ticket already created"] += 1
        elif meaning == QUEUE_CHANGE:
            if not queue_changed:
                self.out.skipped[f"{what}: queue unchanged"] += 1
        elif meaning == ASSIGN:
            assignee = self.agent(row)
            if assignee == self.assignee:
                self.out.skipped[f"{what}: assignee unchanged"] += 1
            else:
                self.assignee = assignee
                self.emit(row, meaning, v.TICKET_ASSIGNED, assignee=assignee)
        elif meaning in _MESSAGES:
            author, public = _MESSAGES[meaning]
            self.emit(row, meaning, v.TICKET_MESSAGE, author=author, public=public)
        else:
            status = meaning.removeprefix(STATUS_PREFIX)
            if status == self.status:
                self.out.skipped[f"{what}: status unchanged"] += 1
            else:
                self.status = status
                self.emit(row, meaning, v.TICKET_STATUS_CHANGED, status=status)

    def track(self, row: _Row, kind: str) -> bool:
        """Emit a queue or priority change when the row's value differs from the ticket's."""
        value = self.value(row, kind)
        if value is None or value == getattr(self, kind):
            return False
        setattr(self, kind, value)
        self.emit(row, kind, f"ticket.{kind}_changed", **{kind: value})
        return True

    def value(self, row: _Row, kind: str) -> str | None:
        """The contract value of the row's queue/priority/channel column, None when none."""
        value, problem = getattr(self.m, kind).read(kind, row.raw)
        if problem is not None:
            self.out.unmapped[problem] += 1
        return value

    def agent(self, row: _Row) -> str | None:
        """The row's resource as an assignee (None when empty or longer than an id may be)."""
        if len(row.resource) > MAX_ID_CHARS:
            self.out.unmapped[f"resource longer than {MAX_ID_CHARS} characters"] += 1
            return None
        return row.resource or None

    def _meanings(self, row: _Row) -> tuple[str, ...]:
        return self.m.meanings_of(row.activity) or ()


def _number_repeats(case: str, rows: list[_Row]) -> None:
    """Give each row its identity; exact repeats are numbered in an order-free way.

    Rows sharing case, time, activity and resource are ordered by all their columns and
    numbered; they are then applied in that order, at the place of the first of them in
    the file, so neither their ids nor the events they give depend on the file's order.
    """
    groups: dict[tuple[str, str, str], list[_Row]] = {}
    for row in rows:
        groups.setdefault((row.at, row.activity, row.resource), []).append(row)
    place: dict[int, tuple[int, int]] = {}
    for (at, activity, resource), same in groups.items():
        first = min(r.number for r in same)
        same.sort(key=lambda r: sorted((k, x or "") for k, x in r.raw.items()))
        for n, row in enumerate(same):
            row.ident = (case, at, activity, resource, *((f"#{n}",) if n else ()))
            place[row.number] = (first, n)
    rows.sort(key=lambda r: (r.moment, place[r.number]))
