"""Deterministic synthetic support traffic: the entry points, and the run that drives it."""

from __future__ import annotations

import math
from collections.abc import Iterator
from random import Random

from stream.simulate.agent_presence import AgentPresence
from stream.simulate.draws import Picker
from stream.simulate.profile import Profile
from stream.simulate.run_state import Queue
from stream.simulate.scheduler import Event, Scheduler, rfc3339_ms
from stream.simulate.survey_responses import SurveyResponses
from stream.simulate.ticket_stories import TicketStories

# `Event` and `rfc3339_ms` moved to the scheduler; callers keep importing them from here.
__all__ = ["Event", "generate_events", "generate_timed_events", "rfc3339_ms"]


def generate_events(
    *,
    seed: int,
    start_s: float,
    duration_s: float,
    tickets_per_minute: float,
    profile: Profile | None = None,
) -> Iterator[Event]:
    """Yield synthetic events in non-decreasing `occurred_at` order.

    The same arguments always give the same events (ids included): every random choice
    comes from one `random.Random(seed)` (plus per-agent generators seeded from it), and
    no wall clock is read. Ids embed the seed and the start time, so two runs started at
    different times never collide in a processor's duplicate table.

    Args:
        seed: Seed of every random choice.
        start_s: Epoch seconds of the start; the first events come right after it.
        duration_s: Length of the run; events later than `start_s + duration_s` are not
            emitted (their tickets simply stay unsolved). `math.inf` runs forever.
        tickets_per_minute: Daily average arrival rate (the curve's multiplier is 1.0).
        profile: The traffic profile (default: `Profile()`).
    """
    return _simulation(seed, start_s, duration_s, tickets_per_minute, profile).run()


def generate_timed_events(
    *,
    seed: int,
    start_s: float,
    duration_s: float,
    tickets_per_minute: float,
    profile: Profile | None = None,
) -> Iterator[tuple[float, Event]]:
    """Like `generate_events`, but yield `(occurred_at_s, event)` so pacers need not parse."""
    return _timed(_simulation(seed, start_s, duration_s, tickets_per_minute, profile))


def _timed(sim: _Simulation) -> Iterator[tuple[float, Event]]:
    schedule = sim.schedule
    for event in sim.run():
        yield schedule.now_ms / 1000, event


def _simulation(
    seed: int, start_s: float, duration_s: float, tickets_per_minute: float, profile: Profile | None
) -> _Simulation:
    """Validate the arguments and set up a run."""
    if not math.isfinite(start_s) or not duration_s >= 0:
        raise ValueError(f"start_s must be finite and duration_s >= 0: {start_s}, {duration_s}")
    if not (math.isfinite(tickets_per_minute) and tickets_per_minute >= 0):
        raise ValueError(f"tickets_per_minute must be finite and >= 0: {tickets_per_minute}")
    start_ms = round(start_s * 1000)
    end_ms = math.inf if math.isinf(duration_s) else math.floor((start_s + duration_s) * 1000)
    return _Simulation(seed, start_ms, end_ms, tickets_per_minute, profile or Profile())


class _Simulation:
    """One run: Poisson arrivals of tickets and relationship NPS, agents' presence, stories.

    Every part pushes onto one scheduler and draws from one `random.Random(seed)` (agents
    have generators of their own), so the order in which the parts are set up below and
    the order of draws within each is what makes a seed reproducible.
    """

    def __init__(
        self, seed: int, start_ms: int, end_ms: float, tickets_per_minute: float, profile: Profile
    ) -> None:
        self._rng = Random(seed)
        self._end_s = end_ms / 1000
        tag = f"sim-{seed & 0xFFFF_FFFF_FFFF_FFFF:x}-{start_ms:x}-"
        self.schedule = Scheduler(start_ms, end_ms, tag + "e")
        self._push = self.schedule.push
        queues = {q.name: Queue(q) for q in profile.queues}
        self._queue_picker = Picker((q.name, q.share) for q in profile.queues)
        self._surveys = SurveyResponses(self.schedule, self._rng, profile.surveys)
        self._stories = TicketStories(
            self.schedule, self._rng, profile, queues, self._queue_picker, self._surveys, tag + "t"
        )
        self._hourly = profile.arrival.hourly
        self._offset_s = profile.arrival.utc_offset_s
        presence = AgentPresence(self.schedule, self._rng, profile, queues, self._queue_picker)
        presence.build_roster(seed, start_ms, tickets_per_minute)
        self._ticket_rate = tickets_per_minute / 60
        self._nps_rate = self._ticket_rate * profile.surveys.relationship_nps_per_ticket
        self._arrival_s = self._nps_s = start_ms / 1000
        self._arrive(None, start_ms, first=True)
        self._nps_arrive(None, start_ms, first=True)

    def run(self) -> Iterator[Event]:
        """Yield the run's events in time order (see `Scheduler.run`)."""
        return self.schedule.run()

    def _next_arrival_s(self, t_s: float, rate_per_s: float) -> float:
        """Next arrival of a Poisson process whose rate is `rate_per_s` x the hourly curve.

        Exact for a piecewise-constant rate by time change: one Exp(1) draw is spent
        across hour segments at each segment's rate, so no draw is wasted on quiet hours
        (unlike thinning).
        """
        if rate_per_s <= 0:
            return math.inf
        need = self._rng.expovariate(1.0)
        hourly, off = self._hourly, self._offset_s
        while t_s <= self._end_s:
            hour = math.floor((t_s + off) / 3600)
            seg_end = (hour + 1) * 3600 - off
            rate = rate_per_s * hourly[hour % 24]
            if rate > 0 and need <= rate * (seg_end - t_s):
                return t_s + need / rate
            need -= rate * (seg_end - t_s)
            t_s = seg_end
        return math.inf

    def _arrive(self, _: None, t: int, first: bool = False) -> None:
        if not first:
            self._stories.create(t)
        self._arrival_s = self._next_arrival_s(self._arrival_s, self._ticket_rate)
        if self._arrival_s <= self._end_s:
            self._push(round(self._arrival_s * 1000), self._arrive, None)

    def _nps_arrive(self, _: None, t: int, first: bool = False) -> None:
        """Relationship NPS: a survey about a queue, arriving like tickets (on the curve)."""
        if not first:
            self._surveys.relationship_nps(self._queue_picker.pick(self._rng), t)
        self._nps_s = self._next_arrival_s(self._nps_s, self._nps_rate)
        if self._nps_s <= self._end_s:
            self._push(round(self._nps_s * 1000), self._nps_arrive, None)
