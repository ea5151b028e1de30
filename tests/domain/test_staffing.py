"""Live staffing per queue: whole-queue inputs from every partition, answer target, Erlang C.

The product contract, per queue, from the trailing hour (the 12 five-minute buckets ending
with the bucket that contains the processing clock):

- arrival rate = tickets created in the hour (per hour);
- AHT = handle seconds / interactions of the hour, or the configured fallback while there
  are fewer than `min_interactions` interactions;
- target: `service_level` (80%) answered within 20 s for chat and phone queues; any other
  queue answers within the first_reply target of the SLA policy a normal-priority ticket of
  the queue (on its most used deferred channel) gets, else `deferred_answer_s`; a per-queue
  setting overrides either;
- required agents = smallest N whose Erlang C service level meets the target while the
  occupancy load / N stays at or below `max_occupancy` (0.85);
- scheduled = required / (1 - shrinkage) (0.3);
- available = agents whose latest presence is `online` and lists the queue (an agent on two
  queues counts for each), until that presence is older than `presence_timeout_s`;
- gap = required - available.

Erlang C values are computed with `stream.domain.erlang_c` (tested on its own); every input
fed to it (arrivals, AHT, load, target, which buckets count) is derived by hand below.
"""

from __future__ import annotations

import json
import math
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from stream.domain import erlang_c
from stream.domain.calendars import AlwaysOpen
from stream.domain.policies import PolicySet, SlaPolicy
from stream.domain.staffing import (
    STAFFING_WINDOW_S,
    PartitionActivity,
    QueueActivity,
    QueueInputs,
    QueueTarget,
    StaffingConfig,
    answer_target,
    first_bucket_kept,
    partition_activity,
    plan_all,
    plan_queue,
    queue_kind,
    whole_queue_inputs,
)
from stream.domain.windows import bucket_of
from tests.helpers.events import ts

B = 300  # one bucket
T0 = int(ts(0))  # 2026-03-02 09:00:00 UTC, a bucket start (buckets are ints)
NOW = T0 + 100  # inside bucket T0: the trailing hour is buckets T0-3300 .. T0
FIRST = T0 - 11 * B  # oldest bucket of the trailing hour at NOW
NO_POLICIES = PolicySet(())
DEFAULT = StaffingConfig()


def test_time_base_is_a_bucket_start() -> None:
    # The hand-derived windows below rely on it.
    assert bucket_of(T0) == T0
    assert bucket_of(NOW) == T0
    assert STAFFING_WINDOW_S == 12 * B


def one_partition(**queues: QueueActivity) -> list[PartitionActivity]:
    return [PartitionActivity(0, NOW, NOW, dict(queues))]


def inputs_at(now_s: float, act: QueueActivity, timeout_s: float = 600.0) -> QueueInputs:
    return whole_queue_inputs([PartitionActivity(0, now_s, now_s, {"q": act})], now_s, timeout_s)[
        "q"
    ]


# -- which buckets make the trailing hour ---------------------------------------------------


def test_trailing_hour__bucket_before_the_window_is_out_current_bucket_in() -> None:
    act = QueueActivity(
        created={
            FIRST - B: 100,  # 08:00, the bucket just before the hour: excluded
            FIRST: 1,  # 08:05, the oldest bucket of the hour: included
            T0 - B: 10,  # 08:55: included
            T0: 1000,  # 09:00, the bucket holding NOW: included
            T0 + B: 10000,  # 09:05, after the clock: excluded
        },
        handle_s={FIRST - B: 7.0, FIRST: 30.0, T0: 60.0},
        interactions={FIRST - B: {"chat": 5}, FIRST: {"chat": 1}, T0: {"email": 2}},
    )
    got = inputs_at(NOW, act)
    assert got.arrivals_1h == 1 + 10 + 1000  # 1011
    assert got.handle_seconds_1h == 30.0 + 60.0
    assert got.interactions_1h == 3  # 1 chat in 08:05 + 2 email in 09:00
    assert dict(got.interactions_by_channel_1h) == {"chat": 1, "email": 2}


@pytest.mark.parametrize(
    ("now_s", "expected"),
    [
        # At the very start of bucket T0 the hour is T0-3300 .. T0: same as at NOW.
        (T0, 1 + 10 + 1000),
        # Last instant of bucket T0: still the same 12 buckets.
        (T0 + B - 0.001, 1 + 10 + 1000),
        # One bucket later the hour is T0-3000 .. T0+300: 08:05 drops out, 09:05 comes in.
        (T0 + B, 10 + 1000 + 10000),
    ],
)
def test_trailing_hour__moves_one_bucket_at_a_time(now_s: float, expected: float) -> None:
    act = QueueActivity(created={FIRST - B: 100, FIRST: 1, T0 - B: 10, T0: 1000, T0 + B: 10000})
    assert inputs_at(now_s, act).arrivals_1h == expected


