"""Erlang C staffing against published worked examples, references and its own definitions.

Sources (every figure asserted below was read in one of them):

- [ErlangC] R package ErlangC 0.1.0, README (CRAN, 2024-12-05),
  https://stat.ethz.ch/CRAN/web/packages/ErlangC/readme/README.html
  It runs the inputs of Call Centre Helper's "Erlang C Formula - Made Simple With an Easy
  Worked Example" (https://www.callcentrehelper.com/erlang-c-formula-example-121281.htm:
  100 calls in 30 minutes, AHT 180 s, 80% in 20 s, max occupancy 85%, shrinkage 30%) and
  prints the figures for 11 to 14 agents. The Call Centre Helper page itself could not be
  read here, so no figure is taken from it directly.
- [Westbay] Westbay Traffic Calculators manual, "How much traffic?",
  https://erlang.com/calculatormanual/howmuchtrafficcanatrunkgrouphandle.htm
- [AL911] Footbridge "Call Calc" application note, http://www.al911.org/qos_calc.htm
- [Jones] Jones the Net, "Erlang uplift",
  http://www.jonesthenet.com/budgeting/service-levels-erlang/erlang-uplift/ and
  "24-hour Erlang overstated",
  https://jonesthenet.com/budgeting/service-levels-erlang/24-hour-erlang-overstated/
"""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from stream.domain import erlang_c
from stream.domain.erlang_c import (
    average_speed_of_answer,
    erlang_b,
    evaluate,
    occupancy,
    offered_load,
    required_agents,
    scheduled_agents,
    service_level,
    waiting_probability,
)

# -- test-only references, independent of the recursion under test -----------------------


def _erlang_b_factorial(n: int, a: float) -> float:
    """Textbook Erlang B with powers and factorials; fine for small n only."""
    return (a**n / math.factorial(n)) / sum(a**k / math.factorial(k) for k in range(n + 1))


def _erlang_c_factorial(n: int, a: float) -> float:
    """Textbook Erlang C: X / (Y + X), X = A^N/N! * N/(N-A), Y = sum_{k<N} A^k/k!."""
    x = a**n / math.factorial(n) * n / (n - a)
    y = sum(a**k / math.factorial(k) for k in range(n))
    return x / (y + x)


def _erlang_c_logspace(n: int, a: float) -> float:
    """The textbook Erlang C evaluated with logarithms (lgamma, log-sum-exp): any size."""
    logs = [k * math.log(a) - math.lgamma(k + 1) for k in range(n)]
    log_x = n * math.log(a) - math.lgamma(n + 1) + math.log(n / (n - a))
    top = max(*logs, log_x)
    y = sum(math.exp(v - top) for v in logs)
    x = math.exp(log_x - top)
    return x / (y + x)


def _sl_logspace(n: int, a: float, aht_s: float, answer_s: float) -> float:
    return 1.0 - _erlang_c_logspace(n, a) * math.exp(-(n - a) * answer_s / aht_s)


def _fewest_meeting_sl_by_reference(a: float, aht_s: float, target: float, answer_s: float) -> int:
    n = math.floor(a) + 1
    while _sl_logspace(n, a, aht_s, answer_s) < target:
        n += 1
    return n


# -- published worked examples -----------------------------------------------------------

# [ErlangC] README, calculate_agents(...)$process: for 10 erlangs (100 calls per 30 min,
# AHT 180 s) and a 20 s answer time, per agents: wait probability, service level, average
# speed of answer (s), occupancy. R prints 7 significant digits (15 for the ASA).
CCH_TABLE = [
    (11, 0.6821182, 0.3896138, 122.78127684408, 0.9090909),
    (12, 0.4493882, 0.640158, 40.4449401868444, 0.8333333),
    (13, 0.2852705, 0.7955948, 17.1162271821896, 0.7692308),
    (14, 0.1741319, 0.88835, 7.83593701177724, 0.7142857),
]


