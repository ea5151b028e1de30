"""The traffic generator: deterministic, time-ordered, contract-shaped, statistically sane."""

from __future__ import annotations

import math
import re
from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from stream.adapters.codec import Rejected, decode
from stream.simulate.generator import generate_events, rfc3339_ms
from stream.simulate.profile import ArrivalCurve, Profile

# A Monday 09:00 UTC: the morning peak of the default curve.
START_S = datetime(2026, 3, 2, 9, 0, tzinfo=UTC).timestamp()
TWO_HOURS_S = 2 * 3600.0

Event = dict[str, Any]

# --- a small, independent reading of the input contract (event types and fields) ---------

TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
CHANNELS = {"email", "chat", "phone", "web", "social", "api", "other"}
PRIORITIES = {"low", "normal", "high", "urgent"}
STATUSES = {"new", "open", "pending", "on_hold", "solved", "closed"}
UNSOLVED = {"new", "open", "pending", "on_hold"}
# type -> (required own fields, optional own fields)
FIELDS: dict[str, tuple[set[str], set[str]]] = {
    "ticket.created": ({"queue", "priority", "channel", "status"}, {"assignee"}),
    "ticket.assigned": ({"assignee"}, set()),
    "ticket.queue_changed": ({"queue"}, set()),
    "ticket.priority_changed": ({"priority"}, set()),
    "ticket.status_changed": ({"status"}, set()),
    "ticket.message": ({"author", "public"}, set()),
    "interaction.completed": ({"agent", "talk_seconds", "hold_seconds", "wrap_seconds"}, set()),
    "survey.csat": ({"score"}, set()),
    "survey.nps": ({"score"}, {"queue"}),
    "agent.presence": ({"agent", "status", "queues"}, set()),
}
# Where a status may go next; closed is terminal, solved -> unsolved is a reopen.
NEXT_STATUS = {s: STATUSES - {s} for s in UNSOLVED} | {"solved": UNSOLVED | {"closed"}}


def shape_problems(ev: Event) -> list[str]:
    """Every way `ev` departs from the contract (empty when it conforms)."""
    kind = ev.get("type")
    if kind not in FIELDS:
        return [f"unknown type {kind!r}"]
    required, optional = FIELDS[kind]
    needs_ticket = kind not in {"agent.presence", "survey.nps"}
    envelope = {"event_id", "type", "occurred_at"} | ({"ticket_id"} if needs_ticket else set())
    allowed = envelope | required | optional | {"ticket_id"}
    problems = [f"missing {f}" for f in (envelope | required) - ev.keys()]
    problems += [f"unexpected {f}" for f in ev.keys() - allowed]
    text = {"event_id", "ticket_id", "queue", "agent"} & ev.keys()
    problems += [f"bad {f}" for f in text if not (isinstance(ev[f], str) and 0 < len(ev[f]) <= 128)]
    if not TIMESTAMP.match(str(ev.get("occurred_at"))):
        problems.append("occurred_at is not RFC 3339 UTC with milliseconds")
    statuses = {"online", "away", "offline"} if kind == "agent.presence" else STATUSES
    top_score = 5 if kind == "survey.csat" else 10
    checks = {
        "priority": lambda v: v in PRIORITIES,
        "channel": lambda v: v in CHANNELS,
        "status": lambda v: v in statuses,
        "assignee": lambda v: v is None or (isinstance(v, str) and 0 < len(v) <= 128),
        "author": lambda v: v in {"agent", "customer"},
        "public": lambda v: isinstance(v, bool),
        "score": lambda v: type(v) is int and 0 <= v <= top_score,
        "queues": lambda v: isinstance(v, list) and v and all(isinstance(q, str) for q in v),
    }
    for seconds in ("talk_seconds", "hold_seconds", "wrap_seconds"):
        checks[seconds] = lambda v: type(v) in (int, float) and v >= 0
    problems += [f"bad {f}={ev[f]!r}" for f, ok in checks.items() if f in ev and not ok(ev[f])]
    if kind == "survey.csat" and ev.get("score") == 0:
        problems.append("csat score 0")
    return problems


# --- helpers -------------------------------------------------------------------------------


def epoch_s(ev: Event) -> float:
    return datetime.fromisoformat(ev["occurred_at"]).timestamp()


def by_ticket(events: list[Event]) -> dict[str, list[Event]]:
    tickets: dict[str, list[Event]] = defaultdict(list)
    for ev in events:
        if "ticket_id" in ev:
            tickets[ev["ticket_id"]].append(ev)
    return tickets


