"""Recorded streams and exact comparisons, for the crash and rebalance end-to-end tests.

SPEC section 7: a worker killed at any instant, or a rebalance, neither loses nor
double-counts anything; the final metrics equal those of an undisturbed run. These helpers
record a simulated history, publish it, read a worker's accounting, compare two scrapes
and show what a crash left in the changelog.
"""

from __future__ import annotations

import re
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
from kafka import KafkaAdminClient, KafkaConsumer, TopicPartition

from stream.domain.vocabulary import UNSOLVED
from stream.processing.routing import partition_for
from tests.helpers.processes import Samples, Worker, run_cli

# Series that describe the process rather than the stream (the default prometheus_client
# collectors). The worker's registry does not include them (stream/adapters/exporter.py
# builds a fresh one), so nothing is dropped today; they are left out should one appear.
PER_PROCESS_PREFIXES = ("python_", "process_")
SampleKey = tuple[str, frozenset[tuple[str, str]]]
CONSUMED: SampleKey = ("support_events_consumed_total", frozenset())
REPORTING: SampleKey = ("support_staffing_partitions_reporting", frozenset())
# Settings that only make the tests quicker, given to every worker of a comparison: Tansu
# answers a group join after half the session timeout (3 s instead of 5 s), and a worker
# publishes its partitions' staffing inputs every 2 s instead of 10 s (the final scrapes
# agree once both workers have published after their last batch).
QUICK = {"SUPPORTPULSE_SESSION_TIMEOUT_S": "6", "SUPPORTPULSE_STAFFING_INTERVAL_S": "2"}


def simulate_history(path: Path, *, rate: float, duration_s: float, seed: int) -> list[bytes]:
    """Record a history with `supportpulse simulate --out`; returns its lines."""
    done = run_cli("simulate", "--out", str(path), "--rate", str(rate),
                   "--duration", str(duration_s), "--seed", str(seed))  # fmt: skip
    assert done.returncode == 0, done.stderr
    lines = path.read_bytes().splitlines()
    match = re.search(r"wrote (\d+) events", done.stdout)
    assert match and int(match.group(1)) == len(lines), done.stdout
    return lines


def publish(broker_url: str, topic: str, lines: list[bytes], path: Path) -> None:
    """Publish lines (keyed by ticket, in order) with `supportpulse replay --speed max`."""
    path.write_bytes(b"\n".join(lines) + b"\n")
    done = run_cli("replay", str(path), "--broker", broker_url, "--topic", topic,
                   "--speed", "max")  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert f"replayed {len(lines)} events" in done.stdout, done.stdout


@dataclass(frozen=True, slots=True)
class Tickets:
    """What a recorded stream leaves on some partitions, computed from the events alone."""

    tracked: int  # tickets created
    unsolved: dict[tuple[str, str, str], int]  # (queue, priority, status) -> tickets


def tickets_on(lines: list[bytes], owned: set[int], partitions: int = 4) -> Tickets:
    """The tickets of the ``owned`` partitions after ``lines`` (in order, as published).

    The oracle for a worker's ticket gauges: each ticket's queue, priority and status are
    those its latest events set (the simulator's events are in time order, well-formed and
    unique, so no late-event or duplicate rule applies).
    """
    state: dict[str, list[str]] = {}
    for line in lines:
        event = orjson.loads(line)
        ticket = event.get("ticket_id")
        if ticket is None or partition_for(ticket, partitions) not in owned:
            continue
        kind = event["type"]
        if kind == "ticket.created":
            state[ticket] = [event["queue"], event["priority"], event.get("status", "new")]
        elif kind == "ticket.queue_changed":
            state[ticket][0] = event["queue"]
        elif kind == "ticket.priority_changed":
            state[ticket][1] = event["priority"]
        elif kind == "ticket.status_changed":
            state[ticket][2] = event["status"]
    unsolved: dict[tuple[str, str, str], int] = {}
    for queue, priority, status in state.values():
        if status in UNSOLVED:
            unsolved[(queue, priority, status)] = unsolved.get((queue, priority, status), 0) + 1
    return Tickets(len(state), unsolved)


def ticket_gauges(samples: Samples) -> Tickets:
    """The same figures from a worker's scrape."""
    unsolved = {(lb["queue"], lb["priority"], lb["status"]): int(v)
                for (name, labels), v in samples.items()
                if name == "support_tickets_unsolved" and v and (lb := dict(labels))}  # fmt: skip
    return Tickets(int(samples[("support_tickets_tracked", frozenset())]), unsolved)


def accounting(worker: Worker) -> dict[str, int]:
    """A worker's /api/summary accounting; checks consumed = applied + duplicate + dead + held.

    Every message ends as applied, duplicate or dead-lettered (held while it waits for its
    ticket's creation), at every instant a snapshot can be taken.
    """
    events = worker.json("/api/summary")["events"]
    dead = sum(events["dead_lettered"].values())
    counts = {"consumed": events["consumed"], "applied": events["applied"],
              "duplicate": events["duplicate"], "dead_lettered": dead,
              "held": events["held"]}  # fmt: skip
    settled = counts["applied"] + counts["duplicate"] + dead + counts["held"]
    assert counts["consumed"] == settled, counts
    return counts


def consumed(worker: Worker) -> int:
    """Messages of the input topic the worker has accounted for (accounting checked)."""
    return accounting(worker)["consumed"]


