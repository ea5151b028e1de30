"""Traffic profile of the synthetic support workload: queues, arrival curve, story odds, shifts."""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field

CHANNELS: tuple[str, ...] = ("email", "chat", "phone", "web", "social", "api", "other")
PRIORITIES: tuple[str, ...] = ("low", "normal", "high", "urgent")

#: Relative weights over names (they need not sum to 1; zero-weight entries are allowed).
Mix = tuple[tuple[str, float], ...]
#: Relative weights over survey scores.
ScoreMix = tuple[tuple[int, float], ...]


@dataclass(frozen=True, slots=True)
class LogNormal:
    """A positive, right-skewed duration given by its median and its spread in log space.

    Why log-normal: reply, handling and waiting times in support are positive, most are
    near a typical value and a few are many times longer; the log-normal is the usual fit
    for such times, and its median is what an operations lead can tell you off-hand.
    """

    median_s: float
    sigma: float
    max_s: float = math.inf

    def __post_init__(self) -> None:
        if not (self.median_s > 0 and self.sigma >= 0 and self.max_s > 0):
            raise ValueError(f"bad log-normal {self}: median and max must be > 0, sigma >= 0")

    @property
    def mean_s(self) -> float:
        """Mean of the uncapped distribution (larger than the median by exp(sigma^2 / 2))."""
        return self.median_s * math.exp(self.sigma**2 / 2)

    def sample(self, rng: random.Random) -> float:
        """Draw one duration in seconds, capped at `max_s`."""
        return min(self.max_s, self.median_s * math.exp(self.sigma * rng.gauss()))


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


@dataclass(frozen=True, slots=True)
class Lifecycle:
    """Odds and delays of a ticket's story after creation.

    A story is a chain of agent sessions (reply, then a status) and customer answers.
    Each later session solves more often (`solve_probability_step`): the easy questions
    are answered first, the rest converge. Defaults follow common help-desk benchmarks:
    a few percent of solves reopen, pending tickets are auto-solved after about two days
    without an answer, and most solved tickets are closed within a day or two.
    """

    internal_note_probability: float = 0.15
    #: On the first session: triage escalates (sometimes de-escalates) by one level.
    priority_change_probability: float = 0.06
    #: On the first session: triage moves the ticket to the right queue, unassigned.
    transfer_probability: float = 0.05
    transfer_delay: LogNormal = LogNormal(600.0, 0.8)
    #: From a waiting list (no agent was online) to the agent's work on it.
    pickup_delay: LogNormal = LogNormal(300.0, 0.8)
    #: An "any news?" customer message before the first reply (it does not reset anything).
    impatience_probability: float = 0.06
    solve_probability_step: float = 0.2
    max_sessions: int = 8
    pending_probability: float = 0.75
    on_hold_probability: float = 0.05
    on_hold_duration: LogNormal = LogNormal(4 * 3600.0, 0.8)
    customer_reply_probability: float = 0.85
    second_message_probability: float = 0.15
    second_message_delay: LogNormal = LogNormal(180.0, 1.0)
    #: An open ticket whose customer went quiet gets a chaser from the agent.
    agent_follow_up: LogNormal = LogNormal(24 * 3600.0, 0.4)
    pending_timeout: LogNormal = LogNormal(48 * 3600.0, 0.3)
    reopen_probability: float = 0.07
    #: Each earlier reopen multiplies the odds of another by this.
    repeat_reopen_factor: float = 0.4
    #: Most reopens come within a day ("still broken"), well inside a 7-day FCR window.
    reopen_delay: LogNormal = LogNormal(8 * 3600.0, 1.2, max_s=14 * 86400.0)
    #: The rest stay solved: not every help desk auto-closes.
    close_probability: float = 0.85
    close_delay: LogNormal = LogNormal(8 * 3600.0, 1.2, max_s=7 * 86400.0)
    #: Spam or merged duplicates: closed by an agent without being solved.
    spam_probability: float = 0.015
    spam_delay: LogNormal = LogNormal(1200.0, 1.0)
    #: Phone only: an agent logs a call already handled, so it is created `solved`.
    logged_call_probability: float = 0.05
    #: Email only: an agent writes first, so the ticket is created `pending`.
    outbound_email_probability: float = 0.02