def expected_arrivals(curve: ArrivalCurve, start_s: float, end_s: float, per_min: float) -> float:
    """Integral of the arrival rate over [start_s, end_s], hour segment by hour segment."""
    total, t = 0.0, start_s
    while t < end_s:
        hour_end = (math.floor((t + curve.utc_offset_s) / 3600) + 1) * 3600 - curve.utc_offset_s
        seg_end = min(end_s, hour_end)
        total += per_min / 60 * curve.multiplier_at(t) * (seg_end - t)
        t = seg_end
    return total


@pytest.fixture(scope="module")
def two_hours() -> list[Event]:
    """Two hours of the morning peak at 30 tickets per minute."""
    return list(
        generate_events(seed=7, start_s=START_S, duration_s=TWO_HOURS_S, tickets_per_minute=30)
    )


# --- determinism and order -----------------------------------------------------------------


def test_generate_events__same_seed_gives_identical_events(two_hours: list[Event]) -> None:
    again = generate_events(seed=7, start_s=START_S, duration_s=TWO_HOURS_S, tickets_per_minute=30)

    assert list(again) == two_hours


def test_generate_events__different_seed_gives_different_traffic(two_hours: list[Event]) -> None:
    other = generate_events(seed=8, start_s=START_S, duration_s=TWO_HOURS_S, tickets_per_minute=30)

    def story(events: list[Event]) -> list[tuple[str, str]]:
        return [(ev["type"], ev["occurred_at"]) for ev in events]

    assert story(list(other))[:200] != story(two_hours)[:200]


def test_generate_events__a_longer_run_extends_a_shorter_one(two_hours: list[Event]) -> None:
    one_hour = list(
        generate_events(seed=7, start_s=START_S, duration_s=3600.0, tickets_per_minute=30)
    )

    assert one_hour == [ev for ev in two_hours if epoch_s(ev) <= START_S + 3600.0]


def test_generate_events__time_never_goes_backwards_nor_past_the_end(
    two_hours: list[Event],
) -> None:
    times = [epoch_s(ev) for ev in two_hours]

    assert times == sorted(times)
    assert times[0] >= START_S and times[-1] <= START_S + TWO_HOURS_S


def test_generate_events__event_ids_are_unique(two_hours: list[Event]) -> None:
    assert len({ev["event_id"] for ev in two_hours}) == len(two_hours)


def test_generate_events__ids_differ_between_runs_started_at_different_times() -> None:
    first = next(generate_events(seed=1, start_s=START_S, duration_s=60, tickets_per_minute=30))
    later = next(
        generate_events(seed=1, start_s=START_S + 60, duration_s=60, tickets_per_minute=30)
    )

    assert first["event_id"] != later["event_id"]


# --- the contract --------------------------------------------------------------------------


def test_generate_events__every_event_has_the_contract_shape(two_hours: list[Event]) -> None:
    problems = Counter(p for ev in two_hours for p in shape_problems(ev))

    assert problems == Counter()


def test_generate_events__the_codec_accepts_every_event(two_hours: list[Event]) -> None:
    rejected: Counter[str] = Counter()
    for ev in two_hours:
        result = decode(orjson.dumps(ev), now_s=START_S + TWO_HOURS_S)
        if isinstance(result, Rejected):
            rejected[f"{result.reason}: {result.detail}"] += 1

    assert rejected == Counter()


def test_generate_events__every_type_and_variant_appears_in_two_hours(
    two_hours: list[Event],
) -> None:
    kinds = {ev["type"] for ev in two_hours}
    messages = {(ev["author"], ev["public"]) for ev in two_hours if ev["type"] == "ticket.message"}
    statuses = {ev["status"] for ev in two_hours if ev["type"] == "ticket.status_changed"}
    created = [ev for ev in two_hours if ev["type"] == "ticket.created"]
    nps = [ev for ev in two_hours if ev["type"] == "survey.nps"]
    presence = [ev for ev in two_hours if ev["type"] == "agent.presence"]

    assert kinds == set(FIELDS)
    assert messages == {("agent", True), ("agent", False), ("customer", True)}
    assert statuses == STATUSES - {"new"}
    assert {ev["status"] for ev in created} >= {"new", "open", "solved", "pending"}
    assert any("assignee" in ev for ev in created)
    assert any(ev["assignee"] is None for ev in two_hours if ev["type"] == "ticket.assigned")
    assert any("ticket_id" in ev for ev in nps) and any("queue" in ev for ev in nps)
    assert {ev["status"] for ev in presence} >= {"online", "away"}  # no shift ends at 9-11
    assert any(len(ev["queues"]) > 1 for ev in presence)


