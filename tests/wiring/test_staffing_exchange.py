"""Staffing across workers: the records each worker publishes, and the view every one builds.

Contract: every worker publishes one record per owned partition (its trailing-hour buckets
and online agents), every worker keeps the latest record of every partition, leaves out
records not published for `staffing_stale_after_s`, and runs Erlang C once on the sum. So
two workers owning half the partitions each give the same required agents as one worker
owning all of them. No Kafka here: the app is a fake whose `.topic(...)` records sends.
"""

from __future__ import annotations

import json
import logging
from typing import Any

import orjson
import pytest

from stream.domain.calendars import AlwaysOpen
from stream.domain.policies import PolicySet, SlaPolicy
from stream.domain.staffing import (
    PartitionActivity,
    QueueActivity,
    QueueInputs,
    StaffingConfig,
    plan_all,
)
from stream.processing.config import ProcessorConfig
from stream.processing.messages import SRC_HEADER, Message
from stream.processing.processor import Processor
from stream.processing.routing import entity_key, partition_for
from stream.wiring.settings import WorkerSettings
from stream.wiring.staffing import StaffingExchange
from tests.helpers.events import created, event, interaction, ts

TOPIC = "support.ticket-events"
PARTS = 4
B = 300
T0 = int(ts(0))  # 2026-03-02 09:00:00 UTC, a bucket start
WALL = T0 + 100.0
NO_POLICIES = PolicySet(())
LOGGER = "stream.wiring.staffing"


class FakeTopic:
    def __init__(self, name: str, **options: Any) -> None:
        self.name, self.options = name, options
        self.sent: list[tuple[bytes, bytes]] = []

    async def send(self, *, key: bytes, value: bytes) -> None:
        self.sent.append((key, value))


class FakeApp:
    def __init__(self) -> None:
        self.topics: list[FakeTopic] = []

    def topic(self, name: str, **options: Any) -> FakeTopic:
        self.topics.append(FakeTopic(name, **options))
        return self.topics[-1]


class Clock:
    def __init__(self, t: float) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


def exchange(
    clock: Clock,
    *,
    mode: str = "wall",
    processor: Processor | None = None,
    config: StaffingConfig | None = None,
    policies: PolicySet = NO_POLICIES,
) -> StaffingExchange:
    settings = WorkerSettings(partitions=PARTS, clock=mode, staffing_stale_after_s=60.0)
    proc = processor or Processor(ProcessorConfig(input_topic=TOPIC, partitions=PARTS), {})
    app: Any = FakeApp()  # stands in for faust.App: only .topic() is used
    return StaffingExchange(app, proc, settings, config or StaffingConfig(), policies, wall=clock)


def record(p: int, written_at: float, clock: float | None = None, **queues: QueueActivity) -> bytes:
    act = PartitionActivity(p, written_at if clock is None else clock, written_at, dict(queues))
    return orjson.dumps(act.to_dict())


def created_in(bucket: int, n: float) -> QueueActivity:
    return QueueActivity(created={bucket: n})


# -- receive ------------------------------------------------------------------------------


def test_construction__one_compacted_single_partition_topic() -> None:
    fake = FakeApp()
    app: Any = fake
    settings = WorkerSettings(partitions=PARTS, app_id="sp")
    proc = Processor(ProcessorConfig(input_topic=TOPIC, partitions=PARTS), {})
    StaffingExchange(app, proc, settings, StaffingConfig(), NO_POLICIES)
    (topic,) = fake.topics
    assert topic.name == "sp-staffing"
    assert topic.options["partitions"] == 1
    assert topic.options["compacting"] is True


def test_receive__keeps_the_latest_record_per_partition() -> None:
    ex = exchange(Clock(WALL))
    ex.receive(b"p0", record(0, WALL, billing=created_in(T0, 1)))
    ex.receive(b"p1", record(1, WALL, billing=created_in(T0, 2)))
    ex.receive(b"p0", record(0, WALL, billing=created_in(T0, 5)))
    assert sorted(ex.partials) == [0, 1]
    assert ex.partials[0].queues["billing"].created == {T0: 5.0}
    # The view sums the latest of each: 5 + 2, not 1 + 2 + 5.
    assert ex.view().queues["billing"].inputs.arrivals_1h == 7.0


