"""Event log files (CSV, XES) read as rows of text, and the TOML file that maps them."""

from __future__ import annotations

import csv
import gzip
import io
import re
import tomllib
import zoneinfo
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import IO, Any, Final, NoReturn
from xml.etree.ElementTree import Element, ParseError, iterparse

from stream.adapters.toml_lines import KeyPath, TomlLines, describe_path
from stream.domain.sources.eventlog_mapping import (
    EventLogMapping,
    ValueColumn,
    check_meaning,
    check_value,
)

#: Prefix of a trace's attributes in the rows of its events (``case:concept:name``).
TRACE_PREFIX: Final = "case:"
_DELIMITERS: Final = (",", ";", "\t")
_TOP_KEYS: Final = ("source", "ticket_prefix", "columns", "queue", "priority", "channel",
                    "activities")  # fmt: skip
_COLUMN_KEYS: Final = ("case", "activity", "activity_separator", "timestamp",
                       "timestamp_format", "timezone", "resource")  # fmt: skip
_VALUE_KEYS: Final = ("column", "values", "default")
# XES attribute elements whose `value` is one value (list and container nest others).
_XES_ATTRIBUTES: Final = frozenset({"string", "date", "int", "float", "boolean", "id"})


class EventLogFileError(ValueError):
    """An event log or mapping file that cannot be used; the message names file, line, key."""


# -- event logs ----------------------------------------------------------------------------


def read_event_log(path: Path) -> Iterator[dict[str, str]]:
    """Rows of an event log: XES when the name ends in ``.xes`` (or ``.xes.gz``), else CSV.

    Raises:
        EventLogFileError: The file cannot be read or parsed (raised while iterating).
    """
    name = path.name.lower().removesuffix(".gz")
    return read_xes(path) if name.endswith(".xes") else read_csv(path)


def _open_binary(path: Path) -> IO[bytes]:
    """The file's bytes, decompressed when it is gzipped (public logs often are)."""
    raw = path.open("rb")
    if raw.peek(2)[:2] == b"\x1f\x8b":
        return gzip.GzipFile(fileobj=raw)  # type: ignore[return-value]
    return raw


def read_csv(path: Path) -> Iterator[dict[str, str]]:
    """Rows of a CSV file with a header, as column -> text.

    UTF-8 with or without a byte order mark (spreadsheet exports add one); the delimiter
    is whichever of ``,``, ``;`` or tab the header line holds most of (European exports
    use ``;``). Column names are stripped; missing trailing cells read as empty.

    Raises:
        EventLogFileError: Unreadable, not UTF-8, or malformed CSV.
    """
    try:
        with _open_binary(path) as binary:
            text = io.TextIOWrapper(binary, encoding="utf-8-sig", newline="")
            header = text.readline()
            delimiter = max(_DELIMITERS, key=header.count)
            lines = iter([header])
            reader = csv.reader(_chain(lines, text), delimiter=delimiter)
            columns = [c.strip() for c in next(reader, [])]
            for cells in reader:
                if not any(cell.strip() for cell in cells):
                    continue
                yield {c: cells[i] if i < len(cells) else "" for i, c in enumerate(columns) if c}
    except UnicodeDecodeError as exc:
        raise EventLogFileError(f"{path}: not UTF-8 text: {exc}") from exc
    except (OSError, EOFError) as exc:
        raise EventLogFileError(f"{path}: cannot read: {exc}") from exc
    except csv.Error as exc:
        raise EventLogFileError(f"{path}: not valid CSV: {exc}") from exc


def _chain(first: Iterator[str], rest: IO[str]) -> Iterator[str]:
    yield from first
    yield from rest


