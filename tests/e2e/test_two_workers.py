"""Two workers in one group split the partitions; their metrics sum to one worker's."""

from __future__ import annotations

import uuid
from collections import defaultdict
from pathlib import Path
from typing import Any

import orjson

from stream.kafka.embedded import EmbeddedBroker
from tests.helpers.processes import Samples, Worker, http_get, run_cli, running_worker, wait_until

STORIES = Path(__file__).parent / "data" / "stories.jsonl"
# Samples that are not sums over partitions: maxima, and each worker's own clock (with
# --clock event a worker's clock is the stream time of its own partitions, so its 1h
# windows end where its own partitions' events end; see the README).
# Maxima and minima over workers, not sums (the seconds to the next SLA breach is a minimum).
NOT_ADDITIVE = ("support_oldest_unsolved_age_seconds", "support_last_event_timestamp_seconds",
                "support_processing_clock_seconds", "support_owned_partitions",
                "support_sla_next_breach_seconds")  # fmt: skip


def _readiness(worker: Worker) -> dict[str, Any]:
    return orjson.loads(http_get(worker.base + "/readyz")[1])  # type: ignore[no-any-return]


def _additive(samples: Samples) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    # Staffing is whole-queue on every worker (test_staffing.py proves it equals the stream's).
    return {k: val for k, val in samples.items()
            if k[0] not in NOT_ADDITIVE and ("window", "1h") not in k[1]
            and not k[0].startswith("support_staffing_")}  # fmt: skip


def test_two_workers__split_partitions_and_sum_to_one_worker(
    embedded_broker: EmbeddedBroker, tmp_path: Path
) -> None:
    topic = f"two-{uuid.uuid4().hex[:8]}"
    done = run_cli("replay", str(STORIES), "--broker", embedded_broker.url, "--topic", topic)
    assert done.returncode == 0, done.stderr
    group = {"topic": topic, "app_id": f"pair-{topic}", "log_dir": tmp_path}
    with (
        running_worker(embedded_broker.url, **group,  # type: ignore[arg-type]
                       env={"SUPPORTPULSE_GROUP_INSTANCE_ID": "a"}) as a,
        running_worker(embedded_broker.url, **group,  # type: ignore[arg-type]
                       env={"SUPPORTPULSE_GROUP_INSTANCE_ID": "b"}) as b,
    ):  # fmt: skip

        def split() -> tuple[list[int], list[int]] | None:
            ra, rb = _readiness(a), _readiness(b)
            owned = (ra["owned_partitions"], rb["owned_partitions"])
            both = ra["ready"] and rb["ready"] and all(owned)
            return owned if both and sorted(owned[0] + owned[1]) == [0, 1, 2, 3] else None

        owned = wait_until(split, timeout=60, what="the two workers to split 4 partitions")
        assert not set(owned[0]) & set(owned[1])

        def settled() -> tuple[Samples, Samples] | None:
            ma, mb = a.metrics(), b.metrics()
            key = ("support_events_consumed_total", frozenset())
            return (ma, mb) if ma[key] + mb[key] == 35 else None

        ma, mb = wait_until(settled, timeout=60, what="35 messages consumed by the pair")
        ma, mb = a.metrics(), b.metrics()  # after the last batch's accounting
    with running_worker(embedded_broker.url, topic=topic, app_id=f"solo-{topic}",
                        log_dir=tmp_path) as solo:  # fmt: skip
        whole = wait_until(
            lambda: (m := solo.metrics())[("support_events_consumed_total", frozenset())] == 35
            and m, timeout=60, what="35 messages consumed by one worker")  # fmt: skip
    summed: dict[tuple[str, frozenset[tuple[str, str]]], float] = defaultdict(float)
    for part in (ma, mb):
        for key, val in _additive(part).items():
            summed[key] += val
    expected = _additive(whole)
    assert {k: v for k, v in summed.items() if v} == {k: v for k, v in expected.items() if v}
    assert summed[("support_tickets_unsolved", frozenset(
        {("queue", "technical"), ("priority", "low"), ("status", "open")}))] == 1  # fmt: skip
