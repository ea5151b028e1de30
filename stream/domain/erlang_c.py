"""Erlang C: how many agents a queue needs to answer its contacts in time.

Erlang C is the M/M/N queue: contacts arrive at random (Poisson), handle times are
exponential, nobody abandons and nobody is turned away. Real customers do give up, which
shortens the queue, so the model errs on the side of too many agents; that is the safe side
for a staffing alert, and it is why Erlang C stays the industry's reference model.

Everything is computed through the Erlang B recursion rather than the textbook formula with
``A**N / N!``: the powers and factorials overflow a float near 170 agents, while a large
support floor runs hundreds or thousands of erlangs. The recursion only ever holds a
probability, so it cannot overflow, and it is numerically stable.

When the traffic meets or exceeds the agents (N <= A) there is no steady state: the queue
grows without bound. The functions then give the limits a dashboard can show (every contact
waits, none is answered in time, the wait is infinite) instead of the meaningless numbers
the closed formula produces there. Zero traffic is the one exception: nothing arrives, so
nothing waits, even with zero agents.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Final

SECONDS_PER_HOUR: Final = 3600.0

#: Largest staff the search will consider. Far above any support floor; it only stops a
#: nonsensical input (a load of millions of erlangs) from running for minutes.
MAX_AGENTS: Final = 1_000_000


# -- the formulas -------------------------------------------------------------------------


def erlang_b(agents: int, load_erlangs: float) -> float:
    """Probability that all ``agents`` are busy when contacts that find no one are lost.

    Erlang C is derived from it (see `waiting_probability`). Computed by the recursion
    B(0) = 1, B(n) = A·B(n-1) / (n + A·B(n-1)), which stays within [0, 1] at every step and
    so works for any number of agents; it stops early once B underflows to zero, which keeps
    a very large agent count cheap.

    Raises:
        ValueError: ``agents`` is not an integer >= 0, or the load is negative or not finite.
    """
    _check_agents(agents)
    _check_load(load_erlangs)
    b = 1.0
    for n in range(1, agents + 1):
        b = load_erlangs * b / (n + load_erlangs * b)
        if b == 0.0:  # stays zero for every larger n
            break
    return b


def waiting_probability(agents: int, load_erlangs: float) -> float:
    """Probability that a contact has to wait for an agent (Erlang C).

    From Erlang B: P(wait) = N·B / (N - A·(1 - B)). Exactly 1.0 when N <= A: the queue
    then never empties, so every contact waits (the closed formula would return values
    above 1 there). Exactly 0.0 when the load is zero, whatever the agents.

    Raises:
        ValueError: ``agents`` is not an integer >= 0, or the load is negative or not finite.
    """
    _check_agents(agents)
    _check_load(load_erlangs)
    if load_erlangs == 0:
        return 0.0
    if agents <= load_erlangs:
        return 1.0
    return _erlang_c(agents, load_erlangs, erlang_b(agents, load_erlangs))


def service_level(agents: int, load_erlangs: float, aht_s: float, answer_s: float) -> float:
    """Share of contacts answered within ``answer_s`` seconds: the "80 in 20" number.

    1 - P(wait)·exp(-(N - A)·t / AHT): waits in an M/M/N queue are exponential once a
    contact has to wait. 0.0 when N <= A, where waits grow without bound; 1.0 at zero load.

    Raises:
        ValueError: An input is out of range or not finite (see `evaluate`).
    """
    _check_agents(agents)
    _check_load(load_erlangs)
    _check_aht(aht_s)
    _check_answer(answer_s)
    if load_erlangs == 0:
        return 1.0
    if agents <= load_erlangs:
        return 0.0
    pw = _erlang_c(agents, load_erlangs, erlang_b(agents, load_erlangs))
    return _service_level(pw, agents, load_erlangs, aht_s, answer_s)


def average_speed_of_answer(agents: int, load_erlangs: float, aht_s: float) -> float:
    """Mean wait of all contacts, in seconds, counting those answered at once as zero.

    P(wait)·AHT / (N - A). ``math.inf`` when N <= A (the mean wait keeps growing); 0.0 at
    zero load.

    Raises:
        ValueError: An input is out of range or not finite (see `evaluate`).
    """
    _check_agents(agents)
    _check_load(load_erlangs)
    _check_aht(aht_s)
    if load_erlangs == 0:
        return 0.0
    if agents <= load_erlangs:
        return math.inf
    pw = _erlang_c(agents, load_erlangs, erlang_b(agents, load_erlangs))
    return pw * aht_s / (agents - load_erlangs)


def occupancy(agents: int, load_erlangs: float) -> float:
    """Share of the agents' time spent handling contacts: A / N, at most 1.0.

    Capped because agents cannot be busier than all the time: above that the extra work
    piles up in the queue. With zero agents it is 1.0 if there is any load (every second of
    work is undone) and 0.0 if there is none.

    Raises:
        ValueError: ``agents`` is not an integer >= 0, or the load is negative or not finite.
    """
    _check_agents(agents)
    _check_load(load_erlangs)
    if agents == 0:
        return 1.0 if load_erlangs > 0 else 0.0
    return min(1.0, load_erlangs / agents)


def offered_load(arrivals_per_hour: float, aht_s: float) -> float:
    """Offered load in erlangs: the agents that would be busy if no contact ever waited.

    Raises:
        ValueError: Negative or non-finite arrivals, or AHT not a finite number > 0.
    """
    _check_arrivals(arrivals_per_hour)
    _check_aht(aht_s)
    return arrivals_per_hour * aht_s / SECONDS_PER_HOUR


def scheduled_agents(required: int, shrinkage: float) -> float:
    """Agents to put on the schedule so that ``required`` are actually on the queue.

    Shrinkage is the share of paid time not spent on the queue (breaks, training,
    meetings), so required / (1 - shrinkage) people must be paid. Not rounded: rounding
    up is the planner's call, and a float such as 14 / 0.7 = 20.000000000000004 would
    round up to one person too many.

    Raises:
        ValueError: ``required`` is not an integer >= 0, or shrinkage is outside [0, 1).
    """
    _check_agents(required, "required")
    if not 0 <= shrinkage < 1:  # also false for NaN
        raise ValueError(f"shrinkage must be in [0, 1), got {shrinkage!r}")
    return required / (1.0 - shrinkage)


# -- staffing -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AgentsEvaluation:
    """How a queue fares with a given number of agents (for example those online now).

    Attributes:
        agents: The agents evaluated.
        load_erlangs: Offered load.
        waiting_probability: Share of contacts that wait (1.0 when overloaded).
        service_level: Share answered within the answer time (0.0 when overloaded).
        average_speed_of_answer_s: Mean wait in seconds (``math.inf`` when overloaded).
        occupancy: Share of agent time busy, at most 1.0.
        overloaded: The load meets or exceeds the agents, so the queue grows without bound;
            never true at zero load.
    """

    agents: int
    load_erlangs: float
    waiting_probability: float
    service_level: float
    average_speed_of_answer_s: float
    occupancy: float
    overloaded: bool


@dataclass(frozen=True, slots=True)
class StaffingAnswer:
    """The agents a queue needs for its target, with the inputs it was derived from.

    The inputs travel with the answer so that a dashboard or an audit can show why a
    number of agents was asked for.

    Attributes:
        arrivals_per_hour: Contacts offered per hour.
        aht_s: Average handle time in seconds (talk plus wrap-up).
        target_service_level: Share of contacts to answer within ``answer_s``.
        answer_s: The answer time of the target.
        max_occupancy: Busiest share of time an agent may be planned at.
        shrinkage: Share of paid time not on the queue.
        load_erlangs: Offered load.
        agents: The required agents: fewest meeting both the service level and the
            occupancy cap; 0 when nothing arrives.
        scheduled_agents: ``agents`` grossed up for shrinkage (see `scheduled_agents`).
        waiting_probability: At the required agents.
        service_level: At the required agents.
        average_speed_of_answer_s: At the required agents, in seconds.
        occupancy: At the required agents.
    """

    arrivals_per_hour: float
    aht_s: float
    target_service_level: float
    answer_s: float
    max_occupancy: float
    shrinkage: float
    load_erlangs: float
    agents: int
    scheduled_agents: float
    waiting_probability: float
    service_level: float
    average_speed_of_answer_s: float
    occupancy: float


def evaluate(agents: int, load_erlangs: float, aht_s: float, answer_s: float) -> AgentsEvaluation:
    """Every Erlang C measure of a queue with ``agents`` agents, in one pass.

    One Erlang B recursion serves all the measures, instead of one per measure.

    Raises:
        ValueError: ``agents`` is not an integer >= 0; the load is negative; AHT is not
            > 0; the answer time is negative; or any of them is not finite (NaN, inf).
    """
    _check_agents(agents)
    _check_load(load_erlangs)
    _check_aht(aht_s)
    _check_answer(answer_s)
    occ = occupancy(agents, load_erlangs)
    if load_erlangs == 0:
        return AgentsEvaluation(agents, load_erlangs, 0.0, 1.0, 0.0, occ, overloaded=False)
    if agents <= load_erlangs:
        return AgentsEvaluation(agents, load_erlangs, 1.0, 0.0, math.inf, occ, overloaded=True)
    pw = _erlang_c(agents, load_erlangs, erlang_b(agents, load_erlangs))
    return AgentsEvaluation(
        agents=agents,
        load_erlangs=load_erlangs,
        waiting_probability=pw,
        service_level=_service_level(pw, agents, load_erlangs, aht_s, answer_s),
        average_speed_of_answer_s=pw * aht_s / (agents - load_erlangs),
        occupancy=occ,
        overloaded=False,
    )


def required_agents(
    arrivals_per_hour: float,
    aht_s: float,
    target_service_level: float,
    answer_s: float,
    max_occupancy: float = 0.85,
    shrinkage: float = 0.0,
) -> StaffingAnswer:
    """Fewest agents that answer ``target_service_level`` of contacts within ``answer_s``.

    The answer must also keep occupancy at or below ``max_occupancy``: a plan that meets
    the service level only by keeping people busy 95% of the time burns them out, and with
    a long answer time (email answered within hours) the cap, not the service level, is
    what decides. With zero arrivals the answer is 0 agents.

    The search starts at the larger of the fewest agents within the occupancy cap and
    floor(A) + 1 (the fewest with a finite queue), then adds one agent at a time; the
    service level only grows with agents, so the first that meets it is the answer. Erlang
    B is carried from one count to the next, so each step costs O(1) after an O(N) start,
    which keeps loads of thousands of erlangs fast.

    Args:
        arrivals_per_hour: Contacts offered per hour, >= 0.
        aht_s: Average handle time in seconds, > 0.
        target_service_level: Share to answer in time, strictly between 0 and 1 (0.8).
        answer_s: Answer time of the target in seconds, >= 0 (20).
        max_occupancy: Occupancy cap, in (0, 1].
        shrinkage: Share of paid time off the queue, in [0, 1); only affects
            ``scheduled_agents``.

    Raises:
        ValueError: An input is out of range or not finite, or the load would need more
            than `MAX_AGENTS` agents.
    """
    load = offered_load(arrivals_per_hour, aht_s)
    if not 0 < target_service_level < 1:  # also false for NaN
        raise ValueError(
            f"target_service_level must be strictly between 0 and 1, got {target_service_level!r}"
        )
    _check_answer(answer_s)
    if not 0 < max_occupancy <= 1:
        raise ValueError(f"max_occupancy must be in (0, 1], got {max_occupancy!r}")
    if not 0 <= shrinkage < 1:
        raise ValueError(f"shrinkage must be in [0, 1), got {shrinkage!r}")
    agents, pw = _search(load, aht_s, target_service_level, answer_s, max_occupancy)
    at = _measures(agents, load, aht_s, answer_s, pw)
    return StaffingAnswer(
        arrivals_per_hour=arrivals_per_hour,
        aht_s=aht_s,
        target_service_level=target_service_level,
        answer_s=answer_s,
        max_occupancy=max_occupancy,
        shrinkage=shrinkage,
        load_erlangs=load,
        agents=agents,
        scheduled_agents=scheduled_agents(agents, shrinkage),
        waiting_probability=at.waiting_probability,
        service_level=at.service_level,
        average_speed_of_answer_s=at.average_speed_of_answer_s,
        occupancy=at.occupancy,
    )


# -- internals ----------------------------------------------------------------------------


def _erlang_c(agents: int, load: float, b: float) -> float:
    # Only for agents > load > 0, where the denominator is > agents - load > 0. min():
    # the exact value is <= 1 (as B <= 1), rounding must not push it over.
    return min(1.0, agents * b / (agents - load * (1.0 - b)))


def _service_level(pw: float, agents: int, load: float, aht_s: float, answer_s: float) -> float:
    return 1.0 - pw * math.exp(-(agents - load) * answer_s / aht_s)


def _measures(
    agents: int, load: float, aht_s: float, answer_s: float, pw: float
) -> AgentsEvaluation:
    if load == 0:
        return AgentsEvaluation(agents, load, 0.0, 1.0, 0.0, 0.0, overloaded=False)
    return AgentsEvaluation(
        agents=agents,
        load_erlangs=load,
        waiting_probability=pw,
        service_level=_service_level(pw, agents, load, aht_s, answer_s),
        average_speed_of_answer_s=pw * aht_s / (agents - load),
        occupancy=min(1.0, load / agents),
        overloaded=False,
    )


def _search(
    load: float, aht_s: float, target: float, answer_s: float, max_occupancy: float
) -> tuple[int, float]:
    """(required agents, P(wait) at them); see `required_agents`."""
    if load == 0:
        return 0, 0.0
    n = max(_fewest_within_occupancy(load, max_occupancy), math.floor(load) + 1)
    if n > MAX_AGENTS:
        raise ValueError(f"offered load of {load:g} erlangs needs more than {MAX_AGENTS} agents")
    b = erlang_b(n, load)
    while True:
        pw = _erlang_c(n, load, b)
        if _service_level(pw, n, load, aht_s, answer_s) >= target:
            return n, pw
        if n >= MAX_AGENTS:
            raise ValueError(
                f"offered load of {load:g} erlangs needs more than {MAX_AGENTS} agents"
            )
        n += 1
        b = load * b / (n + load * b)


def _fewest_within_occupancy(load: float, max_occupancy: float) -> int:
    """Smallest n >= 1 with load / n <= max_occupancy, exactly as that test is written.

    ceil(load / max_occupancy) alone can be one too many: 8.5 / 0.85 is 10.000000000000002
    in floating point, yet 8.5 / 10 <= 0.85 holds. The two loops correct for that.
    """
    n = max(1, math.ceil(load / max_occupancy))
    while n > 1 and load / (n - 1) <= max_occupancy:
        n -= 1
    while load / n > max_occupancy:
        n += 1
    return n


def _check_agents(agents: int, name: str = "agents") -> None:
    # bool is an int subclass, but True agents is a bug upstream, not one agent.
    if isinstance(agents, bool) or not isinstance(agents, int) or agents < 0:
        raise ValueError(f"{name} must be an integer >= 0, got {agents!r}")


def _check_load(load_erlangs: float) -> None:
    if not (math.isfinite(load_erlangs) and load_erlangs >= 0):
        raise ValueError(f"load_erlangs must be a finite number >= 0, got {load_erlangs!r}")


def _check_arrivals(arrivals_per_hour: float) -> None:
    if not (math.isfinite(arrivals_per_hour) and arrivals_per_hour >= 0):
        raise ValueError(
            f"arrivals_per_hour must be a finite number >= 0, got {arrivals_per_hour!r}"
        )


def _check_aht(aht_s: float) -> None:
    if not (math.isfinite(aht_s) and aht_s > 0):
        raise ValueError(f"aht_s must be a finite number of seconds > 0, got {aht_s!r}")


def _check_answer(answer_s: float) -> None:
    if not (math.isfinite(answer_s) and answer_s >= 0):
        raise ValueError(f"answer_s must be a finite number of seconds >= 0, got {answer_s!r}")


__all__ = [
    "MAX_AGENTS",
    "SECONDS_PER_HOUR",
    "AgentsEvaluation",
    "StaffingAnswer",
    "average_speed_of_answer",
    "erlang_b",
    "evaluate",
    "occupancy",
    "offered_load",
    "required_agents",
    "scheduled_agents",
    "service_level",
    "waiting_probability",
]
