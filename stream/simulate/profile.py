"""The whole traffic profile, validated; its parts live in the modules it re-exports from."""

from __future__ import annotations

from dataclasses import dataclass, field

from stream.simulate.behaviour_profile import Break, Lifecycle, Presence, Shift, Surveys
from stream.simulate.demand_profile import (
    CHANNELS,
    PRIORITIES,
    ArrivalCurve,
    ChannelProfile,
    HandleTime,
    QueueProfile,
    default_channels,
    default_queues,
)
from stream.simulate.distributions import LogNormal, Mix, ScoreMix

__all__ = [
    "CHANNELS",
    "PRIORITIES",
    "ArrivalCurve",
    "Break",
    "ChannelProfile",
    "HandleTime",
    "Lifecycle",
    "LogNormal",
    "Mix",
    "Presence",
    "Profile",
    "QueueProfile",
    "ScoreMix",
    "Shift",
    "Surveys",
]


@dataclass(frozen=True, slots=True)
class Profile:
    """The whole traffic profile; every part has realistic defaults."""

    queues: tuple[QueueProfile, ...] = field(default_factory=default_queues)
    arrival: ArrivalCurve = field(default_factory=ArrivalCurve)
    channels: tuple[tuple[str, ChannelProfile], ...] = field(default_factory=default_channels)
    #: Multiplies reply delays: urgent work is picked first, low priority waits.
    priority_reply_factor: Mix = (("low", 1.6), ("normal", 1.0), ("high", 0.5), ("urgent", 0.25))
    lifecycle: Lifecycle = field(default_factory=Lifecycle)
    surveys: Surveys = field(default_factory=Surveys)
    presence: Presence = field(default_factory=Presence)
    #: The rate at which `QueueProfile.agents` is the roster; rosters scale with the rate.
    reference_tickets_per_minute: float = 10.0

    def __post_init__(self) -> None:
        names = [q.name for q in self.queues]
        if not names or len(set(names)) != len(names):
            raise ValueError(f"queue names must be present and unique: {names}")
        shifts = {s.name for s in self.presence.shifts}
        for q in self.queues:
            if q.share <= 0 or q.agents < 0:
                raise ValueError(f"queue {q.name}: share must be > 0 and agents >= 0")
            _check_mix(f"{q.name}.channels", q.channels, CHANNELS)
            _check_mix(f"{q.name}.priorities", q.priorities, PRIORITIES)
            _check_mix(f"{q.name}.shifts", q.shifts, tuple(shifts))
        if sorted(name for name, _ in self.channels) != sorted(CHANNELS):
            raise ValueError(f"channels must describe each of {CHANNELS} once")
        if sorted(name for name, _ in self.priority_reply_factor) != sorted(PRIORITIES):
            raise ValueError(f"priority_reply_factor must cover each of {PRIORITIES} once")
        channels = [c for _, c in self.channels]
        for owner in (self.lifecycle, self.surveys, *channels, *(c.handle for c in channels)):
            _check_probabilities(owner)
        if self.reference_tickets_per_minute <= 0:
            raise ValueError("reference_tickets_per_minute must be > 0")

    def channel(self, name: str) -> ChannelProfile:
        """Return the behaviour of channel `name`."""
        return dict(self.channels)[name]


def _check_mix(what: str, mix: Mix, allowed: tuple[str, ...]) -> None:
    """Reject unknown names, negative weights and all-zero mixes."""
    unknown = {name for name, _ in mix} - set(allowed)
    if unknown or any(w < 0 for _, w in mix) or sum(w for _, w in mix) <= 0:
        raise ValueError(f"{what}: weights must be >= 0 over {allowed}, not all 0; got {mix}")


def _check_probabilities(owner: object) -> None:
    """Reject any `*probability*`, `*rate*` or `assigned_*`/`solve_*` field outside [0, 1]."""
    for name in getattr(owner, "__slots__", ()):
        value = getattr(owner, name)
        looks_like_odds = (
            "probability" in name
            or name.endswith("_rate")
            or name
            in {
                "assigned_at_creation",
                "solve_first_session",
            }
        )
        if looks_like_odds and not 0.0 <= value <= 1.0:
            raise ValueError(f"{type(owner).__name__}.{name} must be within [0, 1], got {value}")