# -- presence ---------------------------------------------------------------------------


def test_presence__exactly_timeout_old_counts_older_does_not() -> None:
    # Timeout 600 s at NOW: seen at NOW-600 counts; NOW-600.5 and NOW-601 do not.
    act = QueueActivity(online_seen=[NOW - 601, NOW - 600.5, NOW - 600, NOW - 10, NOW])
    assert inputs_at(NOW, act, timeout_s=600).available_agents == 3
    # A longer timeout takes the two older ones back.
    assert inputs_at(NOW, act, timeout_s=601).available_agents == 5


def test_presence__from_agents_via_partition_activity() -> None:
    """Online agents count once per queue they list; away and offline agents not at all."""
    agents = [
        ("online", ["billing", "tech"], NOW - 5),  # ann: both queues
        ("online", ["billing", "billing"], NOW - 6),  # bob: listed twice, counts once
        ("away", ["billing", "tech"], NOW - 1),  # cara: logged in, not taking work
        ("offline", ["billing"], NOW - 1),  # dan
        ("online", ["tech"], NOW - 601),  # eve: presence 601 s old
        ("offline", ["sales"], NOW - 1),  # fay: no queue entry for sales at all
    ]
    part = partition_activity(0, NOW, NOW, {}, agents)
    assert sorted(part.queues) == ["billing", "tech"]
    assert part.queues["billing"].online_seen == [NOW - 6, NOW - 5]  # sorted
    assert part.queues["tech"].online_seen == [NOW - 601, NOW - 5]
    got = whole_queue_inputs([part], NOW, presence_timeout_s=600)
    assert got["billing"].available_agents == 2  # ann, bob
    assert got["tech"].available_agents == 1  # ann (eve is stale)


def test_presence__agent_on_two_queues_counts_in_both_after_planning() -> None:
    part = partition_activity(0, NOW, NOW, {}, [("online", ["billing", "tech"], NOW)])
    plans = plan_all([part], NOW, DEFAULT, NO_POLICIES)
    assert plans["billing"].available_agents == 1
    assert plans["tech"].available_agents == 1


# -- summing partitions --------------------------------------------------------------------

QUEUES = ("billing", "tech", "vip")
CHANNELS = ("chat", "email", "phone", "web")
# Buckets from two before the hour to one after it, so the window's edges are exercised.
BUCKETS = [FIRST - 2 * B + i * B for i in range(16)]

_item = st.one_of(
    st.tuples(st.just("created"), st.sampled_from(QUEUES), st.sampled_from(BUCKETS),
              st.just(""), st.integers(1, 50)),
    st.tuples(st.just("handle"), st.sampled_from(QUEUES), st.sampled_from(BUCKETS),
              st.just(""), st.integers(1, 100_000)),
    st.tuples(st.just("interactions"), st.sampled_from(QUEUES), st.sampled_from(BUCKETS),
              st.sampled_from(CHANNELS), st.integers(1, 50)),
    # an online agent: queues served, seconds since last presence
    st.tuples(st.just("agent"), st.sets(st.sampled_from(QUEUES), min_size=1),
              st.just(0), st.just(""), st.integers(0, 1200)),
)  # fmt: skip


def _add(act: QueueActivity, kind: str, bucket: int, channel: str, n: int) -> None:
    # Integer amounts: float sums are then exact in any order, so equality is exact.
    if kind == "created":
        act.created[bucket] = act.created.get(bucket, 0.0) + n
    elif kind == "handle":
        act.handle_s[bucket] = act.handle_s.get(bucket, 0.0) + n
    else:
        chans = act.interactions.setdefault(bucket, {})
        chans[channel] = chans.get(channel, 0.0) + n


def _build(items: list[tuple[Any, ...]], owner: list[int], parts: int) -> list[PartitionActivity]:
    out = [PartitionActivity(p, NOW, NOW) for p in range(parts)]
    for (kind, queue, bucket, channel, n), p in zip(items, owner, strict=True):
        if kind == "agent":
            for q in sorted(queue):
                out[p].queues.setdefault(q, QueueActivity()).online_seen.append(NOW - n)
        else:
            _add(out[p].queues.setdefault(queue, QueueActivity()), kind, bucket, channel, n)
    return out