def read_xes(path: Path) -> Iterator[dict[str, str]]:
    """Rows of an XES log: one per event, with its trace's attributes prefixed ``case:``.

    Streams with ``iterparse`` (public logs run to hundreds of megabytes), keeping one
    trace at a time; only the direct attributes of traces and events are read (nested
    list/container values and the log's ``global`` defaults are not).

    Raises:
        EventLogFileError: Unreadable or not well-formed XML (raised while iterating).
    """
    stack: list[str] = []
    trace: dict[str, str] = {}
    events: list[dict[str, str]] = []
    event: dict[str, str] | None = None
    try:
        with _open_binary(path) as binary:
            for kind, element in iterparse(binary, events=("start", "end")):
                tag = _local(element)
                if kind == "start":
                    stack.append(tag)
                    if tag == "trace":
                        trace, events = {}, []
                    elif tag == "event" and stack[-2:-1] == ["trace"]:
                        event = {}
                    continue
                stack.pop()
                parent = stack[-1] if stack else ""
                if tag in _XES_ATTRIBUTES and "key" in element.attrib:
                    _attribute(element, parent, trace, event)
                elif tag == "event" and event is not None and parent == "trace":
                    events.append(event)
                    event = None
                    element.clear()
                elif tag == "trace":
                    case = {TRACE_PREFIX + k: val for k, val in trace.items()}
                    yield from ({**case, **e} for e in events)
                    element.clear()
    except ParseError as exc:
        raise EventLogFileError(f"{path}: not well-formed XES: {exc}") from exc
    except (OSError, EOFError) as exc:
        raise EventLogFileError(f"{path}: cannot read: {exc}") from exc


def _local(element: Element) -> str:
    """The tag without its namespace (XES files may declare a default one)."""
    return element.tag.rpartition("}")[2]


def _attribute(
    element: Element, parent: str, trace: dict[str, str], event: dict[str, str] | None
) -> None:
    key, value = element.attrib["key"], element.attrib.get("value", "")
    if parent == "event" and event is not None:
        event[key] = value
    elif parent == "trace":
        trace[key] = value


# -- mapping file --------------------------------------------------------------------------


def load_mapping(path: str | Path) -> EventLogMapping:
    """Read and check a mapping file (TOML; see ``docs/sources/eventlog.md``).

    Raises:
        EventLogFileError: ``FILE[:LINE]: key: what is wrong``, at the first problem.
    """
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise EventLogFileError(f"{path}: cannot read the mapping file: {exc}") from exc
    return parse_mapping(text, source=str(path))


def parse_mapping(text: str, source: str = "<mapping>") -> EventLogMapping:
    """Parse and check the text of a mapping file; ``source`` names it in errors.

    Raises:
        EventLogFileError: The first problem, located by line and key.
    """
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        found = re.search(r" \(at line (\d+), column \d+\)$", str(exc))
        where = f"{source}:{found[1]}" if found else source
        reason = str(exc)[: found.start()] if found else str(exc)
        raise EventLogFileError(f"{where}: not valid TOML: {reason}") from None
    return _MappingReader(source, TomlLines(text)).read(doc)