def test_generate_events__agents_go_offline_when_their_shift_ends() -> None:
    shift_end_s = START_S + 5 * 3600  # 14:00: the early shift goes home, the late one arrives
    events = generate_events(
        seed=2, start_s=shift_end_s - 1800, duration_s=3600, tickets_per_minute=5
    )
    changes = Counter(ev["status"] for ev in events if ev["type"] == "agent.presence")

    assert changes["offline"] > 0 and changes["online"] > 0


# --- ticket stories ------------------------------------------------------------------------


def test_generate_events__stories_start_with_created_and_stop_at_closed(
    two_hours: list[Event],
) -> None:
    for ticket, events in by_ticket(two_hours).items():
        assert events[0]["type"] == "ticket.created", ticket
        assert sum(ev["type"] == "ticket.created" for ev in events) == 1, ticket
        closes = [i for i, ev in enumerate(events) if ev.get("status") == "closed"]
        assert closes in ([], [len(events) - 1]), ticket


def test_generate_events__statuses_move_only_along_valid_transitions(
    two_hours: list[Event],
) -> None:
    moves: Counter[tuple[str, str]] = Counter()
    for ticket, events in by_ticket(two_hours).items():
        status = events[0]["status"]
        for ev in events[1:]:
            if ev["type"] == "ticket.status_changed":
                assert ev["status"] in NEXT_STATUS.get(status, set()), (ticket, status, ev)
                moves[status, ev["status"]] += 1
                status = ev["status"]

    # The story exercises reopens, unsolved closes and pending -> open, not just the happy path.
    assert moves["solved", "open"] and moves["new", "closed"] and moves["pending", "open"]


def test_generate_events__surveys_follow_a_solve(two_hours: list[Event]) -> None:
    for ticket, events in by_ticket(two_hours).items():
        solved = False
        for ev in events:
            solved = solved or ev.get("status") == "solved"
            if ev["type"].startswith("survey."):
                assert solved, ticket


def test_generate_events__live_channels_are_answered_faster_than_email(
    two_hours: list[Event],
) -> None:
    first_reply: dict[str, list[float]] = defaultdict(list)
    for events in by_ticket(two_hours).values():
        replies = [ev for ev in events if ev.get("author") == "agent" and ev["public"]]
        if replies and events[0]["status"] == "open":
            first_reply[events[0]["channel"]].append(epoch_s(replies[0]) - epoch_s(events[0]))
        elif replies and events[0]["channel"] == "email":
            first_reply["email"].append(epoch_s(replies[0]) - epoch_s(events[0]))

    def median(values: list[float]) -> float:
        return sorted(values)[len(values) // 2]

    assert median(first_reply["chat"]) < 300 and median(first_reply["phone"]) < 300
    assert median(first_reply["email"]) > 1800


def test_generate_events__some_tickets_are_solved_at_first_contact(
    two_hours: list[Event],
) -> None:
    """Agent touches before the first solve (the contract: public replies + interactions)."""
    touches_at_solve = []
    for events in by_ticket(two_hours).values():
        touches = 0
        for ev in events:
            if ev.get("status") == "solved":
                touches_at_solve.append(touches)
                break
            is_reply = ev["type"] == "ticket.message" and ev["author"] == "agent" and ev["public"]
            touches += is_reply or ev["type"] == "interaction.completed"
    share = Counter(touches_at_solve)

    assert share[1] > 0.4 * len(touches_at_solve)
    assert sum(n for touches, n in share.items() if touches > 1) > 0


# --- arrivals ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("utc_offset_s", "start_s", "duration_s", "per_min"),
    [(0, START_S, TWO_HOURS_S, 30.0), (-5 * 3600, START_S - 5 * 3600 - 1234.5, 6 * 3600.0, 12.0)],
    ids=["morning-peak", "night-to-morning-in-new-york"],
)
def test_generate_events__arrivals_match_the_poisson_mean(
    utc_offset_s: int, start_s: float, duration_s: float, per_min: float
) -> None:
    profile = Profile(arrival=ArrivalCurve(utc_offset_s=utc_offset_s))
    events = generate_events(
        seed=3, start_s=start_s, duration_s=duration_s, tickets_per_minute=per_min, profile=profile
    )
    created = sum(ev["type"] == "ticket.created" for ev in events)
    mean = expected_arrivals(profile.arrival, start_s, start_s + duration_s, per_min)

    # A Poisson count has sd sqrt(mean); 4 sd leaves a false alarm about once in 16,000 seeds.
    assert abs(created - mean) < 4 * math.sqrt(mean)