@settings(max_examples=200, deadline=None)
@given(data=st.data(), items=st.lists(_item, max_size=40), parts=st.integers(1, 4))
def test_summing_partitions__any_split_gives_the_one_partition_answer(
    data: st.DataObject, items: list[tuple[Any, ...]], parts: int
) -> None:
    """Activity split across 1-4 partitions in any way sums to what one partition holds.

    A bucket's count may itself be split (the same queue and bucket in several items that
    land in different partitions), and so may a queue's agents.
    """
    owner = data.draw(st.lists(st.integers(0, parts - 1), min_size=len(items),
                               max_size=len(items)))  # fmt: skip
    split = _build(items, owner, parts)
    whole = _build(items, [0] * len(items), 1)
    assert whole_queue_inputs(split, NOW, 600) == whole_queue_inputs(whole, NOW, 600)
    assert plan_all(split, NOW, DEFAULT, NO_POLICIES) == plan_all(whole, NOW, DEFAULT, NO_POLICIES)


def test_summing_partitions__two_halves_add_up() -> None:
    # Partition 0 has 30 created and 2 agents of billing, partition 1 has 24 and 1:
    # the queue has 54 arrivals and 3 agents, not either half.
    p0 = PartitionActivity(0, NOW, NOW, {"billing": QueueActivity(
        created={T0: 30}, handle_s={T0: 3000}, interactions={T0: {"chat": 10}},
        online_seen=[NOW, NOW])})  # fmt: skip
    p1 = PartitionActivity(1, NOW, NOW, {"billing": QueueActivity(
        created={T0 - B: 20, T0: 4}, handle_s={T0: 1200}, interactions={T0: {"phone": 6}},
        online_seen=[NOW - 60])})  # fmt: skip
    got = whole_queue_inputs([p0, p1], NOW, 600)["billing"]
    assert got == QueueInputs(
        arrivals_1h=54.0,
        handle_seconds_1h=4200.0,
        interactions_1h=16.0,
        interactions_by_channel_1h={"chat": 10.0, "phone": 6.0},
        available_agents=3,
    )
    # AHT of the whole queue: 4200 / 16 = 262.5 s (the halves have 300 and 200; their mean,
    # 250, would be wrong): load = 54 x 262.5 / 3600 = 3.9375 erlangs.
    plan = plan_all([p0, p1], NOW, DEFAULT, NO_POLICIES)["billing"]
    assert plan.aht_s == 262.5
    assert plan.offered_load_erlangs == pytest.approx(3.9375)
    assert plan.available_agents == 3


# -- AHT ------------------------------------------------------------------------------------


def test_aht__fallback_below_min_interactions() -> None:
    # 9 interactions (< 10): the measured 100 s is not trusted, the fallback 600 s is used.
    inputs = QueueInputs(arrivals_1h=6, handle_seconds_1h=900, interactions_1h=9,
                         interactions_by_channel_1h={"email": 9})  # fmt: skip
    plan = plan_queue("q", inputs, DEFAULT, NO_POLICIES)
    assert plan.aht_s == 600.0
    assert plan.aht_source == "fallback: 9 interactions in the hour, 10 needed"
    # load = 6 x 600 / 3600 = 1.0 erlang
    assert plan.offered_load_erlangs == pytest.approx(1.0)


def test_aht__measured_at_min_interactions() -> None:
    # 10 interactions (= min): AHT = 3000 / 10 = 300 s; load = 6 x 300 / 3600 = 0.5 erlang.
    inputs = QueueInputs(arrivals_1h=6, handle_seconds_1h=3000, interactions_1h=10,
                         interactions_by_channel_1h={"email": 10})  # fmt: skip
    plan = plan_queue("q", inputs, DEFAULT, NO_POLICIES)
    assert (plan.aht_s, plan.aht_source) == (300.0, "measured")
    assert plan.offered_load_erlangs == pytest.approx(0.5)


def test_aht__measured_above_min_interactions_and_configured_minimum() -> None:
    # 12 interactions, 2880 s: AHT 240 s. With min_interactions = 13 it falls back instead.
    inputs = QueueInputs(arrivals_1h=6, handle_seconds_1h=2880, interactions_1h=12,
                         interactions_by_channel_1h={"chat": 12})  # fmt: skip
    assert plan_queue("q", inputs, DEFAULT, NO_POLICIES).aht_s == 240.0
    strict = StaffingConfig(min_interactions=13, fallback_aht_s=420)
    plan = plan_queue("q", inputs, strict, NO_POLICIES)
    assert (plan.aht_s, plan.aht_source) == (
        420.0,
        "fallback: 12 interactions in the hour, 13 needed",
    )


# -- queue kind ------------------------------------------------------------------------------