@pytest.mark.parametrize(("agents", "pw", "sl", "asa_s", "occ"), CCH_TABLE)
def test_measures__match_the_call_centre_helper_example_as_printed_by_erlangc(
    agents: int, pw: float, sl: float, asa_s: float, occ: float
) -> None:
    # Source: [ErlangC] README (CRAN), "calculate_agents" example, the $process table.
    # Tolerance: 1e-6 absolute for the 7-significant-digit figures (half a unit in the
    # last printed digit is 5e-8 for these magnitudes, so 1e-6 is loose only for printing
    # noise); 1e-9 relative for the ASA, printed with 15 digits.
    load = offered_load(100 * 2, 180)  # 100 calls per half hour = 200 per hour
    assert load == 10.0
    assert waiting_probability(agents, load) == pytest.approx(pw, abs=1e-6)
    assert service_level(agents, load, 180, 20) == pytest.approx(sl, abs=1e-6)
    assert average_speed_of_answer(agents, load, 180) == pytest.approx(asa_s, rel=1e-9)
    assert occupancy(agents, load) == pytest.approx(occ, abs=1e-6)
    ev = evaluate(agents, load, 180, 20)
    assert (ev.waiting_probability, ev.service_level, ev.occupancy) == pytest.approx(
        (pw, sl, occ), abs=1e-6
    )
    assert ev.average_speed_of_answer_s == pytest.approx(asa_s, rel=1e-9)
    assert ev.overloaded is False


def test_required_agents__call_centre_helper_example_needs_14_and_20_scheduled() -> None:
    # Source: [ErlangC] README (CRAN), calculate_agents(100 calls / 30 min, AHT 180 s,
    # 20 s, service level 0.8, max occupancy 0.85, shrinkage 0.3) prints $agents 14 and
    # $agents_shrinked 20, with wait probability 0.1741319, service level 0.88835,
    # ASA 7.83593701177724 s and occupancy 0.7142857 at 14. The table above shows why 13
    # is not enough: 0.7955948 < 0.8 while its occupancy 0.769 is within the cap.
    # Tolerances as in the test above; scheduled is compared with 1e-9 relative.
    answer = required_agents(200, 180, 0.8, 20, max_occupancy=0.85, shrinkage=0.3)
    assert answer.load_erlangs == 10.0
    assert answer.agents == 14
    assert answer.scheduled_agents == pytest.approx(20, rel=1e-9)
    assert answer.waiting_probability == pytest.approx(0.1741319, abs=1e-6)
    assert answer.service_level == pytest.approx(0.88835, abs=1e-6)
    assert answer.average_speed_of_answer_s == pytest.approx(7.83593701177724, rel=1e-9)
    assert answer.occupancy == pytest.approx(0.7142857, abs=1e-6)
    assert (answer.arrivals_per_hour, answer.aht_s, answer.target_service_level) == (200, 180, 0.8)
    assert (answer.answer_s, answer.max_occupancy, answer.shrinkage) == (20, 0.85, 0.3)
    assert scheduled_agents(14, 0.3) == pytest.approx(20, rel=1e-9)


def test_erlang_b__15_lines_carry_8_108_erlangs_at_1_percent_blocking() -> None:
    # Source: [Westbay] "How much traffic can a trunk group carry if it has been engineered
    # with 15 lines and I accept that one call in one hundred will be blocked? ... the
    # figure 8.108 will be displayed". The manual prints the load to 3 decimals, so the
    # load giving exactly 1% blocking must lie in [8.1075, 8.1085]: B is increasing in the
    # load, hence B(8.1075) <= 0.01 <= B(8.1085).
    assert erlang_b(15, 8.1075) <= 0.01 <= erlang_b(15, 8.1085)
    assert erlang_b(15, 8.108) == pytest.approx(0.01, abs=1e-5)


def test_service_level__two_call_takers_example() -> None:
    # Source: [AL911] "Entering 2 call takers handling 60-second calls arriving at a rate
    # of 30/hour shows that fewer than 8 percent of callers will wait more than 10 seconds
    # for answer ... If the calls actually take 60 seconds plus 20 seconds ... the program
    # shows that the QOS falls to 14 percent." Tolerance: the note prints whole percents,
    # so "fewer than 8" is a bound and "14" is compared after rounding to a whole percent.
    short = 1.0 - service_level(2, offered_load(30, 60), 60, 10)
    long = 1.0 - service_level(2, offered_load(30, 80), 80, 10)
    assert short < 0.08
    assert round(long * 100) == 14


