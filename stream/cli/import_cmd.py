"""`supportpulse import`: a helpdesk export or an event log, mapped to contract events."""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final, TextIO

from stream.domain.sources.common import Mapped

SOURCES: Final = ("zendesk", "freshdesk", "jira", "eventlog")
DEFAULT_TOPIC: Final = "support.ticket-events"
#: Report lines per list (unmapped, skipped, invalid); the rest are summed up in one line.
TOP: Final = 20

EXIT_OK: Final = 0
EXIT_FATAL: Final = 1


class ImportFailure(Exception):
    """A fatal problem: nothing is written or published (unreadable file, bad mapping)."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare the command's flags."""
    parser.description = (
        "Map a Zendesk, Freshdesk or Jira export (JSON, or JSON lines: export pages or webhook "
        "bodies) or a process-mining event log (CSV or XES, with --mapping) to contract "
        "events, check each against the contract, then write them (--out) or publish them "
        "(--broker) in occurred_at order. A report goes to stderr."
    )
    parser.add_argument("source", choices=SOURCES, help="what the file holds")
    parser.add_argument("file", type=Path, help="the export or event log")
    example = "deploy/mappings/helpdesk.toml"
    parser.add_argument(
        "--mapping", type=Path, help=f"eventlog: the mapping (TOML), e.g. {example}"
    )
    target = parser.add_mutually_exclusive_group(required=True)
    target.add_argument("--broker", help="publish to this broker: kafka://host:port")
    target.add_argument("--out", type=Path, help="write a JSON-lines file (for replay) instead")
    topic_help = f"with --broker: the input topic (default {DEFAULT_TOPIC})"
    parser.add_argument("--topic", default=DEFAULT_TOPIC, help=topic_help)


def run(args: argparse.Namespace) -> int:
    """Map, check, order and output the events; print the report.

    Returns:
        0 when done (with warnings on stderr when some input was not mapped or some mapped
        events were invalid), 1 on a fatal error (nothing written or published).
    """
    err: TextIO = sys.stderr
    try:
        mapped = map_file(args.source, args.file, args.mapping, err)
        checked = check_events(mapped.events, now_s=time.time())
        if args.out is not None:
            _write(args.out, checked.lines)
            where = f"wrote {len(checked.lines)} events to {args.out}"
        else:
            where = _publish(args.broker, args.topic, checked.lines)
    except ImportFailure as exc:
        print(f"import {args.source}: error: {exc}", file=err)
        return EXIT_FATAL
    report(mapped, checked, err)
    print(where, file=err)
    return EXIT_OK


# -- reading and mapping -------------------------------------------------------------------


def map_file(source: str, path: Path, mapping: Path | None, err: TextIO) -> Mapped:
    """Map a file of ``source`` data; the source mappings are imported only when needed.

    Raises:
        ImportFailure: The file or mapping cannot be read, or a needed column is missing.
    """
    if source == "eventlog":
        if mapping is None:
            raise ImportFailure("an event log needs --mapping FILE (see deploy/mappings/)")
        return _map_eventlog(path, mapping, err)
    if mapping is not None:
        raise ImportFailure(f"--mapping is for event logs; {source} needs none")
    mapper = _json_mapper(source)
    out = Mapped()
    for number, item in enumerate(_json_items(path), start=1):
        try:
            out.extend(mapper(item))
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            out.unmapped[f"{source} item {number}: cannot be mapped ({type(exc).__name__}: "
                         f"{exc})"] += 1  # fmt: skip
    return out


def _map_eventlog(path: Path, mapping_path: Path, err: TextIO) -> Mapped:
    from stream.adapters.eventlog_files import EventLogFileError, load_mapping, read_event_log
    from stream.domain.sources.eventlog import map_rows

    try:
        mapping = load_mapping(mapping_path)
        rows = list(read_event_log(path))
    except EventLogFileError as exc:
        raise ImportFailure(str(exc)) from exc
    if not rows:
        raise ImportFailure(f"{path}: no rows (an empty file, or a header only)")
    columns = {c for row in rows for c in row}
    missing = [c for c in mapping.required_columns() if c not in columns]
    if missing:
        shown = ", ".join(repr(c) for c in sorted(columns)[:30])
        raise ImportFailure(f"{path}: no column {missing[0]!r}, which the mapping "
                            f"{mapping_path} needs; the file has {shown}")  # fmt: skip
    for column in mapping.optional_columns():
        if column not in columns:
            print(f"warning: {path} has no column {column!r} (named by {mapping_path}): "
                  "its defaults apply", file=err)  # fmt: skip
    return map_rows(rows, mapping)


def _json_mapper(source: str) -> Callable[[dict[str, Any]], Mapped]:
    """The mapping function for one item, chosen by its content where a source has two."""
    try:
        if source == "zendesk":
            from stream.domain.sources import zendesk

            requesters: dict[str, str] = {}  # shared, so later pages know earlier requesters

            def zendesk_item(item: dict[str, Any]) -> Mapped:
                if "ticket_events" in item:
                    return zendesk.map_incremental_events(item, requesters=requesters)
                return zendesk.map_webhook(item)

            return zendesk_item
        if source == "freshdesk":
            from stream.domain.sources import freshdesk

            def freshdesk_item(item: dict[str, Any]) -> Mapped:
                if "activities_data" in item:
                    return freshdesk.map_activities(item)
                return freshdesk.map_webhook(item)

            return freshdesk_item
        from stream.domain.sources import jira

        return jira.map_webhook
    except ImportError as exc:
        raise ImportFailure(f"the {source} mapping is not available: {exc}") from exc