def _mix(**channels: float) -> QueueInputs:
    return QueueInputs(interactions_1h=sum(channels.values()),
                       interactions_by_channel_1h=channels)  # fmt: skip


@pytest.mark.parametrize(
    ("channels", "kind", "share"),
    [
        ({"chat": 1, "phone": 1, "email": 2}, "realtime", "50%"),  # 2/4: at the 0.5 share
        ({"chat": 1, "email": 2}, "deferred", "33%"),  # 1/3: below
        ({"phone": 3, "web": 1}, "realtime", "75%"),  # 3/4: above
        ({"email": 5, "web": 5}, "deferred", "0%"),
    ],
)
def test_queue_kind__from_chat_and_phone_share(
    channels: dict[str, float], kind: str, share: str
) -> None:
    assert queue_kind("q", _mix(**channels), DEFAULT) == (
        kind,
        f"chat and phone are {share} of the hour's interactions",
    )


def test_queue_kind__realtime_share_is_configurable() -> None:
    # 3/4 = 0.75 live: real-time at share 0.75, deferred at 0.8.
    mix = _mix(chat=3, email=1)
    assert queue_kind("q", mix, StaffingConfig(realtime_share=0.75))[0] == "realtime"
    assert queue_kind("q", mix, StaffingConfig(realtime_share=0.8))[0] == "deferred"


def test_queue_kind__no_interactions_is_deferred() -> None:
    assert queue_kind("q", QueueInputs(), DEFAULT) == (
        "deferred",
        "no interactions in the last hour",
    )


def test_queue_kind__pinned_by_config() -> None:
    config = StaffingConfig(queues={"vip": QueueTarget(kind="deferred"),
                                    "hotline": QueueTarget(kind="realtime")})  # fmt: skip
    assert queue_kind("vip", _mix(chat=10), config) == ("deferred", "config")
    assert queue_kind("hotline", QueueInputs(), config) == ("realtime", "config")
    # Other queues are still detected.
    assert queue_kind("other", _mix(chat=10), config)[0] == "realtime"


# -- answer target ---------------------------------------------------------------------------

POLICIES = PolicySet(
    [
        # Listed first but for high priority only: a normal-priority ticket never gets it.
        SlaPolicy("billing-high", AlwaysOpen(), {"first_reply": 600},
                  priorities=frozenset({"high"}), queues=frozenset({"billing"})),
        SlaPolicy("billing-email", AlwaysOpen(), {"first_reply": 4 * 3600},
                  queues=frozenset({"billing"}), channels=frozenset({"email"})),
        SlaPolicy("billing-web", AlwaysOpen(), {"first_reply": 1800},
                  queues=frozenset({"billing"}), channels=frozenset({"web"})),
        SlaPolicy("returns-resolution", AlwaysOpen(), {"resolution": 86400},
                  queues=frozenset({"returns"})),
    ]
)  # fmt: skip


def test_answer_target__realtime_default_is_80_in_20() -> None:
    assert answer_target("billing", "realtime", _mix(chat=5), DEFAULT, POLICIES) == (
        0.8,
        20.0,
        "real-time queue default",
    )


@pytest.mark.parametrize(
    ("channels", "answer_s", "policy"),
    [
        # Most used deferred channel web (3 > 2): billing-web's first reply, 30 min.
        ({"web": 3, "email": 2}, 1800.0, "billing-web"),
        ({"web": 2, "email": 3}, 4 * 3600.0, "billing-email"),
        # Chat is not a deferred channel: the most used deferred one (email) decides.
        ({"chat": 9, "email": 2, "web": 1}, 4 * 3600.0, "billing-email"),
        # A tie goes to the alphabetically first channel: email before web.
        ({"web": 2, "email": 2}, 4 * 3600.0, "billing-email"),
        # No interactions: a ticket is assumed to come by email.
        ({}, 4 * 3600.0, "billing-email"),
    ],
)
def test_answer_target__deferred_uses_first_reply_of_the_normal_priority_policy(
    channels: dict[str, float], answer_s: float, policy: str
) -> None:
    assert answer_target("billing", "deferred", _mix(**channels), DEFAULT, POLICIES) == (
        0.8,
        answer_s,
        f"first_reply of SLA policy {policy!r}",
    )