def wait_consumed(worker: Worker, target: int, *, timeout: float, near: int = 5_000) -> int:
    """Wait until the worker has consumed ``target`` messages; returns the count seen.

    Polls every 50 ms within ``near`` messages of the target (a batch is up to 5,000), so
    the count is seen soon after the batch that reaches it is applied, and every 500 ms
    before: each /api/summary costs the worker tens of milliseconds of its event loop.
    """
    deadline = time.monotonic() + timeout
    while True:
        seen = consumed(worker)
        if seen >= target:
            return seen
        assert time.monotonic() < deadline, f"{seen} of {target} consumed after {timeout}s"
        time.sleep(0.05 if target - seen <= near else 0.5)


def comparable(samples: Samples) -> Samples:
    """Every sample except per-process series (see PER_PROCESS_PREFIXES)."""
    return {k: v for k, v in samples.items() if not k[0].startswith(PER_PROCESS_PREFIXES)}


def coverage(samples: Samples) -> dict[str, int]:
    """Non-zero samples per kind, to show a comparison is not vacuous."""
    kinds = {
        "counters": lambda name: name.endswith("_total"),
        "histogram buckets": lambda name: name.endswith("_bucket"),
        "window sums": lambda name: name.startswith("support_window_"),
        "SLA outcomes and gauges": lambda name: name.startswith("support_sla_"),
        "ticket levels": lambda name: name.startswith(("support_tickets_", "support_backlog")),
        "staffing": lambda name: name.startswith("support_staffing_"),
    }
    return {kind: sum(1 for (name, _), v in samples.items() if v and is_kind(name))
            for kind, is_kind in kinds.items()}  # fmt: skip


SLA_TOTALS = ("support_sla_breaches_total", "support_sla_achieved_total",
              "support_sla_cancelled_total", "support_sla_breached_tickets")  # fmt: skip


def sla_totals(samples: Samples) -> dict[str, float]:
    """SLA outcome counters and breached tickets, summed over their labels."""
    return {name: sum(v for (nm, _), v in samples.items() if nm == name) for name in SLA_TOTALS}


def diff(expected: Samples, actual: Samples, limit: int = 25) -> str:
    """The samples that differ, readable (for assertion messages)."""
    keys = sorted(set(expected) | set(actual), key=lambda k: (k[0], sorted(k[1])))
    lines = [f"{name}{dict(sorted(labels))}: expected {expected.get((name, labels))}, "
             f"got {actual.get((name, labels))}"
             for name, labels in keys
             if expected.get((name, labels)) != actual.get((name, labels))]  # fmt: skip
    more = f"\n... and {len(lines) - limit} more" if len(lines) > limit else ""
    return f"{len(lines)} samples differ:\n" + "\n".join(lines[:limit]) + more


@dataclass(frozen=True, slots=True)
class ChangelogPartition:
    """What one changelog partition holds after a crash."""

    consumed: int  # the input messages its last accounting record covers
    offsets: dict[str, int]  # the last processed offset per topic in that record
    writes_after: int  # entity writes after that record: a batch cut off mid-flush


# A batch writes each ticket it touched once, and its record last: the last record of a
# partition is well within this many records of its end (a batch is at most 5,000 events).
_TAIL_WINDOW = 6_000


def changelog_tail(bootstrap: list[str], topic: str,
                   timeout_s: float = 20.0) -> dict[int, ChangelogPartition]:  # fmt: skip
    """Each changelog partition's last accounting record, and the writes after it.

    Reads the last records of each partition without a consumer group, up to the high
    watermark its fetches report (Tansu under-reports ListOffsets by up to a record batch,
    see stream/wiring/end_offsets.py).
    """
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    try:
        tps = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or ())]
        assert tps, f"topic {topic} does not exist"
        consumer.assign(tps)
        start = {tp: max(0, end - _TAIL_WINDOW) for tp, end in consumer.end_offsets(tps).items()}
        for tp, offset in start.items():
            consumer.seek(tp, offset)
        last: dict[int, dict[str, Any]] = {}
        after = {tp.partition: 0 for tp in tps}
        deadline = time.monotonic() + timeout_s
        while True:
            assert time.monotonic() < deadline, f"{topic} not read to its end in {timeout_s}s"
            for tp, records in consumer.poll(timeout_ms=300).items():
                for r in records:
                    if r.key == f"~p:{tp.partition}".encode() and r.value is not None:
                        last[tp.partition] = orjson.loads(r.value)
                        after[tp.partition] = 0
                    else:
                        after[tp.partition] += 1
            if all((hw := consumer.highwater(tp)) is not None and consumer.position(tp) >= hw
                   for tp in tps):  # fmt: skip
                break
        for tp in tps:
            assert tp.partition in last or start[tp] == 0, f"no record in the tail of {tp}"
        return {p: ChangelogPartition(int(last.get(p, {}).get("consumed", 0)),
                                      dict(last.get(p, {}).get("offsets", {})), n)
                for p, n in after.items()}  # fmt: skip
    finally:
        consumer.close()


def committed_offsets(bootstrap: list[str], group: str, topic: str) -> dict[int, int]:
    """The group's committed offsets (next offset to read) on ``topic``, per partition."""
    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    try:
        offsets = admin.list_group_offsets({group: None})[group]
    finally:
        admin.close()
    return {tp.partition: meta.offset for tp, meta in offsets.items() if tp.topic == topic}


def start_together(*workers: Worker) -> None:
    """Start workers at the same time (each waits for its group join); all ready on return."""
    with ThreadPoolExecutor(len(workers)) as pool:
        for future in [pool.submit(w.start) for w in workers]:
            future.result()