def test_receive__ignores_a_tombstone(caplog: pytest.LogCaptureFixture) -> None:
    ex = exchange(Clock(WALL))
    ex.receive(b"p0", record(0, WALL, billing=created_in(T0, 3)))
    with caplog.at_level(logging.WARNING, logger=LOGGER):
        ex.receive(b"p0", None)
    assert caplog.records == []
    assert ex.partials[0].queues["billing"].created == {T0: 3.0}


BAD_RECORDS = {
    "not_json": (b"{not json", "staffing record b'p0' ignored: "),
    "nan_is_not_json": (b'{"v": 1, "p": 0, "clock_s": NaN}', "staffing record b'p0' ignored: "),
    "not_utf8": (b"\xff\xfe", "staffing record b'p0' ignored: "),
    "json_array": (b"[1, 2]", "staffing record b'p0' ignored: malformed staffing record"),
    "json_null": (b"null", "staffing record b'p0' ignored: malformed staffing record"),
    "unknown_version": (
        orjson.dumps({**PartitionActivity(0, WALL, WALL).to_dict(), "v": 2}),
        "staffing record b'p0' ignored: unknown staffing record version 2",
    ),
    "missing_clock": (
        orjson.dumps({"v": 1, "p": 0, "written_at_s": WALL}),
        "staffing record b'p0' ignored: malformed staffing record",
    ),
    "bad_queue": (
        orjson.dumps(
            {
                "v": 1,
                "p": 0,
                "clock_s": WALL,
                "written_at_s": WALL,
                "queues": {"billing": {"created": [1]}},
            }
        ),
        "staffing record b'p0' ignored: malformed staffing record",
    ),
    "partition_too_high": (
        record(PARTS, WALL, billing=created_in(T0, 9)),
        "staffing record for partition 4 ignored: the input topic has 4",
    ),
    "partition_negative": (
        record(-1, WALL, billing=created_in(T0, 9)),
        "staffing record for partition -1 ignored: the input topic has 4",
    ),
}


@pytest.mark.parametrize("case", list(BAD_RECORDS))
def test_receive__bad_record_is_logged_and_ignored(
    case: str, caplog: pytest.LogCaptureFixture
) -> None:
    value, logged = BAD_RECORDS[case]
    ex = exchange(Clock(WALL))
    ex.receive(b"p0", record(0, WALL, billing=created_in(T0, 3)))
    with caplog.at_level(logging.WARNING, logger=LOGGER):
        ex.receive(b"p0", value)  # must not raise
    assert [r.levelno for r in caplog.records] == [logging.WARNING]
    assert caplog.records[0].getMessage().startswith(logged)
    assert sorted(ex.partials) == [0]
    assert ex.partials[0].queues["billing"].created == {T0: 3.0}
    assert ex.known_queues == {"billing"}


# -- view ---------------------------------------------------------------------------------


def test_view__leaves_out_stale_partitions_and_reports_complete() -> None:
    clock = Clock(WALL)
    ex = exchange(clock)
    ex.receive(b"p0", record(0, WALL - 60, billing=created_in(T0, 1)))  # exactly 60 s: fresh
    ex.receive(b"p1", record(1, WALL - 60.5, billing=created_in(T0, 10)))  # stale
    ex.receive(b"p2", record(2, WALL, billing=created_in(T0, 100)))
    view = ex.view()
    assert (view.reporting, view.stale, view.partitions) == ([0, 2], [1], PARTS)
    assert view.complete is False
    assert view.queues["billing"].inputs.arrivals_1h == 101.0  # 1 + 100, not the stale 10
    # A second later every partition has published afresh.
    clock.t = WALL + 1
    for p in range(PARTS):
        ex.receive(f"p{p}".encode(), record(p, WALL + 1, billing=created_in(T0, 1)))
    view = ex.view()
    assert (view.reporting, view.stale, view.complete) == ([0, 1, 2, 3], [], True)
    assert view.queues["billing"].inputs.arrivals_1h == 4.0