def test_answer_target__deferred_without_first_reply_policy_uses_the_default() -> None:
    expected = (0.8, 3600.0, "deferred queue default")
    # A policy applies to returns but measures no first reply.
    assert answer_target("returns", "deferred", _mix(email=1), DEFAULT, POLICIES) == expected
    # No policy applies at all (and with no policies).
    assert answer_target("tech", "deferred", _mix(email=1), DEFAULT, POLICIES) == expected
    assert answer_target("billing", "deferred", _mix(), DEFAULT, NO_POLICIES) == expected
    # The configured deferred default.
    config = StaffingConfig(deferred_answer_s=7200)
    assert answer_target("tech", "deferred", _mix(), config, POLICIES)[1] == 7200.0


def test_answer_target__per_queue_override() -> None:
    config = StaffingConfig(
        service_level=0.7,
        realtime_answer_s=30,
        queues={"billing": QueueTarget(service_level=0.9, answer_s=45),
                "tech": QueueTarget(service_level=0.95)},
    )  # fmt: skip
    # The override wins over both the real-time default and the SLA policy.
    assert answer_target("billing", "realtime", _mix(chat=1), config, POLICIES) == (
        0.9,
        45.0,
        "config",
    )
    assert answer_target("billing", "deferred", _mix(web=1), config, POLICIES) == (
        0.9,
        45.0,
        "config",
    )
    # Only the level overridden: the answer time still comes from the kind.
    assert answer_target("tech", "realtime", _mix(chat=1), config, POLICIES) == (
        0.95,
        30.0,
        "real-time queue default",
    )
    # No override: the configured defaults.
    assert answer_target("sales", "realtime", _mix(chat=1), config, POLICIES) == (
        0.7,
        30.0,
        "real-time queue default",
    )


def test_plan_queue__deferred_queue_is_planned_against_its_policy_target() -> None:
    # billing, all web: deferred, answer 1800 s (billing-web). 10 interactions, 6000 s:
    # AHT 600; 12 arrivals: load = 12 x 600 / 3600 = 2.0. The occupancy cap decides:
    # ceil(2 / 0.85) = 3 agents; at 3 the service level within 1800 s is nearly 1.
    inputs = QueueInputs(arrivals_1h=12, handle_seconds_1h=6000, interactions_1h=10,
                         interactions_by_channel_1h={"web": 10})  # fmt: skip
    plan = plan_queue("billing", inputs, DEFAULT, POLICIES)
    assert (plan.kind, plan.answer_target_s) == ("deferred", 1800.0)
    assert plan.target_source == "first_reply of SLA policy 'billing-web'"
    assert plan.offered_load_erlangs == pytest.approx(2.0)
    assert plan.required_agents == 3
    assert erlang_c.occupancy(2, 2.0) > 0.85  # 2 agents would be 100% busy
    assert erlang_c.service_level(3, 2.0, 600, 1800) > 0.8


# -- the whole plan, hand-computed -----------------------------------------------------------


def _chat_queue(available: int) -> QueueInputs:
    # 60 tickets created in the hour (the arrival rate: 60/h). 40 chat interactions took
    # 9600 s: AHT = 9600 / 40 = 240 s (measured: 40 >= 10).
    return QueueInputs(arrivals_1h=60, handle_seconds_1h=9600, interactions_1h=40,
                       interactions_by_channel_1h={"chat": 40},
                       available_agents=available)  # fmt: skip


def test_plan__realtime_queue_by_hand() -> None:
    plan = plan_queue("chat", _chat_queue(available=5), DEFAULT, NO_POLICIES)
    assert (plan.kind, plan.kind_source) == (
        "realtime",
        "chat and phone are 100% of the hour's interactions",
    )
    assert (plan.service_level_target, plan.answer_target_s) == (0.8, 20.0)
    assert (plan.aht_s, plan.aht_source) == (240.0, "measured")
    # Offered load = arrivals/h x AHT / 3600 = 60 x 240 / 3600 = 4.0 erlangs (arrivals are
    # tickets created, not interactions: 40 would give 2.67).
    assert plan.offered_load_erlangs == pytest.approx(4.0)
    # Occupancy: 4 / 5 = 0.8 <= 0.85, so 5 is the first count allowed (and > A = 4). Erlang C
    # service level within 20 s, AHT 240: 5 -> 0.490, 6 -> 0.759, 7 -> 0.895: 7 is the
    # smallest meeting 80%.
    assert erlang_c.service_level(5, 4.0, 240, 20) == pytest.approx(0.4902, abs=1e-4)
    assert erlang_c.service_level(6, 4.0, 240, 20) < 0.8
    assert erlang_c.service_level(7, 4.0, 240, 20) >= 0.8
    assert plan.required_agents == 7
    # Scheduled = 7 / (1 - 0.3) = 10.
    assert plan.scheduled_agents == pytest.approx(10.0)
    assert (plan.available_agents, plan.gap_agents) == (5, 2)
    assert plan.at_required.service_level == pytest.approx(0.8948, abs=1e-4)
    assert plan.at_required.occupancy == pytest.approx(4 / 7)
    # With the 5 available: P(wait) = 0.5541, ASA = 0.5541 x 240 / (5 - 4) = 133 s.
    assert plan.at_available.agents == 5
    assert plan.at_available.service_level == pytest.approx(0.4902, abs=1e-4)
    assert plan.at_available.waiting_probability == pytest.approx(0.5541, abs=1e-4)
    assert plan.at_available.average_speed_of_answer_s == pytest.approx(132.99, abs=0.01)
    assert plan.at_available.occupancy == pytest.approx(0.8)
    assert plan.at_available.overloaded is False
    assert plan.to_dict()["overloaded"] is False