def test_generate_events__hourly_arrivals_and_queue_shares_follow_the_profile() -> None:
    profile = Profile()
    start_s = datetime(2026, 3, 3, tzinfo=UTC).timestamp()
    per_hour: Counter[int] = Counter()
    per_queue: Counter[str] = Counter()
    for ev in generate_events(seed=5, start_s=start_s, duration_s=86400, tickets_per_minute=10):
        if ev["type"] == "ticket.created":
            per_hour[int((epoch_s(ev) - start_s) // 3600)] += 1
            per_queue[ev["queue"]] += 1
    total = sum(per_queue.values())
    shares = {q.name: q.share / sum(q.share for q in profile.queues) for q in profile.queues}

    for hour in range(24):  # 4.5 sd per hour: 24 checks still almost never false-alarm
        mean = 10 * 60 * profile.arrival.hourly[hour]
        assert abs(per_hour[hour] - mean) < 4.5 * math.sqrt(mean), hour
    for queue, share in shares.items():  # binomial given the total
        assert abs(per_queue[queue] - total * share) < 4.5 * math.sqrt(total * share * (1 - share))


# --- agents --------------------------------------------------------------------------------


def test_generate_events__online_agents_refresh_their_presence(two_hours: list[Event]) -> None:
    refresh_s = Profile().presence.refresh_s
    last: dict[str, tuple[float, str]] = {}
    gaps = []
    for ev in two_hours:
        if ev["type"] == "agent.presence":
            if ev["agent"] in last and last[ev["agent"]][1] != "offline":
                gaps.append(epoch_s(ev) - last[ev["agent"]][0])
            last[ev["agent"]] = (epoch_s(ev), ev["status"])

    assert gaps and max(gaps) <= refresh_s + 0.001
    # Everyone not offline announced themselves within the first refresh.
    first_seen: dict[str, float] = {}
    for ev in two_hours:
        if ev["type"] == "agent.presence":
            first_seen.setdefault(ev["agent"], epoch_s(ev))
    assert max(first_seen.values()) > START_S + refresh_s  # later logins exist too
    early = [t for t in first_seen.values() if t <= START_S + refresh_s]
    assert len(early) > 0.3 * len(first_seen)


def test_generate_events__assignees_are_agents_of_the_roster(two_hours: list[Event]) -> None:
    agents = {ev["agent"] for ev in two_hours if ev["type"] == "agent.presence"}
    assigned = {ev["assignee"] for ev in two_hours if ev["type"] == "ticket.assigned"} - {None}
    workers = {ev["agent"] for ev in two_hours if ev["type"] == "interaction.completed"}

    assert assigned and assigned <= agents
    assert workers <= agents


# --- edges ---------------------------------------------------------------------------------


def test_generate_events__zero_rate_gives_presence_only() -> None:
    events = list(generate_events(seed=1, start_s=START_S, duration_s=3600, tickets_per_minute=0))

    assert events and {ev["type"] for ev in events} == {"agent.presence"}


def test_generate_events__zero_duration_gives_nothing() -> None:
    assert list(generate_events(seed=1, start_s=START_S, duration_s=0, tickets_per_minute=30)) == []


@pytest.mark.parametrize(
    "kwargs",
    [
        {"duration_s": -1.0},
        {"tickets_per_minute": -1.0},
        {"tickets_per_minute": math.nan},
        {"start_s": math.inf},
    ],
)
def test_generate_events__rejects_impossible_arguments(kwargs: dict[str, float]) -> None:
    args = {"seed": 1, "start_s": START_S, "duration_s": 60.0, "tickets_per_minute": 1.0}
    with pytest.raises(ValueError):
        generate_events(**(args | kwargs))  # type: ignore[arg-type]


def test_generate_events__unbounded_run_is_lazy() -> None:
    events = generate_events(seed=1, start_s=START_S, duration_s=math.inf, tickets_per_minute=30)

    assert len([next(events) for _ in range(1000)]) == 1000


@given(st.integers(min_value=0, max_value=4_102_444_800_000))
def test_rfc3339_ms__matches_datetime(t_ms: int) -> None:
    expected = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(milliseconds=t_ms)

    assert rfc3339_ms(t_ms) == expected.isoformat(timespec="milliseconds").replace("+00:00", "Z")
