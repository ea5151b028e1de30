"""Agent presence: a roster staffed to load, daily shifts with breaks, and heartbeats."""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator
from random import Random

from stream.simulate import event_bodies as bodies
from stream.simulate.draws import Picker, delay_ms
from stream.simulate.profile import Profile
from stream.simulate.run_state import Agent, Queue
from stream.simulate.scheduler import Scheduler

_DAY_S = 86400


class AgentPresence:
    """Builds the roster and plays out each agent's presence on the scheduler.

    Online agents are listed on their queues, where ticket stories find them, and pull
    the work parked there while nobody was online.

    Args:
        schedule: Where transitions, heartbeats and events are pushed.
        rng: The run's generator, for spreading pick-ups (rosters and shifts draw from
            generators of their own, so they do not depend on ticket traffic).
        profile: The traffic profile.
        queues: The run's queues by name (shared with ticket stories).
        queue_picker: Picks a queue by share (for agents on a second queue).
    """

    def __init__(
        self,
        schedule: Scheduler,
        rng: Random,
        profile: Profile,
        queues: dict[str, Queue],
        queue_picker: Picker[str],
    ) -> None:
        self._push = schedule.push
        self._rng = rng
        self._p = profile
        self._queues, self._queue_picker = queues, queue_picker
        self._offset_s = profile.arrival.utc_offset_s
        self._refresh_ms = delay_ms(profile.presence.refresh_s)

    def build_roster(self, seed: int, start_ms: int, tickets_per_minute: float) -> None:
        """Staff each queue in proportion to load, split over its shifts, some multi-queue."""
        presence = self._p.presence
        shifts = {shift.name: shift for shift in presence.shifts}
        scale = tickets_per_minute / self._p.reference_tickets_per_minute
        roster_rng = Random(f"{seed}/roster")
        count = 0
        for queue in self._p.queues:
            size = max(presence.min_agents_per_queue, round(queue.agents * scale))
            for shift_name in allocate(size, queue.shifts):
                count += 1
                queues = [queue.name]
                if len(self._queues) > 1 and roster_rng.random() < presence.multi_queue_probability:
                    other = queue.name
                    while other == queue.name:
                        other = self._queue_picker.pick(roster_rng)
                    queues.append(other)
                name = f"agent-{count:04d}"
                agent = Agent(name, tuple(queues), shifts[shift_name], Random(f"{seed}/{name}"))
                self._start_agent(agent, start_ms)

    def _start_agent(self, agent: Agent, start_ms: int) -> None:
        """Replay the agent's plan silently up to the start, then schedule what follows."""
        agent.plan = self._plan(agent, start_ms)
        for t, status in agent.plan:
            if t >= start_ms:
                agent.next_status = status
                self._push(t, self._transition, agent)
                break
            agent.status = status
        if agent.status == "online":
            for name in agent.queues:
                self._queues[name].online.append(agent)
        if agent.status != "offline":  # first refresh at a random phase, as clients connect
            first_t = start_ms + int(agent.rng.random() * self._refresh_ms)
            self._push(first_t, self._heartbeat, (agent, agent.token))

    def _plan(self, agent: Agent, start_ms: int) -> Iterator[tuple[int, str]]:
        """Yield the agent's transitions day after day, from the day before the start.

        The day before matters because night shifts cross midnight.
        """
        presence, off = self._p.presence, self._offset_s
        day = math.floor((start_ms / 1000 + off) / _DAY_S) - 1
        last = -math.inf
        while True:
            shift_start_s = day * _DAY_S + agent.shift.start_hour * 3600 - off
            for t_s, status in presence.day_plan(agent.rng, agent.shift, shift_start_s):
                t = round(max(t_s * 1000, last + 1))
                last = t
                yield t, status
            day += 1

    def _transition(self, agent: Agent, t: int) -> None:
        status, was_online = agent.next_status, agent.status == "online"
        agent.status = status
        if status == "online" and not was_online:
            for name in agent.queues:
                self._queues[name].online.append(agent)
        elif was_online and status != "online":
            for name in agent.queues:
                self._queues[name].online.remove(agent)
        agent.token += 1  # a transition restarts the refresh cycle
        self._heartbeat((agent, agent.token), t)
        next_t, agent.next_status = next(agent.plan)
        self._push(next_t, self._transition, agent)

    def _heartbeat(self, arg: tuple[Agent, int], t: int) -> None:
        agent, token = arg
        if token != agent.token:
            return  # superseded by a transition
        self._push(t, None, bodies.agent_presence(agent))
        if agent.status == "offline":
            return
        self._push(t + self._refresh_ms, self._heartbeat, arg)
        if agent.status == "online":
            self._pick_up(agent, t)

    def _pick_up(self, agent: Agent, t: int) -> None:
        """Take a few waiting tickets of each queue, spread over the next refresh."""
        rng, take = self._rng, self._p.presence.pickup_per_refresh
        for name in agent.queues:
            parked = self._queues[name].parked
            for _ in range(min(take, len(parked))):
                action, tk = parked.popleft()
                self._push(t + 1 + int(rng.random() * self._refresh_ms), action, tk)


def allocate(size: int, mix: Iterable[tuple[str, float]]) -> list[str]:
    """Split `size` agents over shifts by largest remainder (deterministic, exact total)."""
    items = [(name, weight) for name, weight in mix if weight > 0]
    total = sum(weight for _, weight in items)
    quotas = [(name, size * weight / total) for name, weight in items]
    counts = {name: math.floor(quota) for name, quota in quotas}
    by_remainder = sorted(quotas, key=lambda item: math.floor(item[1]) - item[1])  # stable
    for name, _ in by_remainder[: size - sum(counts.values())]:
        counts[name] += 1
    return [name for name, _ in items for _ in range(counts[name])]