@pytest.mark.parametrize("available", [0, 3, 4])
def test_plan__overloaded_when_available_do_not_exceed_the_load(available: int) -> None:
    # Load 4.0 erlangs (see above): with 4 or fewer agents the queue grows without bound.
    plan = plan_queue("chat", _chat_queue(available=available), DEFAULT, NO_POLICIES)
    assert plan.required_agents == 7
    assert plan.gap_agents == 7 - available
    assert plan.at_available.overloaded is True
    assert plan.at_available.service_level == 0.0
    assert plan.at_available.waiting_probability == 1.0
    assert plan.at_available.average_speed_of_answer_s == math.inf
    d = plan.to_dict()
    assert d["overloaded"] is True
    assert d["at_available"]["average_speed_of_answer_seconds"] is None
    assert d["at_available"]["service_level"] == 0.0
    assert d["at_available"]["overloaded"] is True
    json.dumps(d, allow_nan=False)  # no inf left


def test_plan__zero_traffic_needs_nobody() -> None:
    inputs = QueueInputs(available_agents=3)
    plan = plan_queue("quiet", inputs, DEFAULT, NO_POLICIES)
    assert plan.offered_load_erlangs == 0.0
    assert plan.required_agents == 0
    assert plan.scheduled_agents == 0.0
    assert plan.gap_agents == -3
    assert plan.aht_s == 600.0  # fallback (0 interactions)
    assert plan.at_available.overloaded is False
    assert plan.at_available.service_level == 1.0
    assert plan.to_dict()["overloaded"] is False
    # Zero agents and zero traffic: not overloaded either.
    none = plan_queue("quiet", QueueInputs(), DEFAULT, NO_POLICIES)
    assert (none.required_agents, none.gap_agents, none.to_dict()["overloaded"]) == (0, 0, False)


def test_plan__per_queue_overrides_of_occupancy_shrinkage_and_fallback() -> None:
    # Every queue: 12 arrivals, no interactions (fallback AHT), deferred, no policy, so the
    # answer time is 3600 s and the occupancy cap is what decides.
    config = StaffingConfig(queues={
        "occ": QueueTarget(max_occupancy=0.5),
        "shrink": QueueTarget(shrinkage=0.5),
        "aht": QueueTarget(fallback_aht_s=300),
    })  # fmt: skip
    inputs = QueueInputs(arrivals_1h=12)
    base, occ, shrink, aht = (
        plan_queue(q, inputs, config, NO_POLICIES) for q in ("plain", "occ", "shrink", "aht")
    )
    # Defaults: AHT 600 -> load 12 x 600 / 3600 = 2.0; ceil(2 / 0.85) = 3; sched 3 / 0.7.
    assert (base.aht_s, base.max_occupancy, base.shrinkage) == (600.0, 0.85, 0.3)
    assert base.offered_load_erlangs == pytest.approx(2.0)
    assert base.required_agents == 3
    assert base.scheduled_agents == pytest.approx(3 / 0.7)
    # max_occupancy 0.5: 2.0 / 4 = 0.5 -> 4 agents.
    assert (occ.max_occupancy, occ.required_agents) == (0.5, 4)
    # shrinkage 0.5: still 3 required, scheduled 3 / 0.5 = 6.
    assert (shrink.shrinkage, shrink.required_agents) == (0.5, 3)
    assert shrink.scheduled_agents == pytest.approx(6.0)
    # fallback 300 s: load 12 x 300 / 3600 = 1.0; ceil(1 / 0.85) = 2 agents.
    assert aht.aht_s == 300.0
    assert aht.offered_load_erlangs == pytest.approx(1.0)
    assert aht.required_agents == 2
    assert aht.scheduled_agents == pytest.approx(2 / 0.7)


