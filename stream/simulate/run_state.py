"""Mutable state of a simulation run: its agents, queues and tickets."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from random import Random

from stream.simulate.draws import Picker
from stream.simulate.profile import ChannelProfile, QueueProfile, Shift
from stream.simulate.scheduler import Action


class Agent:
    """An agent's presence state; `token` invalidates refreshes a transition superseded."""

    __slots__ = ("name", "next_status", "plan", "queues", "rng", "shift", "status", "token")

    def __init__(self, name: str, queues: tuple[str, ...], shift: Shift, rng: Random) -> None:
        self.name, self.queues, self.shift, self.rng = name, queues, shift, rng
        self.status = self.next_status = "offline"
        self.token = 0
        self.plan: Iterator[tuple[int, str]] = iter(())


class Queue:
    """A queue's pickers, who is online on it, and the work waiting for someone to be."""

    __slots__ = ("channels", "name", "online", "parked", "priorities", "profile")

    def __init__(self, profile: QueueProfile) -> None:
        self.profile, self.name = profile, profile.name
        self.channels = Picker(profile.channels)
        self.priorities = Picker(profile.priorities)
        self.online: list[Agent] = []
        # Agent work that found nobody online, oldest first; online agents pull from it.
        self.parked: deque[tuple[Action, Ticket]] = deque()


class Ticket:
    """A ticket's story state: what the generator needs to choose its next step."""

    __slots__ = (
        "agent", "chan", "channel", "due", "id", "priority", "queue", "reopens", "sessions",
        "status", "transferred",
    )  # fmt: skip

    def __init__(self, tid: str, queue: str, priority: str, channel: str, chan: ChannelProfile):
        self.id, self.queue, self.priority, self.channel, self.chan = (
            tid, queue, priority, channel, chan
        )  # fmt: skip
        self.status = "new"
        self.agent: Agent | None = None
        self.due = 0
        self.sessions = self.reopens = 0
        self.transferred = False