def _json_items(path: Path) -> Iterator[dict[str, Any]]:
    """The objects of a JSON file (one object, or an array of them) or a JSON-lines file."""
    import orjson

    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ImportFailure(f"{path}: cannot read: {exc}") from exc
    try:
        whole = orjson.loads(data)
    except orjson.JSONDecodeError:  # not one document: JSON lines
        items: list[Any] = []
        for number, line in enumerate(data.splitlines(), start=1):
            if line.strip():
                try:
                    items.append(orjson.loads(line))
                except orjson.JSONDecodeError as exc:
                    raise ImportFailure(f"{path}:{number}: not JSON: {exc}") from exc
    else:
        items = whole if isinstance(whole, list) else [whole]
    for number, item in enumerate(items, start=1):
        if not isinstance(item, dict):
            raise ImportFailure(f"{path}: item {number} is not a JSON object")
        yield item


# -- checking and output -------------------------------------------------------------------


@dataclass(slots=True)
class Checked:
    """The valid events as JSON lines in occurred_at order, and the invalid ones.

    Attributes:
        lines: Encoded valid events, ordered by occurred_at (ties in mapping order).
        by_type: Valid events per type.
        invalid: ``event_id: reason: detail`` of each event the contract rejects.
        duplicate_ids: Valid events whose event_id an earlier one already had.
    """

    lines: list[bytes] = field(default_factory=list)
    by_type: Counter[str] = field(default_factory=Counter)
    invalid: list[str] = field(default_factory=list)
    duplicate_ids: int = 0


def check_events(events: list[dict[str, Any]], *, now_s: float) -> Checked:
    """Check each mapped event as the worker would decode it, and order the valid ones.

    A mapped event the contract rejects is a bug of a mapping or a bad input row: it is
    reported, never published (the worker would only dead-letter it).
    """
    import orjson

    from stream.adapters.codec import Rejected, decode

    out = Checked()
    timed: list[tuple[float, bytes]] = []
    seen: set[str] = set()
    for event in events:
        raw = orjson.dumps(event)
        result = decode(raw, now_s=now_s)
        if isinstance(result, Rejected):
            out.invalid.append(f"{event.get('event_id')}: {result.reason}: {result.detail}")
            continue
        timed.append((result.occurred_at_s, raw))
        out.by_type[event["type"]] += 1
        if event["event_id"] in seen:
            out.duplicate_ids += 1
        seen.add(event["event_id"])
    timed.sort(key=lambda pair: pair[0])  # stable: ties keep the mapping's order
    out.lines = [raw for _t, raw in timed]
    return out


def _write(path: Path, lines: list[bytes]) -> None:
    try:
        path.write_bytes(b"".join(line + b"\n" for line in lines))
    except OSError as exc:
        raise ImportFailure(f"{path}: cannot write: {exc}") from exc


def _publish(broker: str, topic: str, lines: list[bytes]) -> str:
    """Publish keyed like the worker routes (ticket id), with occurred_at as Kafka time."""
    from stream.kafka import KafkaUnavailableError, security_from_env
    from stream.kafka.publish import DeliveryError, EventPublisher
    from stream.kafka.replay import record_key_and_timestamp
    from stream.kafka.urls import format_broker_url, parse_broker_url

    try:
        brokers = parse_broker_url(broker)
        security = security_from_env(os.environ)  # the workers' SUPPORTPULSE_* security
        with EventPublisher(brokers, topic, security=security) as publisher:
            for raw in lines:
                key, timestamp_ms = record_key_and_timestamp(raw)
                publisher.publish(raw, key=key, timestamp_ms=timestamp_ms)
    except (ValueError, KafkaUnavailableError, DeliveryError) as exc:
        raise ImportFailure(str(exc)) from exc
    return f"published {len(lines)} events to {topic} at {format_broker_url(brokers)}"


def report(mapped: Mapped, checked: Checked, err: TextIO) -> None:
    """Print what was mapped, what was not, and what the contract rejected."""
    total = sum(checked.by_type.values())
    types = ", ".join(f"{t} {n}" for t, n in sorted(checked.by_type.items()))
    print(f"events: {total}" + (f" ({types})" if types else ""), file=err)
    _counted("unmapped", "no event: their facts are missing", mapped.unmapped, err)
    _counted("skipped", "carry no fact the contract has", mapped.skipped, err)
    if checked.invalid:
        print(f"invalid: {len(checked.invalid)} mapped events rejected by the contract, "
              "not output:", file=err)  # fmt: skip
        for line in checked.invalid[:TOP]:
            print(f"  {line}", file=err)
        if len(checked.invalid) > TOP:
            print(f"  ... and {len(checked.invalid) - TOP} more", file=err)
    if checked.duplicate_ids:
        print(f"duplicates: {checked.duplicate_ids} events repeat an earlier event_id "
              "(the worker ignores the repeats)", file=err)  # fmt: skip
    unmapped = sum(mapped.unmapped.values())
    if unmapped:
        print(f"warning: {unmapped} input items were not mapped (listed above); "
              "complete the mapping or check the input", file=err)  # fmt: skip
    if checked.invalid:
        print(f"warning: {len(checked.invalid)} mapped events were invalid and left out",
              file=err)  # fmt: skip


def _counted(title: str, meaning: str, counts: Counter[str], err: TextIO) -> None:
    """One titled list, most frequent first, at most ``TOP`` lines."""
    total = sum(counts.values())
    print(f"{title}: {total}" + (f" ({meaning}):" if total else ""), file=err)
    for what, n in counts.most_common(TOP):
        print(f"  {n:>6}  {what}", file=err)
    if len(counts) > TOP:
        rest = sum(n for _w, n in counts.most_common()[TOP:])
        print(f"  {rest:>6}  ... in {len(counts) - TOP} more kinds", file=err)