def test_plan_all__known_queues_get_zero_inputs() -> None:
    part = PartitionActivity(0, NOW, NOW, {"billing": QueueActivity(created={T0: 12})})
    plans = plan_all([part], NOW, DEFAULT, NO_POLICIES, known=["vip", "billing"])
    assert list(plans) == ["billing", "vip"]
    assert plans["billing"].inputs.arrivals_1h == 12
    vip = plans["vip"]
    assert vip.inputs == QueueInputs()
    assert (vip.required_agents, vip.available_agents, vip.gap_agents) == (0, 0, 0)
    assert vip.kind == "deferred"


def test_to_dict__every_input_and_json_safe() -> None:
    plan = plan_queue("chat", _chat_queue(available=3), DEFAULT, NO_POLICIES)
    d = plan.to_dict()
    assert d == {
        "offered_load_erlangs": pytest.approx(4.0),
        "required_agents": 7,
        "scheduled_agents": pytest.approx(10.0),
        "available_agents": 3,
        "gap_agents": 4,
        "overloaded": True,
        "arrivals_1h": 60.0,
        "interactions_1h": 40.0,
        "interactions_by_channel_1h": {"chat": 40.0},
        "handle_seconds_1h": 9600.0,
        "aht_seconds": 240.0,
        "aht_source": "measured",
        "kind": "realtime",
        "kind_source": "chat and phone are 100% of the hour's interactions",
        "target": {"service_level": 0.8, "answer_seconds": 20.0,
                   "source": "real-time queue default"},
        "max_occupancy": 0.85,
        "shrinkage": 0.3,
        "at_required": {
            "agents": 7,
            "waiting_probability": pytest.approx(0.1351, abs=1e-4),
            "service_level": pytest.approx(0.8948, abs=1e-4),
            "average_speed_of_answer_seconds": pytest.approx(10.81, abs=0.01),
            "occupancy": pytest.approx(4 / 7),
            "overloaded": False,
        },
        "at_available": {
            "agents": 3,
            "waiting_probability": 1.0,
            "service_level": 0.0,
            "average_speed_of_answer_seconds": None,
            "occupancy": 1.0,
            "overloaded": True,
        },
    }  # fmt: skip
    # Strict JSON (no NaN or Infinity), and orjson gives it back unchanged.
    json.dumps(d, allow_nan=False)
    assert orjson.loads(orjson.dumps(d)) == d


# -- records exchanged between workers -------------------------------------------------------


def _sample() -> PartitionActivity:
    return PartitionActivity(
        partition=3,
        clock_s=NOW,
        written_at_s=NOW + 0.25,
        queues={
            "tech": QueueActivity(created={T0: 2.0}, online_seen=[NOW - 30]),
            "billing": QueueActivity(
                created={FIRST: 1.0, T0: 3.0},
                handle_s={T0: 450.5},
                interactions={T0: {"chat": 2.0, "email": 1.0}},
                online_seen=[NOW - 100, NOW - 5],
            ),
        },
    )


def test_records__round_trip_through_json() -> None:
    act = _sample()
    data = act.to_dict()
    assert data["v"] == 1 and data["p"] == 3
    assert list(data["queues"]) == ["billing", "tech"]  # sorted
    assert data["queues"]["billing"]["created"] == {str(FIRST): 1.0, str(T0): 3.0}
    back = PartitionActivity.from_dict(orjson.loads(orjson.dumps(data)))
    assert back == act
    assert back.queues["billing"].interactions == {T0: {"chat": 2.0, "email": 1.0}}
    assert QueueActivity.from_dict(QueueActivity().to_dict()) == QueueActivity()
    assert QueueActivity.from_dict({}) == QueueActivity()


@pytest.mark.parametrize("version", [None, 0, 2, "1"])
def test_records__unknown_version_is_rejected(version: Any) -> None:
    data = _sample().to_dict()
    if version is None:
        del data["v"]
    else:
        data["v"] = version
    with pytest.raises(ValueError, match="unknown staffing record version"):
        PartitionActivity.from_dict(data)


def _broken(**changes: Any) -> dict[str, Any]:
    data = _sample().to_dict()
    for key, value in changes.items():
        if value is KeyError:
            del data[key]
        else:
            data[key] = value
    return data