def test_view__event_clock_is_the_highest_fresh_partition_clock() -> None:
    ex = exchange(Clock(WALL), mode="event")
    billing = QueueActivity(created={T0 - 11 * B: 1, T0: 2, T0 + B: 4})
    ex.receive(b"p0", record(0, WALL, clock=T0 + 100, billing=billing))
    ex.receive(b"p1", record(1, WALL, clock=T0 + B + 50))  # one bucket later
    ex.receive(b"p2", record(2, WALL - 61, clock=T0 + 50 * B))  # stale: its clock is not used
    view = ex.view()
    assert view.computed_at_s == T0 + B + 50
    # At T0+350 the hour is buckets T0-3000 .. T0+300: the 08:05 bucket (T0-3300) is out,
    # 09:05 (T0+300) is in: 2 + 4.
    assert view.queues["billing"].inputs.arrivals_1h == 6.0
    assert view.stale == [2]


def test_view__event_clock_with_nothing_fresh_is_zero() -> None:
    ex = exchange(Clock(WALL), mode="event")
    ex.receive(b"p0", record(0, WALL - 3600, clock=T0, billing=created_in(T0, 2)))
    view = ex.view()
    assert (view.computed_at_s, view.reporting, view.stale) == (0.0, [], [0])
    # billing is known, so it is still listed, with nothing in its hour.
    assert view.queues["billing"].inputs == QueueInputs()


def test_view__wall_clock_ignores_the_record_clocks() -> None:
    ex = exchange(Clock(WALL))
    billing = QueueActivity(created={T0 - 11 * B: 1, T0: 2, T0 + B: 4})
    ex.receive(b"p0", record(0, WALL, clock=T0 + 50 * B, billing=billing))
    view = ex.view()
    assert view.computed_at_s == WALL
    # At WALL = T0+100 the hour is T0-3300 .. T0: 1 + 2; the future bucket is out.
    assert view.queues["billing"].inputs.arrivals_1h == 3.0


def test_view__known_queues_persist_after_their_activity_disappears() -> None:
    clock = Clock(WALL)
    ex = exchange(clock)
    ex.receive(b"p0", record(0, WALL, vip=created_in(T0, 12), billing=created_in(T0, 1)))
    assert ex.view().queues["vip"].inputs.arrivals_1h == 12.0
    clock.t = WALL + 1
    ex.receive(b"p0", record(0, WALL + 1, billing=created_in(T0, 1)))
    view = ex.view()
    assert sorted(view.queues) == ["billing", "vip"]
    vip = view.queues["vip"]
    assert vip.inputs == QueueInputs()
    assert (vip.required_agents, vip.gap_agents) == (0, 0)
    # And when the only partition goes stale, both stay listed (with zero inputs).
    clock.t = WALL + 100
    view = ex.view()
    assert view.reporting == []
    assert sorted(view.queues) == ["billing", "vip"]
    assert view.queues["billing"].inputs == QueueInputs()


def test_view__is_cached_for_one_second() -> None:
    clock = Clock(WALL)
    ex = exchange(clock)
    ex.receive(b"p0", record(0, WALL, billing=created_in(T0, 1)))
    first = ex.view()
    ex.receive(b"p0", record(0, WALL, billing=created_in(T0, 9)))
    clock.t = WALL + 0.999
    assert ex.view() is first  # a scrape and an /api call in the same second agree
    assert first.queues["billing"].inputs.arrivals_1h == 1.0
    clock.t = WALL + 1.0
    second = ex.view()
    assert second is not first
    assert second.queues["billing"].inputs.arrivals_1h == 9.0
    assert second.computed_at_s == WALL + 1.0
    # A wall clock stepped back does not keep serving the old view.
    ex.receive(b"p0", record(0, WALL, billing=created_in(T0, 4)))
    clock.t = WALL - 5
    third = ex.view()
    assert third is not second
    assert third.queues["billing"].inputs.arrivals_1h == 4.0