@dataclass(frozen=True, slots=True)
class Surveys:
    """CSAT and NPS response odds, delays and score mixes.

    Tickets that were reopened or needed three or more agent sessions use the unhappy
    CSAT mix: effort and repeat contacts are the strongest drivers of dissatisfaction.
    """

    csat_response_rate: float = 0.22
    csat_delay: LogNormal = LogNormal(2700.0, 1.0)
    csat_scores: ScoreMix = ((5, 0.58), (4, 0.22), (3, 0.08), (2, 0.05), (1, 0.07))
    csat_unhappy_scores: ScoreMix = ((5, 0.25), (4, 0.25), (3, 0.2), (2, 0.12), (1, 0.18))
    csat_rerate_probability: float = 0.08
    csat_rerate_delay: LogNormal = LogNormal(6 * 3600.0, 1.0)
    nps_response_rate: float = 0.06
    nps_delay: LogNormal = LogNormal(4 * 3600.0, 1.0)
    nps_scores: ScoreMix = (
        (10, 0.2), (9, 0.2), (8, 0.18), (7, 0.12), (6, 0.08), (5, 0.06),
        (4, 0.04), (3, 0.04), (2, 0.03), (1, 0.02), (0, 0.03),
    )  # fmt: skip
    #: Relationship NPS (no ticket, with a queue) per ticket created, following the curve.
    relationship_nps_per_ticket: float = 0.01


@dataclass(frozen=True, slots=True)
class Shift:
    """A daily shift in the customers' local time (it may run past midnight)."""

    name: str
    start_hour: float
    length_h: float


@dataclass(frozen=True, slots=True)
class Break:
    """A break about `after_h` hours after login, during which the agent is away.

    `spread_s` staggers it uniformly within +/- that many seconds per agent and day: team
    leads stagger breaks, and without it a whole shift would vanish at once.
    """

    after_h: float
    duration: LogNormal
    spread_s: float


@dataclass(frozen=True, slots=True)
class Presence:
    """Agent shifts, breaks and presence heartbeats.

    Agents re-send their presence every `refresh_s` while online or away, as real
    presence services do, so a processor that starts mid-shift learns who is on within
    one refresh. An online agent pulls up to `pickup_per_refresh` waiting tickets of each
    of its queues per refresh, which drains a night's backlog in proportion to staffing.
    """

    refresh_s: float = 300.0
    shifts: tuple[Shift, ...] = (
        Shift("early", 6.0, 8.0),
        Shift("day", 8.5, 8.5),
        Shift("mid", 11.0, 8.5),
        Shift("late", 14.0, 8.0),
        Shift("night", 22.0, 8.0),
    )
    breaks: tuple[Break, ...] = (
        Break(1.5, LogNormal(900.0, 0.25, max_s=1800.0), spread_s=2700.0),
        Break(4.0, LogNormal(1800.0, 0.2, max_s=3600.0), spread_s=5400.0),
        Break(6.5, LogNormal(900.0, 0.25, max_s=1800.0), spread_s=2700.0),
    )
    login_jitter_s: float = 300.0
    multi_queue_probability: float = 0.25
    pickup_per_refresh: int = 4
    min_agents_per_queue: int = 2

    def day_plan(self, rng: random.Random, shift: Shift, start_s: float) -> list[tuple[float, str]]:
        """Return one shift's presence transitions `(epoch_s, status)`, in time order.

        Args:
            rng: The agent's own generator (so rosters do not depend on ticket traffic).
            shift: The agent's shift.
            start_s: Nominal epoch start of this day's shift.
        """
        jitter = self.login_jitter_s
        login = start_s + max(-3 * jitter, min(3 * jitter, rng.gauss(0.0, jitter)))
        overtime = max(-jitter, min(3 * jitter, rng.gauss(0.0, jitter)))
        logout = start_s + shift.length_h * 3600 + overtime
        plan = [(login, "online")]
        cursor = login
        for brk in self.breaks:
            away = login + brk.after_h * 3600 + rng.uniform(-brk.spread_s, brk.spread_s)
            away = max(away, cursor + 900)  # at least a quarter of an hour back at work
            back = away + brk.duration.sample(rng)
            if back < logout - 60:
                plan += [(away, "away"), (back, "online")]
                cursor = back
        plan.append((max(logout, cursor + 60), "offline"))
        return plan


def _default_channels() -> tuple[tuple[str, ChannelProfile], ...]:
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


def _default_queues() -> tuple[QueueProfile, ...]:
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


@dataclass(frozen=True, slots=True)
class Profile:
    """The whole traffic profile; every part has realistic defaults."""

    queues: tuple[QueueProfile, ...] = field(default_factory=_default_queues)
    arrival: ArrivalCurve = field(default_factory=ArrivalCurve)
    channels: tuple[tuple[str, ChannelProfile], ...] = field(default_factory=_default_channels)
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
