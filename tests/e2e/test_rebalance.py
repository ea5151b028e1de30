"""SPEC 7: partitions moving between workers mid-stream lose and double-count nothing.

Two workers in one group on a 4-partition topic: A starts alone, B joins while A is
catching up, A leaves (SIGTERM) while the stream is still being read, B finishes. An
undisturbed worker (its own group) reads the same topic meanwhile. While both ran, A and B
export exactly their own partitions and sum to the undisturbed worker; at the end B, owning
everything, equals it in every sample. The README section "Why the numbers survive a crash
or a rebalance" says what makes this hold.
"""

from __future__ import annotations

import time
import uuid
from collections import defaultdict
from pathlib import Path

from stream.kafka.embedded import EmbeddedBroker
from tests.helpers.exactness import (
    CONSUMED,
    QUICK,
    REPORTING,
    SampleKey,
    accounting,
    comparable,
    consumed,
    coverage,
    diff,
    publish,
    simulate_history,
    sla_totals,
    start_together,
    ticket_gauges,
    tickets_on,
)
from tests.helpers.processes import Samples, Worker, wait_until

RATE, DURATION_S, SEED = 4.0, 86_400.0, 11  # about 58,000 events over 24 hours
FIRST_SHARE = 0.5  # published before A starts; the rest after the checkpoint
B_JOINS_AFTER = 0.06  # of the stream consumed by A alone
A_LEAVES_AFTER = 0.25  # of the rest consumed by the pair
OWNED: SampleKey = ("support_owned_partitions", frozenset())
# Not sums over partitions, so left out of the two workers' sum (they are compared exactly
# at the end, when B owns everything): maxima and minima over a worker's partitions, its own
# clock, and figures judged at its clock. With --clock event a worker's clock is the stream
# time of its own partitions, so its 1h windows and its backlog (an unsolved ticket counts
# once the clock passes its policy's resolution target) end where its own partitions' events
# end. The staffing gauges are whole-queue on every worker (tests/e2e/test_staffing.py).
NOT_ADDITIVE = ("support_oldest_unsolved_age_seconds", "support_last_event_timestamp_seconds",
                "support_processing_clock_seconds", "support_owned_partitions",
                "support_sla_next_breach_seconds", "support_backlog_tickets")  # fmt: skip


def _additive(samples: Samples) -> Samples:
    return {k: v for k, v in samples.items()
            if k[0] not in NOT_ADDITIVE and ("window", "1h") not in k[1]
            and not k[0].startswith("support_staffing_") and v}  # fmt: skip


def _summed(*parts: Samples) -> Samples:
    total: defaultdict[SampleKey, float] = defaultdict(float)
    for part in parts:
        for key, val in _additive(part).items():
            total[key] += val
    return {k: v for k, v in total.items() if v}


def _owned(worker: Worker) -> list[int]:
    owned: list[int] = worker.json("/api/summary")["owned_partitions"]
    return owned


