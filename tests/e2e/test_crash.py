"""SPEC 7: a worker SIGKILLed at random points of a long stream ends with the exact metrics.

An undisturbed worker and a worker that is killed (SIGKILL: no shutdown, no final flush or
commit) several times and restarted read the same recorded stream of 58,000 events; once
both have consumed all of it, every sample of their /metrics is equal. The README section
"Why the numbers survive a crash or a rebalance" says what makes this hold.
"""

from __future__ import annotations

import random
import time
import uuid
from pathlib import Path

from stream.kafka.embedded import EmbeddedBroker
from tests.helpers.exactness import (
    CONSUMED,
    QUICK,
    REPORTING,
    accounting,
    changelog_tail,
    committed_offsets,
    comparable,
    consumed,
    coverage,
    diff,
    publish,
    simulate_history,
    sla_totals,
    start_together,
    wait_consumed,
)
from tests.helpers.processes import Samples, Worker, wait_until

# 24 hours of the simulator's daily curve at 4 new tickets a minute: about 58,600 events
# (every queue, channel and event type; SLA clocks under the shipped policies).
RATE, DURATION_S, SEED = 4.0, 86_400.0, 6
MIN_EVENTS = 50_000
# Kill points: a consumed count drawn in each band (fractions of the stream), then a delay.
# /api/summary shows a batch once it is applied, while its changelog writes are still being
# sent: the first kill follows at once, to cut that flush; the others after a random delay,
# inside the application of a later batch (up to 5,000 events, about 1.5 s of work here).
KILL_SEED = 20_260_601
KILL_BANDS = ((0.06, 0.20), (0.28, 0.44), (0.52, 0.70))
MAX_KILL_DELAY_S = 1.5


def test_crash__sigkill_at_random_points_ends_with_the_undisturbed_metrics(
    embedded_broker: EmbeddedBroker, tmp_path: Path
) -> None:
    started = time.monotonic()
    lines = simulate_history(tmp_path / "history.jsonl", rate=RATE, duration_s=DURATION_S,
                             seed=SEED)  # fmt: skip
    n = len(lines)
    assert n >= MIN_EVENTS, n
    topic = f"crash-{uuid.uuid4().hex[:8]}"
    publish(embedded_broker.url, topic, lines, tmp_path / "publish.jsonl")
    rng = random.Random(KILL_SEED)
    plan = [(int(n * rng.uniform(lo, hi)), rng.uniform(0.05, MAX_KILL_DELAY_S) if i else 0.0)
            for i, (lo, hi) in enumerate(KILL_BANDS)]  # fmt: skip
    crashed_app = f"sp-{topic}-crashed"
    crashed = {"topic": topic, "app_id": crashed_app, "log_dir": tmp_path,
               # Static membership: a restarted worker takes its partitions back at once.
               "env": {**QUICK, "SUPPORTPULSE_GROUP_INSTANCE_ID": f"{topic}-w1"}}  # fmt: skip
    print(f"\n{n} events on {topic}; kill plan (consumed >= target, then delay): "
          + ", ".join(f"{t} +{d:.2f}s" for t, d in plan))  # fmt: skip
    # The undisturbed run reads the same topic meanwhile (its own app id, so its own group
    # and changelog): its work overlaps the crashed worker's restarts.
    undisturbed = Worker(embedded_broker.url, topic=topic, app_id=f"sp-{topic}-undisturbed",
                         log_dir=tmp_path, env=QUICK)  # fmt: skip
    worker = Worker(embedded_broker.url, **crashed)  # type: ignore[arg-type]
    pair: list[Samples] = []
    try:
        start_together(undisturbed, worker)
        for i, (target, delay_s) in enumerate(plan, 1):
            seen = wait_consumed(worker, target, timeout=90)
            time.sleep(delay_s)
            worker.kill()
            at_s = time.monotonic() - started
            tail = changelog_tail(embedded_broker.bootstrap_servers,
                                  f"{crashed_app}-state-changelog")  # fmt: skip
            committed = committed_offsets(embedded_broker.bootstrap_servers, crashed_app, topic)
            kept = sum(part.consumed for part in tail.values())
            cut = sum(part.writes_after for part in tail.values())
            skip = sum(part.offsets.get(topic, -1) + 1 - committed.get(p, 0)
                       for p, part in tail.items())  # fmt: skip
            print(f"kill {i} at {at_s:.0f}s: SIGKILL {delay_s:.2f}s after /api/summary said "
                  f"consumed={seen} (target {target}); the changelog's records account for "
                  f"{kept} messages, {skip} of them past the committed offsets (re-read, "
                  f"skipped by offset); {cut} entity writes of a batch cut off before its "
                  f"record")  # fmt: skip
            worker = Worker(embedded_broker.url, **crashed)  # type: ignore[arg-type]
            worker.start()
        wait_until(lambda: consumed(worker) == n, timeout=120,
                   what=f"the restarted worker to consume all {n} messages")  # fmt: skip
        wait_until(lambda: consumed(undisturbed) == n, timeout=120,
                   what=f"the undisturbed worker to consume all {n} messages")  # fmt: skip

        # Both idle at the end of the stream: their scrapes agree once each has published
        # its final staffing inputs (every STAFFING_INTERVAL_S) and read them back.
        def agree() -> bool:
            pair[:] = [comparable(undisturbed.metrics()), comparable(worker.metrics())]
            return pair[0] == pair[1] and pair[0].get(REPORTING) == 4

        try:
            wait_until(agree, timeout=30, what="equal metrics")
        except AssertionError:
            raise AssertionError(diff(pair[0], pair[1]) if pair else "no scrape") from None
        final = accounting(worker)
        assert accounting(undisturbed) == final
    finally:
        try:
            worker.stop()
        finally:
            undisturbed.stop()
    expected, actual = pair
    assert actual == expected
    assert actual[CONSUMED] == n
    # Nothing lost, nothing counted twice: every message applied exactly once (the stream
    # has no duplicates or bad events), and the undisturbed run agrees.
    assert final == {"consumed": n, "applied": n, "duplicate": 0, "dead_lettered": 0,
                     "held": 0}, final  # fmt: skip
    sla = sla_totals(actual)
    assert all(sla.values()), sla
    kinds = coverage(actual)
    assert all(kinds.values()), kinds
    print(
        f"equal: all {len(actual)} samples, non-zero: {kinds}; SLA {sla}; {final}; "
        f"{time.monotonic() - started:.0f}s"
    )