def test_required_agents__average_hour_of_a_20000_call_week() -> None:
    # Source: [Jones] "Erlang uplift": 250 calls in the "average hour", AHT 330 s,
    # 80% in 30 s: "Erlang ... thinks we need 28 advisors". Their spreadsheet applies no
    # occupancy cap; 22.9 / 28 = 82% is within our default 85%, so the cap changes nothing.
    assert required_agents(250, 330, 0.8, 30).agents == 28
    # Source: [Jones] "24-hour Erlang overstated": Agents(80%, 30, 20,000 / 7 / 24, 330)
    # x 7 x 24 "gives 2,520 call-taking hours", i.e. 15 agents in each of the 168 hours.
    assert required_agents(20_000 / 7 / 24, 330, 0.8, 30).agents * 7 * 24 == 2520


# -- the recursion against the textbook formulas -----------------------------------------


@pytest.mark.parametrize("load", [0.1, 0.5, 1.0, 2.5, 7.3, 10.0, 15.0, 24.9])
def test_erlang_b_and_c__equal_the_factorial_formulas_for_small_n(load: float) -> None:
    # Tolerance 1e-12 relative: both are exact formulas; only rounding differs.
    for n in range(0, 31):
        assert erlang_b(n, load) == pytest.approx(_erlang_b_factorial(n, load), rel=1e-12)
        if n > load:
            expected = _erlang_c_factorial(n, load)
            assert waiting_probability(n, load) == pytest.approx(expected, rel=1e-12)
            assert waiting_probability(n, load) == pytest.approx(
                _erlang_c_logspace(n, load), rel=1e-10
            )


def test_erlang_b__edges() -> None:
    assert erlang_b(0, 3.0) == 1.0  # no server: everything is blocked
    assert erlang_b(5, 0.0) == 0.0
    assert erlang_b(0, 0.0) == 1.0
    assert erlang_b(1, 1.0) == 0.5  # A / (1 + A)
    assert erlang_b(10**6, 10.0) == 0.0  # underflows to zero and stops early


# -- large loads -------------------------------------------------------------------------