def test_rebalance__join_and_leave_mid_stream_end_with_the_undisturbed_metrics(
    embedded_broker: EmbeddedBroker, tmp_path: Path
) -> None:
    started = time.monotonic()
    lines = simulate_history(tmp_path / "history.jsonl", rate=RATE, duration_s=DURATION_S,
                             seed=SEED)  # fmt: skip
    n = len(lines)
    first, rest = lines[: int(n * FIRST_SHARE)], lines[int(n * FIRST_SHARE) :]
    topic = f"rebalance-{uuid.uuid4().hex[:8]}"
    publish(embedded_broker.url, topic, first, tmp_path / "first.jsonl")
    pair = {"topic": topic, "app_id": f"sp-{topic}-pair", "log_dir": tmp_path,
            # Dynamic membership (no SUPPORTPULSE_GROUP_INSTANCE_ID): a stopping worker
            # leaves the group at once; a static member would keep its partitions until
            # its session expires.
            "env": QUICK}  # fmt: skip
    undisturbed = Worker(embedded_broker.url, topic=topic, app_id=f"sp-{topic}-undisturbed",
                         log_dir=tmp_path, env=QUICK)  # fmt: skip
    a = Worker(embedded_broker.url, **pair)  # type: ignore[arg-type]
    b = Worker(embedded_broker.url, **pair)  # type: ignore[arg-type]
    print(f"\n{n} events on {topic}; {len(first)} published before the workers start")
    final: list[Samples] = []
    try:
        start_together(undisturbed, a)
        assert _owned(a) == [0, 1, 2, 3]
        assert a.metrics()[OWNED] == 4
        joins_at = wait_until(lambda: (c := consumed(a)) >= n * B_JOINS_AFTER and c,
                              timeout=60, interval=0.1, what="A to begin")  # fmt: skip
        b.start()

        def split() -> tuple[list[int], list[int]] | None:
            owned = (_owned(a), _owned(b))
            whole = sorted(owned[0] + owned[1]) == [0, 1, 2, 3]
            return owned if a.ready() and b.ready() and all(owned) and whole else None

        owned_a, owned_b = wait_until(split, timeout=60, what="A and B to split the partitions")
        print(f"B joined when A had consumed {joins_at} of the {len(first)} published; "
              f"A kept {owned_a} (consumed {consumed(a)}), B took {owned_b} "
              f"(consumed {consumed(b)}) at {time.monotonic() - started:.0f}s")  # fmt: skip

        # Checkpoint: both idle at the end of what is published.
        wait_until(lambda: consumed(a) + consumed(b) == len(first), timeout=90,
                   what=f"A and B to consume the {len(first)} published")  # fmt: skip
        wait_until(lambda: consumed(undisturbed) == len(first), timeout=90,
                   what=f"the undisturbed worker to consume the first {len(first)}")  # fmt: skip
        assert (_owned(a), _owned(b)) == (owned_a, owned_b), "a rebalance during the checkpoint"
        ma, mb, mu = a.metrics(), b.metrics(), undisturbed.metrics()
        # A exports its remaining partitions only: the revoked ones' gauges are gone.
        assert ma[OWNED] == len(owned_a) and mb[OWNED] == len(owned_b)
        assert ticket_gauges(ma) == tickets_on(first, set(owned_a))
        assert ticket_gauges(mb) == tickets_on(first, set(owned_b))
        # Together they are the undisturbed worker: every additive sample, SLA included.
        assert _summed(ma, mb) == _additive(mu), diff(_additive(mu), _summed(ma, mb))
        breaches = sla_totals(mu)["support_sla_breaches_total"]
        print(f"checkpoint at {len(first)} consumed: A+B = undisturbed in "
              f"{len(_additive(mu))} additive samples ({breaches:.0f} SLA breaches so far) "
              f"at {time.monotonic() - started:.0f}s")  # fmt: skip

        publish(embedded_broker.url, topic, rest, tmp_path / "rest.jsonl")
        leaves_at = wait_until(
            lambda: (c := consumed(a) + consumed(b)) >= len(first) + len(rest) * A_LEAVES_AFTER
            and c, timeout=60, what="the pair to read into the rest")  # fmt: skip
        a_consumed = consumed(a)
        a.stop()  # SIGTERM
        assert a.proc is not None and a.proc.returncode == 0, a.log_tail()
        took = wait_until(lambda: _owned(b) == [0, 1, 2, 3] and b.ready() and consumed(b),
                          timeout=60, what="B to own every partition")  # fmt: skip
        print(
            f"A left when the pair had consumed {leaves_at} of {n} (A {a_consumed}); B owned "
            f"every partition with {took} consumed at {time.monotonic() - started:.0f}s"
        )

        wait_until(lambda: consumed(b) == n, timeout=120, what=f"B to consume all {n}")
        wait_until(lambda: consumed(undisturbed) == n, timeout=120,
                   what=f"the undisturbed worker to consume all {n}")  # fmt: skip

        # Both idle at the end of the stream: their scrapes agree once each has published
        # its final staffing inputs (every STAFFING_INTERVAL_S) and read them back.
        def agree() -> bool:
            final[:] = [comparable(undisturbed.metrics()), comparable(b.metrics())]
            return final[0] == final[1] and final[0].get(REPORTING) == 4

        try:
            wait_until(agree, timeout=30, what="equal metrics")
        except AssertionError:
            raise AssertionError(diff(final[0], final[1]) if final else "no scrape") from None
        counts = accounting(b)
        assert accounting(undisturbed) == counts
    finally:
        try:
            b.stop()
        finally:
            try:
                a.stop()
            finally:
                undisturbed.stop()
    expected, actual = final
    assert actual == expected
    assert actual[CONSUMED] == n and actual[OWNED] == 4
    assert ticket_gauges(actual) == tickets_on(lines, {0, 1, 2, 3})
    assert counts == {"consumed": n, "applied": n, "duplicate": 0, "dead_lettered": 0,
                      "held": 0}, counts  # fmt: skip
    sla = sla_totals(actual)
    assert all(sla.values()), sla
    kinds = coverage(actual)
    assert all(kinds.values()), kinds
    print(
        f"equal: all {len(actual)} samples, non-zero: {kinds}; SLA {sla}; {counts}; "
        f"{time.monotonic() - started:.0f}s"
    )
