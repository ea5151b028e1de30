"""End to end: a BPI 2013-style event log imported, replayed, and measured to exact figures.

``supportpulse import eventlog`` maps ``tests/data/eventlogs/bpi2013-incidents.csv`` with
the shipped ``deploy/mappings/bpi2013-incidents.toml`` to ``events.jsonl``;
``supportpulse replay`` publishes it into the embedded broker, where a worker with
``--clock event`` and ``data/eventlog-policies.toml`` (24x7: first reply 1h, resolution 8h
for every ticket) measures it. The figures below were worked out by hand.

The log, in UTC (the file says +02:00, so 10:00+02:00 is 08:00Z), on 2012-05-14; ticket id
= ``bpi2013-`` + SR number, and the partition each lands in (murmur2 of the ticket id, 4
partitions; asserted below):

    A 1-364285768 p3  08:00 Accepted/In Progress V30 Medium Anna -> created open, assigned,
                      and its reply (first reply 0 s); 09:00 Resolved; 09:30 Closed
    B 1-364285769 p2  08:00 Queued V30 Medium -> created; 08:30 Queued in "V5 3rd" -> moved;
                      08:45 In Progress (Bert: reply, first reply 45 min); 10:00 Impact High
                      -> priority high; 11:00 Wait - User (pending: resolution paused after
                      3h); 17:30 In Progress (resumed); 18:00 Resolved (3h30m counted: in
                      time, where 10h without the pause would have breached at 16:00)
    C 1-364285772 p1  08:00 Queued G97 High; 10:00 In Progress (Carl): first reply breached
                      at 09:00; never solved: resolution due 16:00
    D 1-364285773 p1  09:00 In Progress V30 Low (Dora, reply at once); 10:00 Wait -
                      Implementation (on hold: the clock runs on); resolution due 17:00
    J 1-364285771 p2  11:00 Queued G97 Medium, nothing more: first reply due 12:00,
                      resolution due 19:00
    E 1-364285770 p0  12:00 Queued V30 Medium; 12:10 Unmatched (ignored); 12:30 Cancelled
                      (closed unsolved: both clocks cancelled)
    F 1-364285776 p1  17:00 Queued V5 3rd Major (urgent), nothing more: first reply due
                      18:00, resolution due 01:00 the next day
    H 1-364285780 p1  19:00 Queued V30 Low; 19:20 In Progress (Eva: first reply 20 min);
                      20:00 In Call (solved after 1h)

With ``--clock event``, SLA deadlines run on each partition's stream time (its latest
``occurred_at``): p0 12:30 (E), p1 20:00 (H), p2 18:00 (B), p3 09:30 (A). Backlog, ages and
windows use the worker's stream time, the latest of all: 20:00. Hence:

- p1 at 20:00: C's resolution (16:00) and D's (17:00) breached, F's first reply (18:00)
  breached; F's resolution (01:00) runs, 5h = 18000 s away.
- p2 at 18:00: J's first reply (12:00) breached, but its resolution (19:00) has not, and
  runs 3600 s away, while J *is* backlog: unsolved and older than 8h at the worker's 20:00.
- Backlog at 20:00 (unsolved, created more than 8h before): C (08:00), J (11:00), D (09:00);
  not F (17:00).
- Outcomes are counted with the ticket's queue and priority at the outcome: B's first
  reply (08:45) in V5 3rd/normal, its resolution (18:00) in V5 3rd/high.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from stream.kafka.embedded import EmbeddedBroker
from stream.processing.routing import partition_for
from tests.helpers.processes import Samples, Worker, run_cli, running_worker, wait_until

ROOT = Path(__file__).resolve().parents[2]
LOG = ROOT / "tests" / "data" / "eventlogs" / "bpi2013-incidents.csv"
MAPPING = ROOT / "deploy" / "mappings" / "bpi2013-incidents.toml"
POLICIES = Path(__file__).parent / "data" / "eventlog-policies.toml"
EVENTS = 31  # A 4, B 11, C 4, D 3, E 2, F 1, H 5, J 1 (see the import report)
PARTITIONS = {"A": ("1-364285768", 3), "B": ("1-364285769", 2), "C": ("1-364285772", 1),
              "D": ("1-364285773", 1), "E": ("1-364285770", 0), "F": ("1-364285776", 1),
              "H": ("1-364285780", 1), "J": ("1-364285771", 2)}  # fmt: skip
V5 = "V5 3rd"


def series(samples: Samples, name: str, *labels: str) -> dict[Any, float]:
    """The non-zero samples of a metric by label values (a tuple of them, or the one)."""
    found = {}
    for (sample, label_set), value in samples.items():
        if sample == name and value:
            key = tuple(dict(label_set)[k] for k in labels)
            found[key if len(key) > 1 else key[0]] = value
    return found


@pytest.fixture(scope="module")
def imported(
    embedded_broker: EmbeddedBroker, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, Any]]:
    """Import the log, replay it into a fresh topic for a worker, return the settled state."""
    work = tmp_path_factory.mktemp("e2e-eventlog")
    events = work / "events.jsonl"
    done = run_cli("import", "eventlog", str(LOG), "--mapping", str(MAPPING),
                   "--out", str(events))  # fmt: skip
    assert done.returncode == 0, done.stderr
    topic = f"eventlog-{uuid.uuid4().hex[:8]}"
    with running_worker(embedded_broker.url, topic=topic, app_id=f"sp-{topic}", log_dir=work,
                        policies=str(POLICIES)) as worker:  # fmt: skip
        replayed = run_cli("replay", str(events), "--broker", embedded_broker.url,
                           "--topic", topic, "--speed", "max")  # fmt: skip
        assert replayed.returncode == 0, replayed.stderr
        samples = wait_until(lambda: _settled(worker, consumed=EVENTS, breaches=5),
                             timeout=90, what="the imported log applied and judged")  # fmt: skip
        yield {"import": done, "events": events, "metrics": samples, "worker": worker,
               "topic": topic, "work": work}  # fmt: skip


def _settled(worker: Worker, *, consumed: int, breaches: int) -> Samples | None:
    """The metrics once every message is accounted for and the passed deadlines breached."""
    s = worker.metrics()
    accounted = sum(s.get(("support_events_" + k + "_total", frozenset()), 0.0)
                    for k in ("applied", "duplicate"))  # fmt: skip
    counted = sum(series(s, "support_sla_breaches_total", "queue", "priority", "sla").values())
    if s.get(("support_events_consumed_total", frozenset())) == consumed == accounted:
        return s if counted == breaches else None
    return None


def test_import_eventlog__report_and_partitions_of_the_hand_computation(
    imported: dict[str, Any],
) -> None:
    report = imported["import"].stderr
    assert report.startswith(
        "events: 31 (ticket.assigned 3, ticket.created 8, ticket.message 7, "
        "ticket.priority_changed 1, ticket.queue_changed 1, ticket.status_changed 11)\n"
        "unmapped: 0\n"
        "skipped: 4 (carry no fact the contract has):\n"
    )
    assert "warning" not in report
    for sr, partition in PARTITIONS.values():
        assert partition_for(f"bpi2013-{sr}", 4) == partition, sr


def test_import_eventlog__every_event_applied_at_the_final_stream_time(
    imported: dict[str, Any],
) -> None:
    s = imported["metrics"]
    assert s[("support_events_applied_total", frozenset())] == EVENTS
    assert sum(series(s, "support_events_dead_lettered_total", "reason").values()) == 0
    assert s[("support_events_held", frozenset())] == 0
    final = datetime(2012, 5, 14, 20, 0, tzinfo=UTC).timestamp()  # H's solve, on p1
    assert s[("support_processing_clock_seconds", frozenset())] == final


def test_import_eventlog__created_solved_unsolved_and_backlog(imported: dict[str, Any]) -> None:
    s = imported["metrics"]
    # Queue and priority at creation; B was created in V30 before its move. No channel in
    # the log: "other".
    assert series(s, "support_tickets_created_total", "queue", "priority", "channel") == {
        ("V30", "normal", "other"): 3,  # A, B, E
        ("V30", "low", "other"): 2,  # D, H
        ("G97", "high", "other"): 1,  # C
        ("G97", "normal", "other"): 1,  # J
        (V5, "urgent", "other"): 1,  # F
    }
    assert series(s, "support_tickets_solved_total", "queue", "priority", "channel") == {
        ("V30", "normal", "other"): 1,  # A
        (V5, "high", "other"): 1,  # B, high since 10:00
        ("V30", "low", "other"): 1,  # H
    }
    # E was cancelled (closed unsolved): not a solve, not unsolved.
    assert series(s, "support_tickets_unsolved", "queue", "priority", "status") == {
        ("G97", "high", "open"): 1,  # C
        ("V30", "low", "on_hold"): 1,  # D
        (V5, "urgent", "new"): 1,  # F
        ("G97", "normal", "new"): 1,  # J
    }
    assert series(s, "support_tickets_unassigned", "queue", "priority") == {
        (V5, "urgent"): 1,  # F
        ("G97", "normal"): 1,  # J (C is Carl's, D is Dora's)
    }
    # Unsolved and created more than 8h before the worker's 20:00.
    assert series(s, "support_backlog_tickets", "queue", "priority") == {
        ("G97", "high"): 1,  # C, since 16:00
        ("G97", "normal"): 1,  # J, since 19:00
        ("V30", "low"): 1,  # D, since 17:00
    }
    # 20:00 - created_at of the queue's oldest unsolved ticket.
    assert series(s, "support_oldest_unsolved_age_seconds", "queue") == {
        "G97": 12 * 3600,  # C, 08:00
        "V30": 11 * 3600,  # D, 09:00
        V5: 3 * 3600,  # F, 17:00
    }


def test_import_eventlog__sla_outcomes_per_queue_priority_and_clock(
    imported: dict[str, Any],
) -> None:
    s = imported["metrics"]
    labels = ("queue", "priority", "sla")
    assert series(s, "support_sla_achieved_total", *labels) == {
        ("V30", "normal", "first_reply"): 1,  # A: 0 s
        (V5, "normal", "first_reply"): 1,  # B: 45 min, after its move, before Impact High
        ("V30", "low", "first_reply"): 2,  # D: 0 s; H: 20 min
        ("V30", "normal", "resolution"): 1,  # A: 1h
        (V5, "high", "resolution"): 1,  # B: 3h30m counted (paused 11:00-17:30)
        ("V30", "low", "resolution"): 1,  # H: 1h
    }
    assert series(s, "support_sla_breaches_total", *labels) == {
        ("G97", "high", "first_reply"): 1,  # C: due 09:00, replied 10:00
        ("G97", "normal", "first_reply"): 1,  # J: due 12:00 < p2's 18:00
        (V5, "urgent", "first_reply"): 1,  # F: due 18:00 < p1's 20:00
        ("G97", "high", "resolution"): 1,  # C: due 16:00 < p1's 20:00
        ("V30", "low", "resolution"): 1,  # D: due 17:00 < p1's 20:00 (on hold runs on)
    }
    assert series(s, "support_sla_cancelled_total", *labels) == {
        ("V30", "normal", "first_reply"): 1,  # E, cancelled at 12:30
        ("V30", "normal", "resolution"): 1,
    }
    # Unsolved tickets with a clock in breach now (C's first reply stopped at its reply).
    assert series(s, "support_sla_breached_tickets", *labels) == {
        ("G97", "high", "resolution"): 1,  # C
        ("V30", "low", "resolution"): 1,  # D
        ("G97", "normal", "first_reply"): 1,  # J
        (V5, "urgent", "first_reply"): 1,  # F
    }
    # Running deadlines, from each partition's own clock: J's resolution 19:00 - p2's
    # 18:00; F's resolution 01:00 - p1's 20:00. Nothing runs in V30.
    assert series(s, "support_sla_next_breach_seconds", "queue") == {
        "G97": 3600.0,
        V5: 18000.0,
        "V30": float("inf"),
    }


def test_import_eventlog__reimporting_the_reordered_log_changes_nothing(
    imported: dict[str, Any], embedded_broker: EmbeddedBroker
) -> None:
    """Published straight to the topic (``--broker``): same ids, so all duplicates."""
    work: Path = imported["work"]
    header, *rows = LOG.read_bytes().split(b"\r\n")
    reordered = work / "reordered.csv"
    reordered.write_bytes(b"\r\n".join([header, *reversed([r for r in rows if r])]) + b"\r\n")

    done = run_cli("import", "eventlog", str(reordered), "--mapping", str(MAPPING),
                   "--broker", embedded_broker.url, "--topic", imported["topic"])  # fmt: skip

    assert done.returncode == 0, done.stderr
    assert done.stderr.endswith(f"published {EVENTS} events to {imported['topic']} at "
                                f"{embedded_broker.url}\n")  # fmt: skip
    worker: Worker = imported["worker"]
    s = wait_until(lambda: _settled(worker, consumed=2 * EVENTS, breaches=5), timeout=60,
                   what="the re-import consumed")  # fmt: skip
    assert s[("support_events_duplicate_total", frozenset())] == EVENTS
    assert s[("support_events_applied_total", frozenset())] == EVENTS
    before = imported["metrics"]
    for name in ("support_sla_breaches_total", "support_sla_achieved_total",
                 "support_backlog_tickets", "support_tickets_created_total"):  # fmt: skip
        assert {k: x for k, x in s.items() if k[0] == name} == {
            k: x for k, x in before.items() if k[0] == name
        }, name
