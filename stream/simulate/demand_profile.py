"""Demand side of the traffic profile: queues, contact channels and the daily arrival curve."""

from __future__ import annotations

from dataclasses import dataclass

from stream.simulate.distributions import LogNormal, Mix

CHANNELS: tuple[str, ...] = ("email", "chat", "phone", "web", "social", "api", "other")
PRIORITIES: tuple[str, ...] = ("low", "normal", "high", "urgent")


@dataclass(frozen=True, slots=True)
class QueueProfile:
    """One queue: its share of arrivals, its contact mix and its roster.

    `agents` is the roster size at `Profile.reference_tickets_per_minute`; the generator
    scales it with the requested rate so that staffing stays plausible at any load.
    `shifts` splits the roster over `Presence.shifts` by name (no night shift: no cover
    at night, and tickets wait for the morning as they do in a real business-hours team).
    """

    name: str
    share: float
    agents: int
    channels: Mix
    priorities: Mix
    shifts: Mix


@dataclass(frozen=True, slots=True)
class ArrivalCurve:
    """Daily arrival curve: one multiplier per local hour, piecewise constant.

    The default averages exactly 1.0, so `tickets_per_minute` is the daily average rate.
    Piecewise constant (not interpolated) keeps the expected count an exact sum, which the
    Poisson tests and benchmarks rely on.
    """

    hourly: tuple[float, ...] = (
        0.30, 0.20, 0.16, 0.15, 0.18, 0.28, 0.55, 0.95, 1.50, 1.90, 2.10, 1.90,
        1.60, 1.70, 1.75, 1.65, 1.50, 1.30, 1.05, 0.90, 0.80, 0.70, 0.50, 0.38,
    )  # fmt: skip
    #: Offset of the customers' local time from UTC (a fixed offset: no DST jumps in a run).
    utc_offset_s: int = 0

    def __post_init__(self) -> None:
        if len(self.hourly) != 24 or min(self.hourly) < 0 or max(self.hourly) <= 0:
            raise ValueError("hourly needs 24 multipliers >= 0, at least one > 0")

    def multiplier_at(self, t_s: float) -> float:
        """Return the multiplier in force at epoch time `t_s`."""
        return self.hourly[int((t_s + self.utc_offset_s) // 3600) % 24]


@dataclass(frozen=True, slots=True)
class HandleTime:
    """Agent work per interaction (seconds), reported by `interaction.completed`."""

    talk: LogNormal
    wrap: LogNormal
    hold_probability: float = 0.0
    hold: LogNormal = LogNormal(60.0, 0.6)


@dataclass(frozen=True, slots=True)
class ChannelProfile:
    """How a contact channel behaves.

    Live channels (chat, phone) are answered while the customer waits, so their first
    reply takes seconds and most are assigned at creation; a live contact that finds no
    agent is a missed call / offline chat and is answered later with `next_reply` timing.
    """

    live: bool
    first_reply: LogNormal
    next_reply: LogNormal
    customer_reply: LogNormal
    handle: HandleTime
    assigned_at_creation: float
    solve_first_session: float


def default_channels() -> tuple[tuple[str, ChannelProfile], ...]:
    """Channel behaviour; async medians are for normal priority during staffed hours."""
    minute, hour = 60.0, 3600.0
    desk = HandleTime(talk=LogNormal(300.0, 0.6), wrap=LogNormal(30.0, 0.5))

    def async_(first_h: float, talk_s: float, solve: float) -> ChannelProfile:
        return ChannelProfile(
            live=False,
            first_reply=LogNormal(first_h * hour, 1.0, max_s=5 * 86400.0),
            next_reply=LogNormal(2 * hour, 1.0, max_s=5 * 86400.0),
            customer_reply=LogNormal(3 * hour, 1.2, max_s=10 * 86400.0),
            handle=HandleTime(talk=LogNormal(talk_s, 0.6), wrap=desk.wrap),
            assigned_at_creation=0.0,
            solve_first_session=solve,
        )

    return (
        ("email", async_(1.5, 300.0, 0.30)),
        ("chat", ChannelProfile(
            live=True,
            first_reply=LogNormal(45.0, 0.8, max_s=15 * minute),
            next_reply=LogNormal(1 * hour, 1.0, max_s=3 * 86400.0),
            customer_reply=LogNormal(1.5 * hour, 1.2, max_s=10 * 86400.0),
            handle=HandleTime(talk=LogNormal(420.0, 0.5), wrap=LogNormal(45.0, 0.5),
                              hold_probability=0.1, hold=LogNormal(45.0, 0.5)),
            assigned_at_creation=0.85,
            solve_first_session=0.60,
        )),
        ("phone", ChannelProfile(
            live=True,
            first_reply=LogNormal(30.0, 0.7, max_s=10 * minute),
            next_reply=LogNormal(2 * hour, 1.0, max_s=3 * 86400.0),
            customer_reply=LogNormal(2 * hour, 1.2, max_s=10 * 86400.0),
            handle=HandleTime(talk=LogNormal(330.0, 0.55), wrap=LogNormal(60.0, 0.5),
                              hold_probability=0.35, hold=LogNormal(60.0, 0.7)),
            assigned_at_creation=0.90,
            solve_first_session=0.65,
        )),
        ("web", async_(1.25, 300.0, 0.35)),
        ("social", async_(0.75, 180.0, 0.40)),
        ("api", async_(2.0, 360.0, 0.25)),
        ("other", async_(2.0, 240.0, 0.30)),
    )  # fmt: skip


def default_queues() -> tuple[QueueProfile, ...]:
    """Five queues of a mid-size B2B SaaS help desk."""
    return (
        QueueProfile(
            "billing", 0.30, 75,
            (("email", .45), ("chat", .25), ("phone", .15), ("web", .10), ("social", .02),
             ("api", .01), ("other", .02)),
            (("low", .20), ("normal", .60), ("high", .15), ("urgent", .05)),
            (("early", .29), ("day", .26), ("mid", .12), ("late", .24), ("night", .09)),
        ),
        QueueProfile(
            "technical", 0.35, 100,
            (("email", .35), ("chat", .25), ("phone", .10), ("web", .15), ("social", .03),
             ("api", .10), ("other", .02)),
            (("low", .15), ("normal", .50), ("high", .25), ("urgent", .10)),
            (("early", .27), ("day", .24), ("mid", .12), ("late", .24), ("night", .13)),
        ),
        QueueProfile(
            "account", 0.15, 40,
            (("email", .50), ("chat", .20), ("phone", .10), ("web", .15), ("social", .03),
             ("other", .02)),
            (("low", .30), ("normal", .55), ("high", .12), ("urgent", .03)),
            (("early", .3), ("day", .3), ("mid", .15), ("late", .25)),
        ),
        QueueProfile(
            "sales", 0.12, 30,
            (("email", .35), ("chat", .35), ("phone", .20), ("web", .08), ("social", .02)),
            (("low", .25), ("normal", .55), ("high", .15), ("urgent", .05)),
            (("day", .45), ("mid", .25), ("late", .3)),
        ),
        QueueProfile(
            "vip", 0.08, 25,
            (("email", .30), ("chat", .20), ("phone", .40), ("web", .05), ("api", .05)),
            (("normal", .30), ("high", .45), ("urgent", .25)),
            (("early", .25), ("day", .2), ("mid", .1), ("late", .25), ("night", .2)),
        ),
    )  # fmt: skip