def test_staffing_json__every_queue_with_its_inputs() -> None:
    # Imported here: web.py is the HTTP layer, only this test needs it.
    from stream.wiring.web import staffing_json

    clock = Clock(WALL)
    ex = exchange(clock, config=StaffingConfig(min_interactions=3))
    ex.receive(b"p0", record(0, WALL, billing=QueueActivity(created={T0: 4},
                                                            online_seen=[WALL - 1])))  # fmt: skip
    view = ex.view()
    body = staffing_json(view, ex)
    assert body["computed_at_seconds"] == WALL
    assert body["clock"] == "wall"
    assert (body["partitions"], body["partitions_reporting"], body["partitions_stale"]) == (
        4,
        [0],
        [],
    )
    assert body["complete"] is False
    assert body["defaults"]["min_interactions"] == 3
    assert body["defaults"]["max_occupancy"] == 0.85
    assert body["queues"] == {"billing": view.queues["billing"].to_dict()}
    # 4 arrivals, fallback AHT 600 s: load 4 x 600 / 3600 = 0.667 erlangs.
    assert body["queues"]["billing"]["offered_load_erlangs"] == pytest.approx(2 / 3)
    json.dumps(body, allow_nan=False)


# -- end to end: events through Processor.handle -----------------------------------------

NOW = ts(3000)  # 09:50; the trailing hour is buckets 08:55 .. 09:50
CONFIG = StaffingConfig(min_interactions=3)
POLICIES = PolicySet([SlaPolicy("tech-email", AlwaysOpen(), {"first_reply": 4 * 3600},
                                queues=frozenset({"tech"}))])  # fmt: skip


def presence(t: float, agent: str, status: str, queues: list[str]) -> dict[str, Any]:
    return event("agent.presence", t, ticket=None, agent=agent, status=status, queues=queues)


def story() -> list[tuple[dict[str, Any], bool]]:
    """(event, keyed): unkeyed events are produced to partition 3 and re-keyed."""
    events: list[dict[str, Any]] = []
    # billing: 5 chat tickets at 09:01..09:05, one at 08:55:00 (the first bucket of the
    # hour: counts) and one at 08:54:59 (bucket 08:50: does not): 6 arrivals.
    for i in range(1, 6):
        events.append(created(60 * i, ticket=f"B-{i}", queue="billing", channel="chat"))
    events.append(created(-300, ticket="B-EDGE", queue="billing", channel="chat"))
    events.append(created(-301, ticket="B-OLD", queue="billing", channel="chat"))
    # Handle seconds = talk + hold + wrap: 300 + 150 + 250 + 100 = 800 over 4 chat
    # interactions: AHT 200 s. The one at 08:53:20 is outside the hour.
    events += [
        interaction(600, 200, 20, 80, ticket="B-1"),
        interaction(700, 100, 0, 50, ticket="B-2"),
        interaction(800, 250, ticket="B-3"),
        interaction(900, 60, 10, 30, ticket="B-4"),
        interaction(-400, 5000, ticket="B-OLD"),
    ]
    # tech: 3 email tickets, one 600 s interaction each: AHT 1800 / 3 = 600 s.
    for i in range(1, 4):
        events.append(created(1000 + i, ticket=f"T-{i}", queue="tech", channel="email"))
        events.append(interaction(1200 + i, 500, 0, 100, ticket=f"T-{i}"))
    keyed = [(ev, True) for ev in events]
    # Presence at NOW = 09:50, timeout 600 s.
    agents = [
        presence(2900, "ann", "online", ["billing", "tech"]),  # both queues
        presence(2000, "bob", "online", ["billing"]),  # 1000 s old: stale
        presence(2950, "cara", "away", ["billing"]),
        presence(2400, "dan", "online", ["tech"]),  # exactly 600 s old: counts
        presence(2500, "eve", "online", ["billing"]),
        presence(2950, "eve", "offline", []),  # later: eve is offline
        presence(2990, "fay", "offline", []),
        presence(2700, "fay", "online", ["billing"]),  # arrives later, happened earlier
    ]
    return keyed + [(ev, False) for ev in agents]