class _MappingReader:
    """Builds an ``EventLogMapping`` from the parsed TOML, failing at the first problem."""

    def __init__(self, source: str, lines: TomlLines) -> None:
        self.source, self.lines = source, lines

    def fail(self, path: KeyPath, detail: str) -> NoReturn:
        line = self.lines.line_of(path)
        place = self.source if line is None else f"{self.source}:{line}"
        key = describe_path(path)
        raise EventLogFileError(f"{place}: {key}: {detail}" if key else f"{place}: {detail}")

    def table(self, doc: Mapping[str, Any], key: str, allowed: tuple[str, ...]) -> dict[str, Any]:
        value = doc.get(key, {})
        if not isinstance(value, dict):
            self.fail((key,), f"expected a table [{key}]")
        self.keys((key,), value, allowed)
        return value

    def keys(self, path: KeyPath, table: Mapping[str, Any], allowed: tuple[str, ...]) -> None:
        for key in table:
            if key not in allowed:
                self.fail((*path, key), f"unknown key; allowed here: {', '.join(allowed)}")

    def text(self, path: KeyPath, value: Any) -> str | None:
        if value is not None and (not isinstance(value, str) or not value):
            self.fail(path, f"expected a non-empty string, got {value!r}")
        return value

    def column(self, cols: Mapping[str, Any], key: str) -> str:
        value = self.text(("columns", key), cols.get(key))
        if value is None:
            self.fail(("columns", key), "required: the name of a column")
        return value

    def read(self, doc: dict[str, Any]) -> EventLogMapping:
        self.keys((), doc, _TOP_KEYS)
        if "columns" not in doc:
            self.fail((), "no [columns] table: name at least case, activity and timestamp")
        cols = self.table(doc, "columns", _COLUMN_KEYS)
        prefix = doc.get("ticket_prefix")
        if prefix is not None and not isinstance(prefix, str):
            self.fail(("ticket_prefix",), f"expected a string, got {prefix!r}")
        separator = cols.get("activity_separator", " / ")
        if not isinstance(separator, str):
            self.fail(("columns", "activity_separator"), f"expected a string, got {separator!r}")
        return EventLogMapping(
            case=self.column(cols, "case"),
            activity=self.activity(cols),
            timestamp=self.column(cols, "timestamp"),
            activities=self.activities(doc),
            source=self.text(("source",), doc.get("source")) or "eventlog",
            ticket_prefix=prefix,
            activity_separator=separator,
            timestamp_format=self.timestamp_format(cols),
            timezone=self.timezone(cols),
            resource=self.text(("columns", "resource"), cols.get("resource")),
            queue=self.value_column(doc, "queue"),
            priority=self.value_column(doc, "priority"),
            channel=self.value_column(doc, "channel"),
        )

    def activity(self, cols: Mapping[str, Any]) -> str | tuple[str, ...]:
        value = cols.get("activity")
        if isinstance(value, list) and value and all(isinstance(a, str) and a for a in value):
            return tuple(value)
        if isinstance(value, str) and value:
            return value
        hint = 'a column name, or a list of them joined by activity_separator (e.g. ["Status", '
        self.fail(("columns", "activity"), f'required: {hint}"Sub Status"]), got {value!r}')

    def timestamp_format(self, cols: Mapping[str, Any]) -> str | None:
        fmt = self.text(("columns", "timestamp_format"), cols.get("timestamp_format"))
        if fmt is not None and "%" not in fmt:
            example = "%Y/%m/%d %H:%M:%S.%f"
            self.fail(("columns", "timestamp_format"), f"expected a strptime format such as "
                      f"{example!r} (leave it out for ISO 8601)")  # fmt: skip
        return fmt

    def timezone(self, cols: Mapping[str, Any]) -> zoneinfo.ZoneInfo:
        name = self.text(("columns", "timezone"), cols.get("timezone")) or "UTC"
        try:
            return zoneinfo.ZoneInfo(name)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            hint = 'use an IANA name such as "Europe/Rome" or "UTC"'
            self.fail(("columns", "timezone"), f"unknown timezone {name!r}; {hint}")

    def activities(self, doc: Mapping[str, Any]) -> dict[str, str | tuple[str, ...]]:
        table = doc.get("activities")
        if not isinstance(table, dict) or not table:
            self.fail(("activities",), "required: an [activities] table, activity = meaning")
        out: dict[str, str | tuple[str, ...]] = {}
        for name, given in table.items():
            path: KeyPath = ("activities", name)
            listed = [given] if isinstance(given, str) else given
            if not isinstance(listed, list) or not listed:
                self.fail(path, f"expected a meaning or a list of meanings, got {given!r}")
            for meaning in listed:
                if not isinstance(meaning, str):
                    self.fail(path, f"expected a meaning (a string), got {meaning!r}")
                try:
                    check_meaning(meaning)
                except ValueError as exc:
                    self.fail(path, str(exc))
            if len(set(listed)) != len(listed):
                self.fail(path, "a meaning is listed twice")
            out[name] = tuple(listed)
        return out

    def value_column(self, doc: Mapping[str, Any], kind: str) -> ValueColumn:
        table = self.table(doc, kind, _VALUE_KEYS)
        column = self.text((kind, "column"), table.get("column"))
        values = table.get("values", {})
        if not isinstance(values, dict):
            self.fail((kind, "values"), "expected a table: source value = contract value")
        for raw, value in values.items():
            self.contract_value((kind, "values", raw), kind, value)
        default = table.get("default")
        if default is not None:
            self.contract_value((kind, "default"), kind, default)
        return ValueColumn(column, dict(values), default)

    def contract_value(self, path: KeyPath, kind: str, value: Any) -> None:
        if not isinstance(value, str):
            self.fail(path, f"expected a string, got {value!r}")
        try:
            check_value(kind, value)
        except ValueError as exc:
            self.fail(path, str(exc))
