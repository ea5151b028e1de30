"""Behaviour side of the traffic profile: ticket lifecycle odds, surveys, shifts and presence."""

from __future__ import annotations

import random
from dataclasses import dataclass

from stream.simulate.distributions import LogNormal, ScoreMix


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