class Cluster:
    """Workers owning disjoint partitions; a message goes to the worker owning its partition.

    Keyed events land where a murmur2 producer puts them; unkeyed ones in partition 3, from
    where the owner re-keys them (possibly to the other worker).
    """

    def __init__(self, owners: list[list[int]], clock: str = "wall") -> None:
        self.workers: list[Processor] = []
        for owned in owners:
            cfg = ProcessorConfig(input_topic=TOPIC, partitions=PARTS, clock=clock)
            proc = Processor(cfg, {}, wall=lambda: NOW)
            proc.assign(owned)
            self.workers.append(proc)
        self.offsets: dict[tuple[str, int], int] = {}

    def owner(self, partition: int) -> Processor:
        return next(w for w in self.workers if partition in w.owned)

    def deliver(self, topic: str, partition: int, key: bytes | None, value: bytes,
                headers: dict[str, bytes] | None = None) -> None:  # fmt: skip
        offset = self.offsets.get((topic, partition), 0)
        self.offsets[(topic, partition)] = offset + 1
        proc = self.owner(partition)
        proc.handle(Message(topic, partition, offset, key, value, headers or {}), NOW)
        for fwd in proc.take_effects().forwards:
            self.deliver(f"{TOPIC}.rekeyed", fwd.partition, fwd.key, fwd.value,
                         {SRC_HEADER: fwd.src.encode()})  # fmt: skip

    def play(self, events: list[tuple[dict[str, Any], bool]]) -> Cluster:
        for ev, keyed in events:
            key = entity_key(ev)
            assert key is not None
            p = partition_for(key, PARTS) if keyed else 3
            self.deliver(TOPIC, p, key.encode() if keyed else None, orjson.dumps(ev))
        return self

    def activity(self) -> list[PartitionActivity]:
        return [act for w in self.workers for act in w.staffing_activity(NOW)]


def test_processor__staffing_activity_from_real_events() -> None:
    one = Cluster([[0, 1, 2, 3]]).play(story())
    proc = one.workers[0]
    # Every message was applied (nothing dead-lettered or held).
    recs = proc.records.values()
    assert sum(r.applied for r in recs) == len(story())
    assert sum(sum(r.dead_lettered.values()) for r in recs) == 0
    acts = one.activity()
    assert [a.partition for a in acts] == [0, 1, 2, 3]
    assert {a.clock_s for a in acts} == {NOW}  # wall clock mode
    inputs = {q: s.inputs for q, s in plan_all(acts, NOW, CONFIG, POLICIES).items()}
    assert inputs["billing"] == QueueInputs(
        arrivals_1h=6.0,
        handle_seconds_1h=800.0,
        interactions_1h=4.0,
        interactions_by_channel_1h={"chat": 4.0},
        available_agents=1,  # ann only
    )
    assert inputs["tech"] == QueueInputs(
        arrivals_1h=3.0,
        handle_seconds_1h=1800.0,
        interactions_1h=3.0,
        interactions_by_channel_1h={"email": 3.0},
        available_agents=2,  # ann and dan
    )


def test_processor__event_clock_is_each_partitions_own_stream_time() -> None:
    """With the event clock a record's clock is its partition's latest event time.

    Latest applied event per partition (keyed by murmur2 of the ticket id or agent:NAME;
    presence was produced to partition 3 and applied where it was re-keyed to):
    p0: cara away at 2950; p1: ann at 2900; p2: fay offline at 2990; p3: B-5 at 300.
    """
    cluster = Cluster([[0, 1, 2, 3]], clock="event").play(story())
    later = NOW + 10_000  # the wall clock: only the written_at of the records
    acts = cluster.workers[0].staffing_activity(later)
    assert {a.partition: a.clock_s for a in acts} == {
        0: ts(2950),
        1: ts(2900),
        2: ts(2990),
        3: ts(300),
    }
    assert {a.written_at_s for a in acts} == {later}
    # The reader's clock is the highest of them: 09:49:50, bucket 09:45, so the hour is
    # 08:50 .. 09:45 and B-OLD (08:54:59) and its 08:53:20 interaction now count.
    now = max(a.clock_s for a in acts)
    billing = plan_all(acts, now, CONFIG, POLICIES)["billing"].inputs
    assert (billing.arrivals_1h, billing.handle_seconds_1h) == (7.0, 5800.0)


