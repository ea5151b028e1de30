"""Live staffing per queue: the whole queue's inputs, its answer target, and Erlang C.

A worker owns only some partitions, so it sees part of each queue's arrivals, handle time
and agents. Erlang C is not additive, so the partial inputs of every partition are brought
together first (see `PartitionActivity` and `whole_queue_inputs`) and the staffing model is
run once on the sum. Everything here is pure: the wiring moves the partials between
workers and exports the answers.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final, Literal

from stream.domain import erlang_c
from stream.domain.policies import PolicySet
from stream.domain.windows import bucket_of, trailing_range

#: Channels served live: a queue mostly fed by them is staffed to answer in seconds.
REALTIME_CHANNELS: Final = frozenset({"chat", "phone"})
#: The trailing window staffing is computed from (SPEC: the trailing hour).
STAFFING_WINDOW_S: Final = 3600

QueueKind = Literal["realtime", "deferred"]


@dataclass(frozen=True, slots=True)
class QueueTarget:
    """What one queue is configured with; None falls back to the defaults."""

    service_level: float | None = None
    answer_s: float | None = None
    kind: QueueKind | None = None
    fallback_aht_s: float | None = None
    max_occupancy: float | None = None
    shrinkage: float | None = None


@dataclass(frozen=True, slots=True)
class StaffingConfig:
    """Staffing defaults (SPEC section 6) and per-queue overrides.

    Attributes:
        service_level: Share of contacts to answer within the answer time (0.8 = 80%).
        realtime_answer_s: Answer time of chat and phone queues (80% in 20 s).
        deferred_answer_s: Answer time of a queue that is not real-time and has no SLA
            policy with a first-reply target (otherwise that target is the answer time).
        max_occupancy: Busiest share of time an agent is planned at; above it people burn out.
        shrinkage: Share of paid time not on the queue (breaks, training, meetings).
        fallback_aht_s: Handle time used while a queue has too few interactions in the hour.
        min_interactions: Interactions in the trailing hour needed to trust the measured AHT.
        presence_timeout_s: An agent whose presence is older than this stops counting.
        realtime_share: Share of chat and phone interactions that makes a queue real-time.
        queues: Per-queue overrides by queue name.
    """

    service_level: float = 0.80
    realtime_answer_s: float = 20.0
    deferred_answer_s: float = 3600.0
    max_occupancy: float = 0.85
    shrinkage: float = 0.30
    fallback_aht_s: float = 600.0
    min_interactions: int = 10
    presence_timeout_s: float = 600.0
    realtime_share: float = 0.5
    queues: Mapping[str, QueueTarget] = field(default_factory=dict)

    def __post_init__(self) -> None:
        checks = {
            "service_level": 0 < self.service_level < 1,
            "realtime_answer_s": self.realtime_answer_s > 0,
            "deferred_answer_s": self.deferred_answer_s > 0,
            "max_occupancy": 0 < self.max_occupancy <= 1,
            "shrinkage": 0 <= self.shrinkage < 1,
            "fallback_aht_s": self.fallback_aht_s > 0,
            "min_interactions": self.min_interactions >= 1,
            "presence_timeout_s": self.presence_timeout_s > 0,
            "realtime_share": 0 < self.realtime_share <= 1,
        }
        bad = [name for name, ok in checks.items() if not ok]
        if bad:
            raise ValueError(f"staffing settings out of range: {', '.join(bad)}")


# -- partial inputs of one partition ------------------------------------------------------


@dataclass(slots=True)
class QueueActivity:
    """One partition's share of a queue: per 5-minute bucket, and its online agents.

    Buckets rather than a trailing sum: workers whose clocks differ (each partition has its
    own stream time in a replay) would otherwise sum windows that end at different instants.
    """

    created: dict[int, float] = field(default_factory=dict)
    handle_s: dict[int, float] = field(default_factory=dict)
    # bucket -> channel -> interactions
    interactions: dict[int, dict[str, float]] = field(default_factory=dict)
    # When each online agent serving the queue last reported (event time).
    online_seen: list[float] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON types (bucket keys as strings)."""
        return {
            "created": {str(b): n for b, n in self.created.items()},
            "handle_s": {str(b): n for b, n in self.handle_s.items()},
            "interactions": {str(b): dict(c) for b, c in self.interactions.items()},
            "online_seen": list(self.online_seen),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> QueueActivity:
        """Inverse of :meth:`to_dict`."""
        return cls(
            created={int(b): _number(n) for b, n in data.get("created", {}).items()},
            handle_s={int(b): _number(n) for b, n in data.get("handle_s", {}).items()},
            interactions={int(b): {str(c): _number(n) for c, n in chans.items()}
                          for b, chans in data.get("interactions", {}).items()},
            online_seen=[_number(t) for t in data.get("online_seen", [])],
        )  # fmt: skip


@dataclass(slots=True)
class PartitionActivity:
    """What one partition contributes to staffing, as published for every worker to read.

    Attributes:
        partition: The input partition.
        clock_s: The partition's processing clock when it was taken (stream time with the
            event clock, else the wall clock).
        written_at_s: Wall-clock time it was published; a partition nobody has published
            for a while belongs to a worker that is gone.
        queues: Activity per queue label.
    """

    partition: int
    clock_s: float
    written_at_s: float
    queues: dict[str, QueueActivity] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON types, for the staffing topic."""
        return {"v": 1, "p": self.partition, "clock_s": self.clock_s,
                "written_at_s": self.written_at_s,
                "queues": {q: a.to_dict() for q, a in sorted(self.queues.items())}}  # fmt: skip

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> PartitionActivity:
        """Inverse of :meth:`to_dict`.

        Raises:
            ValueError: Not a partition activity record of a known version.
        """
        if not isinstance(data, Mapping):
            raise ValueError(f"malformed staffing record: not an object but {type(data).__name__}")
        if data.get("v") != 1:
            raise ValueError(f"unknown staffing record version {data.get('v')!r}")
        try:
            return cls(int(data["p"]), _number(data["clock_s"]), _number(data["written_at_s"]),
                       {str(q): QueueActivity.from_dict(a)
                        for q, a in data.get("queues", {}).items()})  # fmt: skip
        except (KeyError, TypeError, AttributeError) as exc:
            raise ValueError(f"malformed staffing record: {exc}") from exc


def _number(value: Any) -> float:
    """A finite, non-negative number from a record; anything else makes the record invalid.

    Records cross processes through a topic anyone with access can write to: a NaN or an
    infinity would otherwise surface later as an exception in every scrape.
    """
    x = float(value)
    if not (math.isfinite(x) and x >= 0):
        raise ValueError(f"not a finite, non-negative number: {value!r}")
    return x


def first_bucket_kept(clock_s: float) -> int:
    """Oldest bucket a partition publishes: one more than the trailing hour needs.

    The spare bucket covers a reader whose clock is a little behind the writer's.
    """
    return bucket_of(clock_s) - STAFFING_WINDOW_S


def partition_activity(
    partition: int,
    clock_s: float,
    written_at_s: float,
    windowed: Mapping[tuple[str, str, str], Mapping[int, float]],
    agents: Iterable[tuple[str, Iterable[str], float]],
    label: Callable[[str], str] = str,
) -> PartitionActivity:
    """One partition's staffing activity from its window buckets and its agents' presence.

    Args:
        partition: The input partition.
        clock_s: Its processing clock.
        written_at_s: Wall-clock time now.
        windowed: The partition's window series, (metric, queue, channel) -> bucket -> value.
        agents: (status, queues, last seen) of each agent whose presence is kept here.
        label: Maps a queue name from a presence event to its label (the queue cap).
    """
    first = first_bucket_kept(clock_s)
    out = PartitionActivity(partition, clock_s, written_at_s)
    for (metric, queue, channel), series in windowed.items():
        if metric not in _STAFFING_SERIES:
            continue
        recent = {b: n for b, n in series.items() if b >= first and n}
        if not recent:
            continue
        act = out.queues.setdefault(queue, QueueActivity())
        if metric == "created_tickets":
            _add_into(act.created, recent)
        elif metric == "handle_seconds_sum":
            _add_into(act.handle_s, recent)
        else:
            for b, n in recent.items():
                chans = act.interactions.setdefault(b, {})
                chans[channel] = chans.get(channel, 0.0) + n
    for status, queues, seen in agents:
        if status != "online":
            continue
        for name in dict.fromkeys(label(q) for q in queues):  # once per queue label
            out.queues.setdefault(name, QueueActivity()).online_seen.append(seen)
    for act in out.queues.values():
        act.online_seen.sort()
    return out


_STAFFING_SERIES: Final = frozenset({"created_tickets", "handle_seconds_sum", "interactions"})


def _add_into(into: dict[int, float], values: Mapping[int, float]) -> None:
    for b, n in values.items():
        into[b] = into.get(b, 0.0) + n


# -- whole-queue inputs -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class QueueInputs:
    """A whole queue's trailing-hour inputs, summed over every partition."""

    arrivals_1h: float = 0.0
    handle_seconds_1h: float = 0.0
    interactions_1h: float = 0.0
    interactions_by_channel_1h: Mapping[str, float] = field(default_factory=dict)
    available_agents: int = 0


def whole_queue_inputs(
    partials: Iterable[PartitionActivity], now_s: float, presence_timeout_s: float
) -> dict[str, QueueInputs]:
    """Sum the partitions' activity into each queue's trailing-hour inputs at ``now_s``.

    An agent is in exactly one partition (its presence is keyed by agent), so online
    counts add up; one serving two queues counts for both (each queue could be served by
    them). An agent counts while their last presence is at most ``presence_timeout_s``
    old: a laptop closed without signing out stops counting by itself.
    """
    first, last = trailing_range(now_s, STAFFING_WINDOW_S)
    oldest_seen = now_s - presence_timeout_s
    sums: dict[str, dict[str, Any]] = {}
    for part in partials:
        for queue, act in part.queues.items():
            s = sums.setdefault(queue, {"arrivals": 0.0, "handle": 0.0, "channels": {},
                                        "available": 0})  # fmt: skip
            s["arrivals"] += sum(n for b, n in act.created.items() if first <= b <= last)
            s["handle"] += sum(n for b, n in act.handle_s.items() if first <= b <= last)
            for b, chans in act.interactions.items():
                if first <= b <= last:
                    for channel, n in chans.items():
                        s["channels"][channel] = s["channels"].get(channel, 0.0) + n
            s["available"] += sum(1 for t in act.online_seen if t >= oldest_seen)
    return {
        queue: QueueInputs(
            arrivals_1h=s["arrivals"],
            handle_seconds_1h=s["handle"],
            interactions_1h=sum(s["channels"].values()),
            interactions_by_channel_1h=dict(sorted(s["channels"].items())),
            available_agents=s["available"],
        )
        for queue, s in sorted(sums.items())
    }


# -- the answer ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class QueueStaffing:
    """Required and available agents of one queue, with every input used (for audits)."""

    queue: str
    inputs: QueueInputs
    kind: QueueKind
    kind_source: str
    service_level_target: float
    answer_target_s: float
    target_source: str
    aht_s: float
    aht_source: str
    max_occupancy: float
    shrinkage: float
    offered_load_erlangs: float
    required_agents: int
    scheduled_agents: float
    available_agents: int
    gap_agents: int
    at_required: erlang_c.AgentsEvaluation
    at_available: erlang_c.AgentsEvaluation

    def to_dict(self) -> dict[str, Any]:
        """The /api/staffing entry of the queue (infinity as None: JSON has no inf)."""

        def evaluation(ev: erlang_c.AgentsEvaluation) -> dict[str, Any]:
            return {
                "agents": ev.agents,
                "waiting_probability": ev.waiting_probability,
                "service_level": ev.service_level,
                "average_speed_of_answer_seconds": _finite(ev.average_speed_of_answer_s),
                "occupancy": ev.occupancy,
                "overloaded": ev.overloaded,
            }

        i = self.inputs
        return {
            "offered_load_erlangs": self.offered_load_erlangs,
            "required_agents": self.required_agents,
            "scheduled_agents": self.scheduled_agents,
            "available_agents": self.available_agents,
            "gap_agents": self.gap_agents,
            "overloaded": self.at_available.overloaded and self.offered_load_erlangs > 0,
            "arrivals_1h": i.arrivals_1h,
            "interactions_1h": i.interactions_1h,
            "interactions_by_channel_1h": dict(i.interactions_by_channel_1h),
            "handle_seconds_1h": i.handle_seconds_1h,
            "aht_seconds": self.aht_s,
            "aht_source": self.aht_source,
            "kind": self.kind,
            "kind_source": self.kind_source,
            "target": {
                "service_level": self.service_level_target,
                "answer_seconds": self.answer_target_s,
                "source": self.target_source,
            },
            "max_occupancy": self.max_occupancy,
            "shrinkage": self.shrinkage,
            "at_required": evaluation(self.at_required),
            "at_available": evaluation(self.at_available),
        }


def _finite(x: float) -> float | None:
    return x if math.isfinite(x) else None


def queue_kind(queue: str, inputs: QueueInputs, config: StaffingConfig) -> tuple[QueueKind, str]:
    """Real-time (chat, phone) or deferred (email, web...), and why."""
    pinned = config.queues.get(queue, QueueTarget()).kind
    if pinned is not None:
        return pinned, "config"
    total = inputs.interactions_1h
    if not total:
        return "deferred", "no interactions in the last hour"
    live = sum(n for c, n in inputs.interactions_by_channel_1h.items() if c in REALTIME_CHANNELS)
    share = live / total
    kind: QueueKind = "realtime" if share >= config.realtime_share else "deferred"
    return kind, f"chat and phone are {share:.0%} of the hour's interactions"


def answer_target(
    queue: str, kind: QueueKind, inputs: QueueInputs, config: StaffingConfig,
    policies: PolicySet,
) -> tuple[float, float, str]:  # fmt: skip
    """(service level, answer seconds, source) of a queue, per SPEC section 6.

    Chat and phone queues: 80% within 20 s. Other queues answer within their first-reply
    target: that of the SLA policy a normal-priority ticket of the queue, on its most used
    deferred channel, would get. The target is taken as plain seconds even when the
    policy counts business hours: staffing is planned for the hours the queue is open.
    """
    own = config.queues.get(queue, QueueTarget())
    level = own.service_level if own.service_level is not None else config.service_level
    if own.answer_s is not None:
        return level, own.answer_s, "config"
    if kind == "realtime":
        return level, config.realtime_answer_s, "real-time queue default"
    deferred = {c: n for c, n in inputs.interactions_by_channel_1h.items()
                if c not in REALTIME_CHANNELS and n > 0}  # fmt: skip
    channel = max(sorted(deferred), key=lambda c: deferred[c]) if deferred else "email"
    policy = policies.select(queue, "normal", channel)
    if policy is not None and "first_reply" in policy.targets:
        return level, policy.targets["first_reply"], f"first_reply of SLA policy {policy.name!r}"
    return level, config.deferred_answer_s, "deferred queue default"


def plan_queue(
    queue: str, inputs: QueueInputs, config: StaffingConfig, policies: PolicySet
) -> QueueStaffing:
    """Run Erlang C on one queue's whole inputs."""
    own = config.queues.get(queue, QueueTarget())
    kind, kind_source = queue_kind(queue, inputs, config)
    level, answer_s, target_source = answer_target(queue, kind, inputs, config, policies)
    fallback = own.fallback_aht_s if own.fallback_aht_s is not None else config.fallback_aht_s
    if inputs.interactions_1h >= config.min_interactions:
        aht_s = inputs.handle_seconds_1h / inputs.interactions_1h
        aht_source = "measured"
    else:
        aht_s = fallback
        aht_source = (f"fallback: {inputs.interactions_1h:g} interactions in the hour, "
                      f"{config.min_interactions} needed")  # fmt: skip
    aht_s = max(aht_s, 1.0)  # a zero-second handle time would make the load meaningless
    occupancy = own.max_occupancy if own.max_occupancy is not None else config.max_occupancy
    shrinkage = own.shrinkage if own.shrinkage is not None else config.shrinkage
    answer = erlang_c.required_agents(
        arrivals_per_hour=inputs.arrivals_1h, aht_s=aht_s, target_service_level=level,
        answer_s=answer_s, max_occupancy=occupancy, shrinkage=shrinkage,
    )  # fmt: skip
    available = inputs.available_agents
    return QueueStaffing(
        queue=queue,
        inputs=inputs,
        kind=kind,
        kind_source=kind_source,
        service_level_target=level,
        answer_target_s=answer_s,
        target_source=target_source,
        aht_s=aht_s,
        aht_source=aht_source,
        max_occupancy=occupancy,
        shrinkage=shrinkage,
        offered_load_erlangs=answer.load_erlangs,
        required_agents=answer.agents,
        scheduled_agents=answer.scheduled_agents,
        available_agents=available,
        gap_agents=answer.agents - available,
        at_required=erlang_c.evaluate(answer.agents, answer.load_erlangs, aht_s, answer_s),
        at_available=erlang_c.evaluate(available, answer.load_erlangs, aht_s, answer_s),
    )


def plan_all(
    partials: Iterable[PartitionActivity],
    now_s: float,
    config: StaffingConfig,
    policies: PolicySet,
    known: Iterable[str] = (),
) -> dict[str, QueueStaffing]:
    """Staffing of every queue seen in any partition, and of the ``known`` ones, at ``now_s``.

    A known queue with nothing in the hour gets zero inputs (and needs no agents) rather than
    no answer, so its series stay exported instead of flickering out.
    """
    inputs = whole_queue_inputs(partials, now_s, config.presence_timeout_s)
    for queue in known:
        inputs.setdefault(queue, QueueInputs())
    return {queue: plan_queue(queue, inputs[queue], config, policies) for queue in sorted(inputs)}


__all__ = [
    "PartitionActivity",
    "QueueActivity",
    "QueueInputs",
    "QueueStaffing",
    "QueueTarget",
    "StaffingConfig",
    "partition_activity",
    "plan_all",
    "plan_queue",
    "whole_queue_inputs",
]
