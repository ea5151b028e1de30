"""SLA clocks: start, pause, stop, breach instants, policy changes, order independence."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from stream.domain.calendars import AlwaysOpen, BusinessCalendar
from stream.domain.policies import PolicySet, SlaPolicy
from stream.domain.records import TicketEvent
from stream.domain.rules import TicketRules
from stream.domain.sla_clocks import LiveClock, SlaFacts, derive_sla
from stream.domain.ticket import TicketState
from stream.domain.windows import bucket_of
from tests.helpers.events import EPOCH, created, customer, event, reply, status, ts

ALWAYS = AlwaysOpen()
URGENT = SlaPolicy("urgent", ALWAYS, {"first_reply": 600.0, "next_reply": 1200.0,
                                      "resolution": 3600.0},
                   at_risk_within_s=300.0, priorities=frozenset({"urgent"}))  # fmt: skip
DEFAULT = SlaPolicy("default", ALWAYS, {"first_reply": 3600.0, "next_reply": 7200.0,
                                        "resolution": 86400.0}, at_risk_within_s=900.0)  # fmt: skip
POLICIES = PolicySet([URGENT, DEFAULT])
DAY = 86400.0


def t_of(ev: dict[str, Any]) -> float:
    return datetime.fromisoformat(ev["occurred_at"]).timestamp()


def sla_of(events: list[dict[str, Any]], now: float, policies: PolicySet = POLICIES) -> SlaFacts:
    records = [TicketEvent.from_event(ev, t=t_of(ev), seq=i, src="", via="")
               for i, ev in enumerate(events)]  # fmt: skip
    records.sort(key=lambda r: r.order)
    return derive_sla(records, policies, now_s=ts(now), default_backlog_age_s=DAY)


def outcomes(sla: SlaFacts) -> dict[str, tuple[str, ...]]:
    """Per counted cycle (keyed clock:start event): (outcome, queue, priority)."""
    return {cycle.split(":")[1] + ":" + cycle.split(":")[2]: (key[0], key[1], key[2])
            for cycle, key in sla.counted.items()}  # fmt: skip


def by_sla(sla: SlaFacts) -> dict[str, list[tuple[str, str]]]:
    """Per clock: the sorted (outcome, queue) of its counted cycles."""
    out: dict[str, list[tuple[str, str]]] = {}
    for key in sla.counted.values():
        out.setdefault(key[3], []).append((key[0], key[1]))
    return {k: sorted(v) for k, v in out.items()}


def windows(sla: SlaFacts) -> dict[tuple[str, str, str, int], float]:
    return {(k[1], k[2], str(k[3]), int(k[4])): v for k, v in sla.contrib.items()}


def live(sla: SlaFacts) -> dict[str, LiveClock]:
    return {c.sla: c for c in sla.live}


def test_first_reply__reply_exactly_at_target_is_achieved() -> None:
    sla = sla_of([created(0, priority="urgent"), reply(600)], now=700)
    assert by_sla(sla)["first_reply"] == [("sla_achieved", "billing")]
    assert windows(sla)[("sla_achieved", "billing", "first_reply", bucket_of(ts(600)))] == 1


def test_first_reply__breaches_at_the_deadline_with_no_further_event() -> None:
    events = [created(0, priority="urgent")]
    at_deadline = sla_of(events, now=600)
    assert "first_reply" not in by_sla(at_deadline)  # elapsed == target is no breach
    clock = live(at_deadline)["first_reply"]
    assert (clock.deadline_s, clock.at_risk_s, clock.breached_s) == (ts(600), ts(300), None)
    after = sla_of(events, now=600.5)
    assert by_sla(after)["first_reply"] == [("sla_breached", "billing")]
    assert live(after)["first_reply"] == LiveClock("first_reply", ts(600), None, None)
    assert windows(after) == {("sla_breached", "billing", "first_reply", bucket_of(ts(600))): 1}
    assert after.next_deadline_s == ts(3600)  # the resolution clock is next


def test_first_reply__a_late_reply_does_not_undo_a_breach() -> None:
    sla = sla_of([created(0, priority="urgent"), reply(700)], now=800)
    assert by_sla(sla)["first_reply"] == [("sla_breached", "billing")]
    assert windows(sla)[("sla_breached", "billing", "first_reply", bucket_of(ts(600)))] == 1
    assert "first_reply" not in live(sla)


def test_first_reply__solved_before_any_reply_stops_it_achieved() -> None:
    sla = sla_of([created(0, priority="urgent"), status(100, "solved")], now=5000)
    assert by_sla(sla) == {"first_reply": [("sla_achieved", "billing")],
                           "resolution": [("sla_achieved", "billing")]}  # fmt: skip
    assert sla.live == ()
    assert sla.backlog_after_s is None


def test_resolution__pending_pauses_and_resume_continues_the_same_cycle() -> None:
    events = [created(0), reply(60), status(3600, "pending"), status(3600 + 10 * DAY, "open")]
    during = sla_of(events[:3], now=5 * DAY)
    res = live(during)["resolution"]
    assert (res.deadline_s, res.at_risk_s, res.breached_s) == (None, None, None)  # paused
    after = sla_of(events, now=3600 + 10 * DAY)
    res = live(after)["resolution"]
    assert res.deadline_s == ts(3600 + 10 * DAY + DAY - 3600)
    assert res.at_risk_s == ts(3600 + 10 * DAY + DAY - 3600 - 900)


def test_resolution__created_pending_starts_paused() -> None:
    sla = sla_of([created(0, status="pending")], now=2 * DAY)
    assert live(sla)["resolution"].deadline_s is None
    assert live(sla)["first_reply"].breached_s == ts(3600)  # first reply never pauses


def test_resolution__reopen_starts_a_new_cycle_carrying_elapsed_time() -> None:
    events = [created(0), reply(60), status(80000, "solved"), status(200000, "open")]
    sla = sla_of(events, now=200000)
    assert by_sla(sla)["resolution"] == [("sla_achieved", "billing")]
    assert live(sla)["resolution"].deadline_s == ts(200000 + DAY - 80000)


def test_resolution__reopen_past_target_breaches_at_the_reopen_instant() -> None:
    events = [created(0), reply(60), status(90000, "solved"), status(200000, "open")]
    sla = sla_of(events, now=200001)
    assert by_sla(sla)["resolution"] == [("sla_breached", "billing"), ("sla_breached", "billing")]
    assert windows(sla)[("sla_breached", "billing", "resolution", bucket_of(ts(DAY)))] == 1
    assert windows(sla)[("sla_breached", "billing", "resolution", bucket_of(ts(200000)))] == 1
    assert live(sla)["resolution"].breached_s == ts(200000)


def test_policy_change__priority_raise_tightens_the_running_clock() -> None:
    events = [created(0), event("ticket.priority_changed", 300, priority="urgent")]
    sla = sla_of(events, now=400)
    assert live(sla)["first_reply"].deadline_s == ts(600)  # measured from creation
    late = [created(0), event("ticket.priority_changed", 900, priority="urgent")]
    sla = sla_of(late, now=901)
    # Already past the new target: breached at the change, attributed to the new priority.
    # The cycle is the one started at creation: a policy change re-measures it.
    assert outcomes(sla)["first_reply:" + late[0]["event_id"]] == ("sla_breached", "billing",
                                                                 "urgent")  # fmt: skip
    assert live(sla)["first_reply"].breached_s == ts(900)


def test_policy_change__no_policy_cancels_and_a_new_cycle_starts_when_one_applies() -> None:
    billing_only = PolicySet([SlaPolicy("billing", ALWAYS, {"first_reply": 3600.0},
                                        queues=frozenset({"billing"}))])  # fmt: skip
    events = [created(0), event("ticket.queue_changed", 600, queue="sales"),
              event("ticket.queue_changed", 4000, queue="billing")]  # fmt: skip
    sla = sla_of(events, now=4001, policies=billing_only)
    assert by_sla(sla)["first_reply"] == [("sla_breached", "billing"),
                                          ("sla_cancelled", "sales")]  # fmt: skip
    assert live(sla)["first_reply"].breached_s == ts(4000)  # own start: 4000 s > 3600 s


def test_next_reply__oldest_unanswered_customer_message_starts_it() -> None:
    events = [created(0), reply(60), customer(100), customer(500), reply(1000)]
    assert live(sla_of(events[:4], now=600))["next_reply"].deadline_s == ts(100 + 7200)
    sla = sla_of(events, now=2000)
    assert by_sla(sla)["next_reply"] == [("sla_achieved", "billing")]
    assert "next_reply" not in live(sla)


def test_next_reply__message_while_solved_starts_it_at_the_reopen() -> None:
    events = [created(0), reply(60), status(100, "solved"), customer(200),
              status(5000, "open")]  # fmt: skip
    sla = sla_of(events, now=5000)
    assert live(sla)["next_reply"].deadline_s == ts(5000 + 7200)


def test_next_reply__no_clock_before_the_first_reply() -> None:
    sla = sla_of([created(0), customer(100)], now=200)
    assert set(live(sla)) == {"first_reply", "resolution"}


def test_close_unsolved__cancels_running_cycles_but_keeps_a_breach() -> None:
    events = [created(0, priority="urgent"), status(1000, "closed")]
    sla = sla_of(events, now=2000)
    assert by_sla(sla) == {"first_reply": [("sla_breached", "billing")],
                           "resolution": [("sla_cancelled", "billing")]}  # fmt: skip
    assert sla.live == ()


def test_backlog_after__uses_the_policy_resolution_target_or_the_default_age() -> None:
    assert sla_of([created(0, priority="urgent")], now=0).backlog_after_s == ts(3600)
    none = PolicySet([SlaPolicy("x", ALWAYS, {"first_reply": 60.0})])
    assert sla_of([created(0)], now=0, policies=none).backlog_after_s == ts(DAY)


# -- business calendars ----------------------------------------------------------------

OFFICE = BusinessCalendar("office", "Europe/Berlin", {d: [(9 * 60, 17 * 60)] for d in range(5)})
OFFICE_POLICIES = PolicySet([SlaPolicy("office", OFFICE, {"first_reply": 7200.0,
                                                          "resolution": 8 * 3600.0})])  # fmt: skip


def local(day: int, hour: float) -> float:
    """Seconds after EPOCH (Monday 2026-03-02 09:00 UTC = 10:00 Berlin) of a Berlin time."""
    base = datetime(2026, 3, 2, tzinfo=UTC).timestamp() - 3600  # Monday 00:00 Berlin (UTC+1)
    return base + day * DAY + hour * 3600 - EPOCH.timestamp()


def test_business_calendar__ticket_created_friday_evening_breaches_monday() -> None:
    events = [created(local(4, 16))]  # Friday 16:00: one working hour left
    sla = sla_of(events, now=local(7, 8), policies=OFFICE_POLICIES)
    fr = live(sla)["first_reply"]
    assert fr.deadline_s == ts(local(7, 10))  # Monday 10:00 Berlin
    assert fr.at_risk_s == ts(local(7, 9) + 2700)  # 15 min of business time before
    replied = sla_of([*events, reply(local(7, 9.5))], now=local(8, 0), policies=OFFICE_POLICIES)
    assert by_sla(replied)["first_reply"] == [("sla_achieved", "billing")]


def test_business_calendar__target_used_up_at_closing_breaches_when_hours_resume() -> None:
    one_hour = PolicySet([SlaPolicy("office", OFFICE, {"first_reply": 3600.0})])
    events = [created(local(4, 16))]
    sla = sla_of(events, now=local(5, 12), policies=one_hour)  # Saturday noon
    assert live(sla)["first_reply"].deadline_s == ts(local(7, 9))  # Monday 09:00, not 17:00
    assert live(sla)["first_reply"].breached_s is None
    replied_saturday = sla_of([*events, reply(local(5, 12))], now=local(8, 0), policies=one_hour)
    assert by_sla(replied_saturday)["first_reply"] == [("sla_achieved", "billing")]


def test_business_calendar__backlog_counts_business_age() -> None:
    sla = sla_of([created(local(4, 16))], now=local(4, 16), policies=OFFICE_POLICIES)
    assert sla.backlog_after_s == ts(local(7, 16))  # 1 h Friday + 7 h Monday


# -- through the ticket state: live counting, late corrections, order independence --------


def apply(state: TicketState, ev: dict[str, Any], i: int, now: float) -> None:
    state.apply(ev, t=t_of(ev), raw=b"{}", src=f"in:0:{i}", via=f"in:0:{i}", now_wall_s=0.0,
                rules=TicketRules(policies=POLICIES), now_s=ts(now))  # fmt: skip


def test_ticket_state__late_reply_corrects_the_window_but_not_the_counter() -> None:
    state = TicketState("T-1", 0)
    apply(state, created(0, priority="urgent"), 0, now=0)
    seen = state.advance(TicketRules(policies=POLICIES), ts(700))
    assert seen.new_counts == [("sla_breached", "billing", "urgent", "first_reply")]
    apply(state, reply(500), 1, now=800)  # the reply was in time, it only arrived late
    sla_window = {k: v for k, v in state.facts.contrib.items() if k[1].startswith("sla_")}
    assert sla_window == {("w", "sla_achieved", "billing", "first_reply", bucket_of(ts(500))): 1}
    breaches = [k for k in state.counted.values() if k[0] == "sla_breached"]
    assert breaches == [("sla_breached", "billing", "urgent", "first_reply")]


STORY = [
    created(0, priority="high", event_id="c"),
    reply(300, event_id="r1"),
    customer(400, event_id="m1"),
    event("ticket.priority_changed", 500, priority="urgent", event_id="p"),
    status(900, "pending", event_id="s1"),
    status(5000, "open", event_id="s2"),
    reply(5100, event_id="r2"),
    status(6000, "solved", event_id="s3"),
    customer(7000, event_id="m2"),
    status(9000, "open", event_id="s4"),
]


@settings(max_examples=60, deadline=None)
@given(order=st.permutations(range(len(STORY))), dup=st.integers(0, len(STORY) - 1))
def test_ticket_state__any_arrival_order_gives_the_same_clocks(order: list[int], dup: int) -> None:
    rules = TicketRules(policies=POLICIES)
    expected = TicketState("T-1", 0)
    for i, ev in enumerate(STORY):
        apply(expected, ev, i, now=9500)
    state = TicketState("T-1", 0)
    for n, i in enumerate([*order, order[dup]]):
        apply(state, STORY[i], 100 + n, now=9500)
    state.advance(rules, ts(9500))
    assert state.facts.contrib == expected.facts.contrib
    assert state.facts.counted == expected.facts.counted
    assert state.sla.live == expected.sla.live
    assert state.open_info == expected.open_info


def test_business_frt_and_ttr__count_the_calendar_of_the_policy_at_the_fact() -> None:
    events = [created(local(4, 16)), reply(local(7, 9.5)), status(local(7, 11), "solved")]
    sla = sla_of(events, now=local(8, 0), policies=OFFICE_POLICIES)
    w = {k[1]: v for k, v in sla.contrib.items() if "business" in k[1]}
    assert w == {"first_reply_business_seconds_sum": 3600.0 + 1800.0,  # Fri 16-17, Mon 9-9:30
                 "resolution_business_seconds_sum": 3600.0 + 2 * 3600.0}  # fmt: skip
    no_policy = sla_of(events, now=local(8, 0), policies=PolicySet([]))
    w = {k[1]: v for k, v in no_policy.contrib.items() if "business" in k[1]}
    assert w["first_reply_business_seconds_sum"] == local(7, 9.5) - local(4, 16)


# -- every cycle ends as exactly one outcome ----------------------------------------------

ONLY_BILLING = PolicySet([
    SlaPolicy("billing-urgent", ALWAYS, {"first_reply": 600.0, "next_reply": 900.0,
                                         "resolution": 3600.0},
              queues=frozenset({"billing"}), priorities=frozenset({"urgent"})),
    SlaPolicy("billing", OFFICE, {"first_reply": 3600.0, "resolution": 8 * 3600.0},
              queues=frozenset({"billing"})),
])  # fmt: skip
STEP = st.one_of(
    st.tuples(st.just("reply"), st.none()),
    st.tuples(st.just("customer"), st.none()),
    st.tuples(st.just("status"), st.sampled_from(["new", "open", "pending", "on_hold", "solved"])),
    st.tuples(st.just("priority"), st.sampled_from(["low", "normal", "high", "urgent"])),
    st.tuples(st.just("queue"), st.sampled_from(["billing", "sales"])),
)


def step_event(kind: str, value: str | None, t: float) -> dict[str, Any]:
    if kind == "reply":
        return reply(t)
    if kind == "customer":
        return customer(t)
    if kind == "status":
        return status(t, str(value))
    return event(f"ticket.{kind}_changed", t, **{kind: value})


def story_of(start: str, steps: list[tuple[str, str | None, float]], close: bool) -> list[Any]:
    events: list[Any] = [created(0, status=start, priority="urgent")]
    t = 0.0
    for kind, value, gap in steps:
        t += gap
        events.append(step_event(kind, value, t))
    if close:
        events.append(status(t + 60, "closed"))
    return events


@settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    start=st.sampled_from(["new", "open", "pending", "solved"]),
    steps=st.lists(st.tuples(STEP, st.floats(0, 2 * DAY)).map(lambda s: (*s[0], s[1])),
                   max_size=12),
    close=st.booleans(),
    later=st.floats(0, 10 * DAY),
)  # fmt: skip
def test_every_cycle__ends_as_exactly_one_of_achieved_breached_cancelled(
    start: str, steps: list[tuple[str, str | None, float]], close: bool, later: float,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    from stream.domain import sla_clocks

    started: set[str] = set()
    recorded: list[tuple[str, str]] = []
    measure, record = sla_clocks._Walk.measure, sla_clocks._Walk._record

    def spy_measure(self: Any, c: Any, t: float, cause: str) -> None:
        measure(self, c, t, cause)
        if c.cycle is not None:
            started.add(c.cycle)

    def spy_record(self: Any, c: Any, outcome: str, at_s: float) -> None:
        recorded.append((c.cycle, outcome))
        record(self, c, outcome, at_s)

    monkeypatch.setattr(sla_clocks._Walk, "measure", spy_measure)
    monkeypatch.setattr(sla_clocks._Walk, "_record", spy_record)
    events = story_of(start, steps, close)
    end = max(t_of(e) for e in events) - ts(0) + later
    sla = sla_of(events, now=end, policies=ONLY_BILLING)
    outcomes = [cycle for cycle, _ in recorded]
    assert len(outcomes) == len(set(outcomes)), recorded  # never two outcomes for a cycle
    assert set(outcomes) <= started
    live_unfinished = len(started) - len(outcomes)
    assert live_unfinished == sum(1 for c in sla.live if c.breached_s is None)
    if close or not sla.live:
        assert set(outcomes) == started  # closed or stopped: every cycle has its outcome