@pytest.mark.parametrize(
    "data",
    [
        _broken(p=KeyError),
        _broken(clock_s=KeyError),
        _broken(written_at_s=None),
        _broken(p=None),
        _broken(p="three"),
        _broken(queues=["billing"]),
        _broken(queues={"billing": {"created": ["x"]}}),
        _broken(queues={"billing": {"created": {"not-a-bucket": 1}}}),
        _broken(queues={"billing": {"created": {"1": "many"}}}),
        _broken(queues={"billing": {"interactions": {"1": 5}}}),
        _broken(queues={"billing": {"online_seen": 5}}),
        _broken(queues={"billing": "x"}),
        # Non-finite or negative numbers would make every later scrape raise.
        _broken(clock_s="inf"),
        _broken(written_at_s=float("nan")),
        _broken(queues={"billing": {"created": {"1": "inf"}}}),
        _broken(queues={"billing": {"handle_s": {"1": -5}}}),
        _broken(queues={"billing": {"online_seen": ["nan"]}}),
        [1, 2],
        None,
        "p0",
        7,
    ],
)
def test_records__malformed_is_a_value_error(data: Any) -> None:
    with pytest.raises(ValueError):
        PartitionActivity.from_dict(data)


# -- partition_activity from the windowed series ---------------------------------------------


def test_partition_activity__from_windowed_series() -> None:
    clock = NOW
    first = first_bucket_kept(clock)  # 13 buckets back: one spare before the hour
    assert first == T0 - 12 * B
    windowed = {
        ("created_tickets", "billing", ""): {first - B: 7, first: 1, T0: 2, T0 - B: 0},
        ("handle_seconds_sum", "billing", "chat"): {first - B: 99, T0: 600},
        ("interactions", "billing", "chat"): {T0: 2, T0 - B: 0},
        ("interactions", "billing", "email"): {T0: 1, first: 4},
        # other metrics are no staffing input
        ("first_reply_seconds_sum", "billing", ""): {T0: 1234},
        ("solved_tickets", "sales", ""): {T0: 5},
        # a queue whose only buckets are zero or too old leaves no entry
        ("created_tickets", "quiet", ""): {T0: 0, first - B: 3},
    }
    act = partition_activity(2, clock, NOW + 1, windowed, [])
    assert (act.partition, act.clock_s, act.written_at_s) == (2, clock, NOW + 1)
    assert list(act.queues) == ["billing"]
    billing = act.queues["billing"]
    assert billing.created == {first: 1, T0: 2}
    assert billing.handle_s == {T0: 600}
    assert billing.interactions == {T0: {"chat": 2, "email": 1}, first: {"email": 4}}
    assert billing.online_seen == []


def test_partition_activity__presence_queues_pass_through_the_label() -> None:
    def label(queue: str) -> str:  # a queue cap that admitted billing and tech only
        return queue if queue in ("billing", "tech") else "other"

    agents = [
        ("online", ["billing", "x", "y"], NOW - 1),  # x and y are both "other": once
        ("online", ["z"], NOW - 2),
        ("away", ["tech"], NOW - 3),
    ]
    act = partition_activity(0, NOW, NOW, {}, agents, label)
    assert {q: a.online_seen for q, a in act.queues.items()} == {
        "billing": [NOW - 1],
        "other": [NOW - 2, NOW - 1],
    }
    got = whole_queue_inputs([act], NOW, 600)
    assert got["other"].available_agents == 2


# -- configuration ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("service_level", 0.0),
        ("service_level", 1.0),
        ("service_level", math.nan),
        ("realtime_answer_s", 0.0),
        ("deferred_answer_s", -1.0),
        ("max_occupancy", 0.0),
        ("max_occupancy", 1.01),
        ("shrinkage", -0.1),
        ("shrinkage", 1.0),
        ("fallback_aht_s", 0.0),
        ("min_interactions", 0),
        ("presence_timeout_s", 0.0),
        ("realtime_share", 0.0),
        ("realtime_share", 1.5),
    ],
)
def test_config__out_of_range_is_an_error_naming_the_setting(field: str, value: Any) -> None:
    with pytest.raises(ValueError, match=f"staffing settings out of range: {field}$"):
        StaffingConfig(**{field: value})


def test_config__boundaries_that_are_allowed_and_several_errors() -> None:
    ok = StaffingConfig(max_occupancy=1.0, shrinkage=0.0, realtime_share=1.0, min_interactions=1)
    assert (ok.max_occupancy, ok.shrinkage, ok.realtime_share) == (1.0, 0.0, 1.0)
    with pytest.raises(ValueError, match=r"out of range: service_level, shrinkage$"):
        StaffingConfig(service_level=2, shrinkage=1)
    assert StaffingConfig() == StaffingConfig(
        service_level=0.8, realtime_answer_s=20, deferred_answer_s=3600, max_occupancy=0.85,
        shrinkage=0.3, fallback_aht_s=600, min_interactions=10, presence_timeout_s=600,
        realtime_share=0.5, queues={},
    )  # fmt: skip