def test_large_loads__2000_erlangs_at_80_20_is_decided_by_the_occupancy_cap() -> None:
    # 24,000 contacts per hour of 300 s = 2000 erlangs. Expected from the definition:
    # the occupancy rule needs the smallest N with 2000 / N <= 0.85, i.e.
    # N >= 200000 / 85 = 2352.9..., so 2353 (integer arithmetic, no float ceiling); the
    # service-level rule alone, by the log-space reference, needs only a little above 2000.
    load = 2000.0
    n_occupancy = -(-200_000 // 85)
    assert n_occupancy == 2353
    assert load / 2352 > 0.85 >= load / 2353
    n_sl = _fewest_meeting_sl_by_reference(load, 300, 0.8, 20)
    assert 2000 < n_sl < 2100
    answer = required_agents(24_000, 300, 0.8, 20)
    assert answer.load_erlangs == load
    assert answer.agents == max(n_occupancy, n_sl) == 2353
    assert answer.occupancy == pytest.approx(2000 / 2353, rel=1e-12)
    assert answer.service_level >= 0.8
    assert 0.0 < answer.waiting_probability < 1e-6  # 353 spare agents: hardly anyone waits
    assert answer.waiting_probability == pytest.approx(_erlang_c_logspace(2353, load), rel=1e-9)
    assert math.isfinite(answer.average_speed_of_answer_s)
    # Just above the load: no overflow, a sane and heavily loaded queue.
    ev = evaluate(2001, load, 300, 20)
    assert 0.9 < ev.waiting_probability < 1.0
    assert 0.0 < ev.service_level < 0.1
    assert ev.average_speed_of_answer_s == pytest.approx(
        _erlang_c_logspace(2001, load) * 300 / 1, rel=1e-9
    )


def test_large_loads__500_erlangs_without_a_cap_is_decided_by_the_service_level() -> None:
    # 6000 contacts per hour of 300 s = 500 erlangs; max occupancy 1.0 leaves the service
    # level alone to decide. Expected from the log-space reference, not the recursion.
    load = 500.0
    expected = _fewest_meeting_sl_by_reference(load, 300, 0.8, 20)
    answer = required_agents(6000, 300, 0.8, 20, max_occupancy=1.0)
    assert answer.agents == expected
    assert 500 < expected < 550
    assert _sl_logspace(expected - 1, load, 300, 20) < 0.8 <= answer.service_level
    assert answer.service_level == pytest.approx(_sl_logspace(expected, load, 300, 20), rel=1e-9)
    assert answer.occupancy > 0.9  # pooling: a big queue runs its agents hot


# -- overload, zero traffic, the occupancy cap -------------------------------------------


@pytest.mark.parametrize(("agents", "load"), [(10, 10.0), (9, 10.0), (0, 0.5), (1, 1.0)])
def test_overloaded__every_contact_waits_and_none_is_answered_in_time(
    agents: int, load: float
) -> None:
    # A textbook formula gives P(wait) > 1 here (pyworkforce 0.5.1 returns 1.96); these are
    # the limits of an unstable queue instead.
    assert waiting_probability(agents, load) == 1.0
    assert service_level(agents, load, 300, 20) == 0.0
    assert average_speed_of_answer(agents, load, 300) == math.inf
    assert occupancy(agents, load) == 1.0
    ev = evaluate(agents, load, 300, 20)
    assert ev.overloaded is True
    assert (ev.waiting_probability, ev.service_level, ev.average_speed_of_answer_s) == (
        1.0,
        0.0,
        math.inf,
    )


def test_zero_arrivals__need_no_agents_and_nothing_waits() -> None:
    answer = required_agents(0, 300, 0.8, 20, shrinkage=0.3)
    assert (answer.load_erlangs, answer.agents, answer.scheduled_agents) == (0.0, 0, 0.0)
    assert (answer.waiting_probability, answer.service_level) == (0.0, 1.0)
    assert (answer.average_speed_of_answer_s, answer.occupancy) == (0.0, 0.0)
    for agents in (0, 3):
        ev = evaluate(agents, 0.0, 300, 20)
        assert ev.overloaded is False
        assert (ev.waiting_probability, ev.service_level, ev.average_speed_of_answer_s) == (
            0.0,
            1.0,
            0.0,
        )
        assert waiting_probability(agents, 0.0) == 0.0
        assert service_level(agents, 0.0, 300, 20) == 1.0
        assert average_speed_of_answer(agents, 0.0, 300) == 0.0
        assert occupancy(agents, 0.0) == 0.0


def test_required_agents__occupancy_cap_decides_when_the_answer_time_is_long() -> None:
    # 10 erlangs answered within 10 minutes: 11 agents already answer 97% in time, but
    # run at 10/11 = 91% occupancy. The cap (85%) asks for ceil(10 / 0.85) = 12.
    assert service_level(11, 10.0, 180, 600) >= 0.8
    assert occupancy(11, 10.0) > 0.85
    answer = required_agents(200, 180, 0.8, 600)
    assert answer.agents == 12
    assert answer.occupancy <= 0.85
    assert required_agents(200, 180, 0.8, 600, max_occupancy=1.0).agents == 11


def test_required_agents__occupancy_boundary_is_inclusive_despite_float_rounding() -> None:
    # 8.5 erlangs at 85%: 8.5 / 10 <= 0.85 holds, though 8.5 / 0.85 = 10.000000000000002.
    answer = required_agents(85, 360, 0.8, 3600)
    assert answer.load_erlangs == 8.5
    assert answer.agents == 10


# -- properties --------------------------------------------------------------------------


@settings(max_examples=200, deadline=None)
@given(
    load=st.floats(min_value=0.0, max_value=300.0),
    agents=st.integers(min_value=0, max_value=400),
    aht_s=st.floats(min_value=1.0, max_value=3600.0),
    answer_s=st.floats(min_value=0.0, max_value=3600.0),
)
def test_service_level__never_falls_when_an_agent_is_added(
    load: float, agents: int, aht_s: float, answer_s: float
) -> None:
    now = evaluate(agents, load, aht_s, answer_s)
    more = evaluate(agents + 1, load, aht_s, answer_s)
    assert 0.0 <= now.waiting_probability <= 1.0
    assert 0.0 <= now.service_level <= 1.0
    assert more.service_level >= now.service_level - 1e-12
    assert more.waiting_probability <= now.waiting_probability + 1e-12
    assert more.average_speed_of_answer_s <= now.average_speed_of_answer_s
    assert now.overloaded == (load > 0 and agents <= load)


@settings(max_examples=100, deadline=None)
@given(
    arrivals=st.lists(st.floats(min_value=0.0, max_value=5000.0), min_size=2, max_size=2),
    aht_s=st.floats(min_value=10.0, max_value=1200.0),
    target=st.floats(min_value=0.05, max_value=0.99),
    answer_s=st.floats(min_value=0.0, max_value=600.0),
    max_occupancy=st.floats(min_value=0.5, max_value=1.0),
)
def test_required_agents__never_fall_when_arrivals_grow(
    arrivals: list[float], aht_s: float, target: float, answer_s: float, max_occupancy: float
) -> None:
    low, high = sorted(arrivals)
    fewer = required_agents(low, aht_s, target, answer_s, max_occupancy)
    more = required_agents(high, aht_s, target, answer_s, max_occupancy)
    assert fewer.agents <= more.agents
    for answer in (fewer, more):
        if answer.agents:
            assert answer.service_level >= target
            assert answer.load_erlangs / answer.agents <= max_occupancy
            assert answer.agents > answer.load_erlangs
            # The answer is the fewest: one agent less breaks a rule.
            less = answer.agents - 1
            assert (
                less <= answer.load_erlangs
                or answer.load_erlangs / less > max_occupancy
                or service_level(less, answer.load_erlangs, aht_s, answer_s) < target
            )


# -- validation --------------------------------------------------------------------------

_GOOD = {"arrivals_per_hour": 100.0, "aht_s": 300.0, "target_service_level": 0.8,
         "answer_s": 20.0, "max_occupancy": 0.85, "shrinkage": 0.3}  # fmt: skip


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("arrivals_per_hour", -1.0, "arrivals_per_hour must be a finite number >= 0"),
        ("arrivals_per_hour", math.nan, "arrivals_per_hour must be a finite number >= 0"),
        ("arrivals_per_hour", math.inf, "arrivals_per_hour must be a finite number >= 0"),
        ("aht_s", 0.0, "aht_s must be a finite number of seconds > 0"),
        ("aht_s", -5.0, "aht_s must be a finite number of seconds > 0"),
        ("aht_s", math.nan, "aht_s must be a finite number of seconds > 0"),
        ("target_service_level", 0.0, "target_service_level must be strictly between 0 and 1"),
        ("target_service_level", 1.0, "target_service_level must be strictly between 0 and 1"),
        ("target_service_level", math.nan, "target_service_level must be strictly between"),
        ("answer_s", -1.0, "answer_s must be a finite number of seconds >= 0"),
        ("answer_s", math.nan, "answer_s must be a finite number of seconds >= 0"),
        ("max_occupancy", 0.0, r"max_occupancy must be in \(0, 1\]"),
        ("max_occupancy", 1.01, r"max_occupancy must be in \(0, 1\]"),
        ("max_occupancy", math.nan, r"max_occupancy must be in \(0, 1\]"),
        ("shrinkage", 1.0, r"shrinkage must be in \[0, 1\)"),
        ("shrinkage", -0.1, r"shrinkage must be in \[0, 1\)"),
        ("shrinkage", math.nan, r"shrinkage must be in \[0, 1\)"),
    ],
)
def test_required_agents__rejects_bad_inputs_with_a_clear_message(
    field: str, value: float, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        required_agents(**{**_GOOD, field: value})


def test_formulas__reject_bad_inputs() -> None:
    with pytest.raises(ValueError, match="agents must be an integer >= 0"):
        erlang_b(-1, 1.0)
    with pytest.raises(ValueError, match="agents must be an integer >= 0"):
        waiting_probability(2.0, 1.0)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="agents must be an integer >= 0"):
        occupancy(True, 1.0)
    with pytest.raises(ValueError, match="load_erlangs must be a finite number >= 0"):
        waiting_probability(3, math.nan)
    with pytest.raises(ValueError, match="load_erlangs must be a finite number >= 0"):
        evaluate(3, -0.5, 300, 20)
    with pytest.raises(ValueError, match="aht_s must be a finite number of seconds > 0"):
        average_speed_of_answer(3, 1.0, 0.0)
    with pytest.raises(ValueError, match="answer_s must be a finite number of seconds >= 0"):
        service_level(3, 1.0, 300, math.inf)
    with pytest.raises(ValueError, match="required must be an integer >= 0"):
        scheduled_agents(-2, 0.3)
    with pytest.raises(ValueError, match=r"shrinkage must be in \[0, 1\)"):
        scheduled_agents(10, 1.0)


def test_required_agents__guards_against_absurd_loads() -> None:
    # 10 million erlangs: more than MAX_AGENTS agents, refused instead of searched.
    with pytest.raises(ValueError, match="needs more than"):
        required_agents(1e10, 3600, 0.8, 20)
    assert erlang_c.MAX_AGENTS == 1_000_000