def test_processor__hand_computed_plan() -> None:
    plans = plan_all(Cluster([[0, 1, 2, 3]]).play(story()).activity(), NOW, CONFIG, POLICIES)
    billing, tech = plans["billing"], plans["tech"]
    # billing: AHT 800 / 4 = 200 s; load = 6 x 200 / 3600 = 1/3 erlang; chat only:
    # real-time, 80% in 20 s. N = 1: 0.688 < 0.8; N = 2: 0.960 -> 2 required, 1 available.
    assert (billing.kind, billing.aht_s, billing.answer_target_s) == ("realtime", 200.0, 20.0)
    assert billing.offered_load_erlangs == pytest.approx(1 / 3)
    assert billing.at_required.service_level == pytest.approx(0.9597, abs=1e-4)
    assert (billing.required_agents, billing.available_agents, billing.gap_agents) == (2, 1, 1)
    assert billing.scheduled_agents == pytest.approx(2 / 0.7)
    assert billing.at_available.service_level == pytest.approx(0.6882, abs=1e-4)
    # tech: AHT 600 s; load = 3 x 600 / 3600 = 0.5; email: deferred, answer within the
    # first reply of tech-email (4 h): 1 agent is plenty; 2 available.
    assert (tech.kind, tech.aht_s, tech.answer_target_s) == ("deferred", 600.0, 14400.0)
    assert tech.target_source == "first_reply of SLA policy 'tech-email'"
    assert tech.offered_load_erlangs == pytest.approx(0.5)
    assert (tech.required_agents, tech.available_agents, tech.gap_agents) == (1, 2, -1)


@pytest.mark.parametrize("clock", ["wall", "event"])
@pytest.mark.parametrize("owners", [[[0, 1], [2, 3]], [[0, 2], [1, 3]], [[3], [0], [1, 2]]])
def test_two_workers_give_the_same_answer_as_one(clock: str, owners: list[list[int]]) -> None:
    one = Cluster([[0, 1, 2, 3]], clock).play(story())
    split = Cluster(owners, clock).play(story())
    whole_acts, split_acts = one.activity(), split.activity()
    # Each partition's record is the same whoever owns it...
    assert sorted(split_acts, key=lambda a: a.partition) == whole_acts
    # ...every worker saw part of the traffic...
    assert all(any(a.queues for a in w.staffing_activity(NOW)) for w in split.workers)
    now = NOW if clock == "wall" else max(a.clock_s for a in whole_acts)
    whole = plan_all(whole_acts, now, CONFIG, POLICIES)
    assert plan_all(split_acts, now, CONFIG, POLICIES) == whole
    assert whole["billing"].required_agents >= 1
    # ...and no single worker's share gives the whole answer.
    for w in split.workers:
        alone = plan_all(w.staffing_activity(NOW), now, CONFIG, POLICIES)
        assert alone != whole


async def test_published_records_give_every_worker_the_whole_queue() -> None:
    """Two workers publish their halves; a reader of the topic plans the whole queue."""
    clock = Clock(NOW)
    one = Cluster([[0, 1, 2, 3]]).play(story())
    split = Cluster([[0, 1], [2, 3]]).play(story())
    sent: list[tuple[bytes, bytes]] = []
    for worker in split.workers:
        ex = exchange(clock, processor=worker, config=CONFIG, policies=POLICIES)
        assert await ex.publish() == 2
        topic = ex.topic
        assert isinstance(topic, FakeTopic)
        sent += topic.sent
    assert sorted(key for key, _ in sent) == [b"p0", b"p1", b"p2", b"p3"]
    reader = exchange(clock, config=CONFIG, policies=POLICIES)
    for key, value in sent:
        reader.receive(key, value)
    view = reader.view()
    assert view.complete is True
    assert view.queues == plan_all(one.activity(), NOW, CONFIG, POLICIES)
    assert (view.queues["billing"].required_agents, view.queues["billing"].gap_agents) == (2, 1)
    assert (view.queues["tech"].required_agents, view.queues["tech"].gap_agents) == (1, -1)
