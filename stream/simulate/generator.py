"""Deterministic synthetic support traffic: Poisson arrivals, ticket stories and agent presence."""

from __future__ import annotations

import heapq
import math
from bisect import bisect
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime
from functools import lru_cache
from itertools import accumulate
from random import Random
from typing import Any, Generic, TypeVar

from stream.simulate.profile import ChannelProfile, Profile, QueueProfile, Shift

Event = dict[str, Any]
_T = TypeVar("_T")
_Action = Callable[[Any, int], None]
_DAY_S = 86400


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
    for event in sim.run():
        yield sim.now_ms / 1000, event


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


@lru_cache(maxsize=4096)
def _minute_prefix(minute: int) -> str:
    """Return `YYYY-MM-DDTHH:MM:` of epoch minute `minute` (cached: events come in order)."""
    return datetime.fromtimestamp(minute * 60, tz=UTC).strftime("%Y-%m-%dT%H:%M:")


def rfc3339_ms(t_ms: int) -> str:
    """Format epoch milliseconds as RFC 3339 UTC with milliseconds, e.g. `...T09:05:01.250Z`.

    Hand-rolled around a per-minute cache because formatting a `datetime` per event would
    take a third of the generator's time.
    """
    minute, rest = divmod(t_ms, 60_000)
    return f"{_minute_prefix(minute)}{rest // 1000:02d}.{rest % 1000:03d}Z"


def _ms(seconds: float) -> int:
    """A delay in whole milliseconds, at least 1 so a ticket's own events stay in order."""
    return max(1, int(seconds * 1000))


class _Picker(Generic[_T]):
    """Weighted choice by bisection over cumulative weights.

    Several times faster than `Random.choices`, which re-validates its arguments per call.
    """

    __slots__ = ("cum", "total", "values")

    def __init__(self, mix: Iterable[tuple[_T, float]]) -> None:
        items = [(value, weight) for value, weight in mix if weight > 0]
        self.values = [value for value, _ in items]
        self.cum = list(accumulate(weight for _, weight in items))
        self.total = self.cum[-1]

    def pick(self, rng: Random) -> _T:
        return self.values[min(bisect(self.cum, rng.random() * self.total), len(self.cum) - 1)]


class _Agent:
    """An agent's presence state; `token` invalidates refreshes a transition superseded."""

    __slots__ = ("name", "next_status", "plan", "queues", "rng", "shift", "status", "token")

    def __init__(self, name: str, queues: tuple[str, ...], shift: Shift, rng: Random) -> None:
        self.name, self.queues, self.shift, self.rng = name, queues, shift, rng
        self.status = self.next_status = "offline"
        self.token = 0
        self.plan: Iterator[tuple[int, str]] = iter(())


class _Queue:
    """A queue's pickers, who is online on it, and the work waiting for someone to be."""

    __slots__ = ("channels", "name", "online", "parked", "priorities", "profile")

    def __init__(self, profile: QueueProfile) -> None:
        self.profile, self.name = profile, profile.name
        self.channels = _Picker(profile.channels)
        self.priorities = _Picker(profile.priorities)
        self.online: list[_Agent] = []
        # Agent work that found nobody online, oldest first; online agents pull from it.
        self.parked: deque[tuple[_Action, _Ticket]] = deque()


class _Ticket:
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
        self.agent: _Agent | None = None
        self.due = 0
        self.sessions = self.reopens = 0
        self.transferred = False


class _Simulation:
    """One run: a heap of future actions and events, processed in time order.

    Each ticket has at most one future *action* at a time (its next story step), and the
    events a step schedules all lie before that action. That single chain is what
    guarantees per-ticket order: nothing is ever emitted after a ticket's `closed`.
    """

    def __init__(
        self, seed: int, start_ms: int, end_ms: float, tickets_per_minute: float, profile: Profile
    ) -> None:
        self._rng = Random(seed)
        self._p, self._life, self._surveys = profile, profile.lifecycle, profile.surveys
        self._end_ms = end_ms
        self.now_ms = start_ms
        self._end_s = end_ms / 1000
        tag = f"sim-{seed & 0xFFFF_FFFF_FFFF_FFFF:x}-{start_ms:x}-"
        self._event_prefix, self._ticket_prefix = tag + "e", tag + "t"
        self._tickets = 0
        self._seq = 0
        self._heap: list[tuple[int, int, _Action | None, Any]] = []
        self._queues = {q.name: _Queue(q) for q in profile.queues}
        self._queue_picker = _Picker((q.name, q.share) for q in profile.queues)
        self._channels = dict(profile.channels)
        self._factor = dict(profile.priority_reply_factor)
        self._happy = _Picker(profile.surveys.csat_scores)
        self._unhappy = _Picker(profile.surveys.csat_unhappy_scores)
        self._nps = _Picker(profile.surveys.nps_scores)
        self._hourly = profile.arrival.hourly
        self._offset_s = profile.arrival.utc_offset_s
        self._refresh_ms = _ms(profile.presence.refresh_s)
        self._build_roster(seed, start_ms, tickets_per_minute)
        self._ticket_rate = tickets_per_minute / 60
        self._nps_rate = self._ticket_rate * profile.surveys.relationship_nps_per_ticket
        self._arrival_s = self._nps_s = start_ms / 1000
        self._arrive(None, start_ms, first=True)
        self._nps_arrive(None, start_ms, first=True)

    # -- the loop -------------------------------------------------------------------------

    def run(self) -> Iterator[Event]:
        """Process the heap; yield events with their id and timestamp filled in.

        `now_ms` holds the time of the event just yielded.
        """
        heap, pop, prefix, n = self._heap, heapq.heappop, self._event_prefix, 0
        last_minute, stamp = -1, ""
        while heap:
            t, _, action, arg = pop(heap)
            if action is not None:
                action(arg, t)
                continue
            n += 1
            arg["event_id"] = f"{prefix}{n}"
            minute, rest = divmod(t, 60_000)
            if minute != last_minute:  # rfc3339_ms, inlined: this loop is the hot path
                last_minute, stamp = minute, _minute_prefix(minute)
            arg["occurred_at"] = f"{stamp}{rest // 1000:02d}.{rest % 1000:03d}Z"
            self.now_ms = t
            yield arg

    def _push(self, t: int, action: _Action | None, arg: Any) -> None:
        if t <= self._end_ms:  # later work can never be emitted: drop it now
            self._seq += 1
            heapq.heappush(self._heap, (t, self._seq, action, arg))

    def _emit_all(self, events: list[tuple[int, Event]]) -> None:
        events.sort(key=lambda item: item[0])  # stable: equal times keep story order
        for t, event in events:
            self._push(t, None, event)

    # -- arrivals -------------------------------------------------------------------------

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
            self._create(t)
        self._arrival_s = self._next_arrival_s(self._arrival_s, self._ticket_rate)
        if self._arrival_s <= self._end_s:
            self._push(round(self._arrival_s * 1000), self._arrive, None)

    def _nps_arrive(self, _: None, t: int, first: bool = False) -> None:
        """Relationship NPS: not about a ticket, so it names the queue instead."""
        if not first:
            queue = self._queue_picker.pick(self._rng)
            score = self._nps.pick(self._rng)
            self._push(t, None, {"event_id": None, "type": "survey.nps", "occurred_at": None,
                                 "score": score, "queue": queue})  # fmt: skip
        self._nps_s = self._next_arrival_s(self._nps_s, self._nps_rate)
        if self._nps_s <= self._end_s:
            self._push(round(self._nps_s * 1000), self._nps_arrive, None)

    # -- ticket stories ---------------------------------------------------------------------

    def _create(self, t: int) -> None:
        rng, life = self._rng, self._life
        queue = self._queues[self._queue_picker.pick(rng)]
        channel = queue.channels.pick(rng)
        chan = self._channels[channel]
        self._tickets += 1
        tk = _Ticket(f"{self._ticket_prefix}{self._tickets}", queue.name,
                     queue.priorities.pick(rng), channel, chan)  # fmt: skip
        if rng.random() < life.spam_probability:  # merged duplicate or spam: closed unsolved
            self._push(t, None, self._created(tk))
            self._push(t + _ms(life.spam_delay.sample(rng)), self._close_unsolved, tk)
            return
        logged = channel == "phone" and rng.random() < life.logged_call_probability
        if logged and self._logged_call(tk, queue, t):
            return
        outbound = channel == "email" and rng.random() < life.outbound_email_probability
        if outbound and self._outbound(tk, queue, t):
            return
        factor = self._factor[tk.priority]
        if chan.live and rng.random() < chan.assigned_at_creation:
            agent = self._online_agent(queue)
            if agent is not None:  # answered live; else a missed call / offline chat
                tk.agent, tk.status = agent, "open"
                self._push(t, None, self._created(tk))
                self._push(t + _ms(chan.first_reply.sample(rng) * factor), self._session, tk)
                return
        self._push(t, None, self._created(tk))
        reply = chan.next_reply if chan.live else chan.first_reply
        wait = max(2, _ms(reply.sample(rng) * factor))
        tk.due = t + wait
        self._push(t + max(1, int(wait * rng.uniform(0.2, 0.7))), self._assign, tk)
        if not chan.live and rng.random() < life.impatience_probability:
            nudge_t = t + 1 + int((wait - 2) * rng.uniform(0.3, 0.95))  # before the reply
            self._push(nudge_t, None, self._message(tk, "customer", True))

    def _logged_call(self, tk: _Ticket, queue: _Queue, t: int) -> bool:
        """An agent logs a call already handled: created solved, so it counts as solved."""
        agent = self._online_agent(queue)
        if agent is None:
            return False
        tk.agent, tk.status, tk.sessions = agent, "solved", 1
        talk, hold, wrap = self._handle_times(tk.chan)
        self._push(t, None, self._created(tk))
        done_t = t + _ms(wrap)
        self._push(done_t, None, self._interaction(tk, agent, talk, hold, wrap))
        self._after_solve(tk, t, done_t)
        return True

    def _outbound(self, tk: _Ticket, queue: _Queue, t: int) -> bool:
        """An agent writes to a customer first: created pending, waiting on the customer."""
        agent = self._online_agent(queue)
        if agent is None:
            return False
        rng = self._rng
        tk.agent, tk.status, tk.sessions = agent, "pending", 1
        talk, hold, wrap = self._handle_times(tk.chan)
        done_t = t + 1 + _ms(wrap)
        self._emit_all([
            (t, self._created(tk)),
            (t + 1, self._message(tk, "agent", True)),
            (done_t, self._interaction(tk, agent, talk, hold, wrap)),
        ])  # fmt: skip
        if rng.random() < self._life.customer_reply_probability:
            self._push(done_t + _ms(tk.chan.customer_reply.sample(rng)), self._customer_reply, tk)
        else:
            self._push(done_t + _ms(self._life.pending_timeout.sample(rng)), self._stale_solve, tk)
        return True

    def _assign(self, tk: _Ticket, t: int) -> None:
        queue = self._queues[tk.queue]
        agent = self._online_agent(queue)
        if agent is None:
            queue.parked.append((self._assign, tk))
            return
        tk.agent = agent
        self._push(t, None, self._assigned(tk, agent.name))
        overdue = tk.due <= t  # it waited for an agent: picked up from the backlog
        pickup = _ms(self._life.pickup_delay.sample(self._rng)) if overdue else 1000
        self._push(max(tk.due, t + pickup), self._session, tk)

    def _session(self, tk: _Ticket, t: int) -> None:
        """One agent work session: reply, set the status, then the interaction completes.

        The interaction is emitted after the status change because an agent's wrap-up
        ends after they submit: a ticket solved in its only session then has exactly one
        agent touch at its first solve, which is what first-contact resolution means.
        """
        rng, life, chan = self._rng, self._life, tk.chan
        queue = self._queues[tk.queue]
        events: list[tuple[int, Event]] = []
        agent = tk.agent
        if agent is None or agent.status != "online":  # owner away or gone: a colleague
            agent = self._online_agent(queue)
            if agent is None:
                queue.parked.append((self._session, tk))
                return
            tk.agent = agent
            events.append((t, self._assigned(tk, agent.name)))
            t += 1
        triage = tk.sessions == 0 and not tk.transferred and len(self._queues) > 1
        if triage and rng.random() < life.transfer_probability:
            self._transfer(tk, t, events)
            return
        talk, hold, wrap = self._handle_times(chan)
        if chan.live:  # greet within seconds; the transcript is the one public reply
            reply_t = t + 1 + int(rng.random() * min(15_000, talk * 250))
            status_t = max(t + (talk + hold) * 1000, reply_t + 1)
            note_t = (reply_t + status_t) // 2
        else:  # write the reply, submit it with the new status
            reply_t = t + talk * 1000
            status_t = reply_t + 1
            note_t = (t + reply_t) // 2
        if tk.sessions == 0 and rng.random() < life.priority_change_probability:
            events.append(((t + reply_t) // 2, self._priority_change(tk)))
        if rng.random() < life.internal_note_probability:
            events.append((note_t, self._message(tk, "agent", False)))
        events.append((reply_t, self._message(tk, "agent", True)))
        tk.sessions += 1
        status = self._outcome(tk)
        if status != tk.status:
            tk.status = status
            events.append((status_t, self._status(tk, status)))
        done_t = max(t + (talk + hold + wrap) * 1000, status_t + 1)
        events.append((done_t, self._interaction(tk, agent, talk, hold, wrap)))
        self._emit_all(events)
        if status == "solved":
            self._after_solve(tk, status_t, done_t)
        elif status == "on_hold":
            self._push(done_t + _ms(life.on_hold_duration.sample(rng)), self._resume, tk)
        elif rng.random() < life.customer_reply_probability:
            self._push(done_t + _ms(chan.customer_reply.sample(rng)), self._customer_reply, tk)
        elif status == "pending":
            self._push(done_t + _ms(life.pending_timeout.sample(rng)), self._stale_solve, tk)
        else:
            self._push(done_t + _ms(life.agent_follow_up.sample(rng)), self._session, tk)

    def _outcome(self, tk: _Ticket) -> str:
        """Status an agent sets after a session; later sessions solve more often."""
        rng, life = self._rng, self._life
        step = (tk.sessions - 1) * life.solve_probability_step
        if tk.sessions >= life.max_sessions or rng.random() < min(
            0.95, tk.chan.solve_first_session + step
        ):
            return "solved"
        u = rng.random()
        if u < life.on_hold_probability:
            return "on_hold"
        return "pending" if u < life.on_hold_probability + life.pending_probability else "open"

    def _transfer(self, tk: _Ticket, t: int, events: list[tuple[int, Event]]) -> None:
        """Triage finds the wrong queue: move it, unassign it, and route it again."""
        rng = self._rng
        target = tk.queue
        while target == tk.queue:
            target = self._queue_picker.pick(rng)
        tk.queue, tk.agent, tk.transferred = target, None, True
        events.append((t, self._message(tk, "agent", False)))
        events.append(
            (
                t + 1,
                {
                    "event_id": None,
                    "type": "ticket.queue_changed",
                    "occurred_at": None,
                    "ticket_id": tk.id,
                    "queue": target,
                },
            )
        )
        events.append((t + 2, self._assigned(tk, None)))
        self._emit_all(events)
        routed_t = t + 2 + _ms(self._life.transfer_delay.sample(rng))
        tk.due = routed_t + _ms(tk.chan.first_reply.sample(rng) * self._factor[tk.priority])
        self._push(routed_t, self._assign, tk)

    def _customer_reply(self, tk: _Ticket, t: int) -> None:
        """The customer answers (pending -> open) or writes after the solve (a reopen)."""
        rng, life = self._rng, self._life
        events = [(t, self._message(tk, "customer", True))]
        if tk.status != "open":
            if tk.status == "solved":
                tk.reopens += 1
            tk.status = "open"
            events.append((t + 1, self._status(tk, "open")))
        next_t = t + 2 + _ms(tk.chan.next_reply.sample(rng) * self._factor[tk.priority])
        if rng.random() < life.second_message_probability:
            again_t = t + 2 + _ms(life.second_message_delay.sample(rng))
            if again_t < next_t:
                events.append((again_t, self._message(tk, "customer", True)))
        self._emit_all(events)
        self._push(next_t, self._session, tk)

    def _resume(self, tk: _Ticket, t: int) -> None:
        """The third party answered: an agent takes the ticket off hold."""
        queue = self._queues[tk.queue]
        if not queue.online:
            queue.parked.append((self._resume, tk))
            return
        tk.status = "open"
        self._push(t, None, self._status(tk, "open"))
        self._push(t + _ms(self._life.pickup_delay.sample(self._rng)), self._session, tk)

    def _stale_solve(self, tk: _Ticket, t: int) -> None:
        """An automation solves a ticket whose customer never answered."""
        tk.status = "solved"
        self._push(t, None, self._status(tk, "solved"))
        self._after_solve(tk, t, t)

    def _after_solve(self, tk: _Ticket, solved_t: int, free_t: int) -> None:
        """Schedule what follows a solve: a reopen, or a close, or nothing; and surveys.

        Surveys are only emitted before the next story step, so none follows a close.
        """
        rng, life, surveys = self._rng, self._life, self._surveys
        action: _Action | None = None
        next_t = 0
        if rng.random() < life.reopen_probability * life.repeat_reopen_factor**tk.reopens:
            action = self._customer_reply
            next_t = max(solved_t + _ms(life.reopen_delay.sample(rng)), free_t + 1)
        elif rng.random() < life.close_probability:
            action = self._close
            next_t = max(solved_t + _ms(life.close_delay.sample(rng)), free_t + 1)
        limit = next_t if action is not None else math.inf
        if rng.random() < surveys.csat_response_rate:
            scores = self._unhappy if tk.reopens or tk.sessions >= 3 else self._happy
            rated_t = solved_t + _ms(surveys.csat_delay.sample(rng))
            if rated_t < limit:
                self._push(rated_t, None, self._csat(tk, scores.pick(rng)))
                if rng.random() < surveys.csat_rerate_probability:
                    rated_t += _ms(surveys.csat_rerate_delay.sample(rng))
                    if rated_t < limit:
                        self._push(rated_t, None, self._csat(tk, scores.pick(rng)))
        if rng.random() < surveys.nps_response_rate:
            nps_t = solved_t + _ms(surveys.nps_delay.sample(rng))
            if nps_t < limit:
                self._push(nps_t, None, {"event_id": None, "type": "survey.nps",
                                         "occurred_at": None, "ticket_id": tk.id,
                                         "score": self._nps.pick(rng)})  # fmt: skip
        if action is not None:
            self._push(next_t, action, tk)

    def _close(self, tk: _Ticket, t: int) -> None:
        tk.status = "closed"
        self._push(t, None, self._status(tk, "closed"))

    def _close_unsolved(self, tk: _Ticket, t: int) -> None:
        """An agent closes spam or a merged duplicate without solving it."""
        queue = self._queues[tk.queue]
        if not queue.online:
            queue.parked.append((self._close_unsolved, tk))
            return
        tk.status = "closed"
        self._emit_all(
            [(t, self._message(tk, "agent", False)), (t + 1, self._status(tk, "closed"))]
        )

    def _handle_times(self, chan: ChannelProfile) -> tuple[int, int, int]:
        """Whole seconds of talk (at least 1), hold and wrap for one interaction."""
        rng, handle = self._rng, chan.handle
        talk = max(1, round(handle.talk.sample(rng)))
        hold = 0
        if handle.hold_probability and rng.random() < handle.hold_probability:
            hold = round(handle.hold.sample(rng))
        return talk, hold, round(handle.wrap.sample(rng))

    def _online_agent(self, queue: _Queue) -> _Agent | None:
        online = queue.online
        return online[int(self._rng.random() * len(online))] if online else None

    # -- event bodies (`event_id` and `occurred_at` are filled in when emitted) -------------

    @staticmethod
    def _created(tk: _Ticket) -> Event:
        event = {"event_id": None, "type": "ticket.created", "occurred_at": None,
                 "ticket_id": tk.id, "queue": tk.queue, "priority": tk.priority,
                 "channel": tk.channel, "status": tk.status}  # fmt: skip
        if tk.agent is not None:
            event["assignee"] = tk.agent.name
        return event

    @staticmethod
    def _assigned(tk: _Ticket, agent: str | None) -> Event:
        return {"event_id": None, "type": "ticket.assigned", "occurred_at": None,
                "ticket_id": tk.id, "assignee": agent}  # fmt: skip

    @staticmethod
    def _status(tk: _Ticket, status: str) -> Event:
        return {"event_id": None, "type": "ticket.status_changed", "occurred_at": None,
                "ticket_id": tk.id, "status": status}  # fmt: skip

    @staticmethod
    def _message(tk: _Ticket, author: str, public: bool) -> Event:
        return {"event_id": None, "type": "ticket.message", "occurred_at": None,
                "ticket_id": tk.id, "author": author, "public": public}  # fmt: skip

    @staticmethod
    def _interaction(tk: _Ticket, agent: _Agent, talk: int, hold: int, wrap: int) -> Event:
        return {"event_id": None, "type": "interaction.completed", "occurred_at": None,
                "ticket_id": tk.id, "agent": agent.name, "talk_seconds": talk,
                "hold_seconds": hold, "wrap_seconds": wrap}  # fmt: skip

    @staticmethod
    def _csat(tk: _Ticket, score: int) -> Event:
        return {"event_id": None, "type": "survey.csat", "occurred_at": None,
                "ticket_id": tk.id, "score": score}  # fmt: skip

    def _priority_change(self, tk: _Ticket) -> Event:
        """Mostly an escalation by one level, sometimes a de-escalation."""
        levels = ("low", "normal", "high", "urgent")
        i = levels.index(tk.priority)
        i = i - 1 if (self._rng.random() < 0.2 or i == 3) and i > 0 else min(3, i + 1)
        tk.priority = levels[i]
        return {"event_id": None, "type": "ticket.priority_changed", "occurred_at": None,
                "ticket_id": tk.id, "priority": tk.priority}  # fmt: skip

    # -- agents -----------------------------------------------------------------------------

    def _build_roster(self, seed: int, start_ms: int, tickets_per_minute: float) -> None:
        """Staff each queue in proportion to load, split over its shifts, some multi-queue."""
        presence = self._p.presence
        shifts = {shift.name: shift for shift in presence.shifts}
        scale = tickets_per_minute / self._p.reference_tickets_per_minute
        roster_rng = Random(f"{seed}/roster")
        count = 0
        for queue in self._p.queues:
            size = max(presence.min_agents_per_queue, round(queue.agents * scale))
            for shift_name in _allocate(size, queue.shifts):
                count += 1
                queues = [queue.name]
                if len(self._queues) > 1 and roster_rng.random() < presence.multi_queue_probability:
                    other = queue.name
                    while other == queue.name:
                        other = self._queue_picker.pick(roster_rng)
                    queues.append(other)
                name = f"agent-{count:04d}"
                agent = _Agent(name, tuple(queues), shifts[shift_name], Random(f"{seed}/{name}"))
                self._start_agent(agent, start_ms)

    def _start_agent(self, agent: _Agent, start_ms: int) -> None:
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

    def _plan(self, agent: _Agent, start_ms: int) -> Iterator[tuple[int, str]]:
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

    def _transition(self, agent: _Agent, t: int) -> None:
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

    def _heartbeat(self, arg: tuple[_Agent, int], t: int) -> None:
        agent, token = arg
        if token != agent.token:
            return  # superseded by a transition
        self._push(t, None, {"event_id": None, "type": "agent.presence", "occurred_at": None,
                             "agent": agent.name, "status": agent.status,
                             "queues": list(agent.queues)})  # fmt: skip
        if agent.status == "offline":
            return
        self._push(t + self._refresh_ms, self._heartbeat, arg)
        if agent.status == "online":
            self._pick_up(agent, t)

    def _pick_up(self, agent: _Agent, t: int) -> None:
        """Take a few waiting tickets of each queue, spread over the next refresh."""
        rng, take = self._rng, self._p.presence.pickup_per_refresh
        for name in agent.queues:
            parked = self._queues[name].parked
            for _ in range(min(take, len(parked))):
                action, tk = parked.popleft()
                self._push(t + 1 + int(rng.random() * self._refresh_ms), action, tk)


def _allocate(size: int, mix: Iterable[tuple[str, float]]) -> list[str]:
    """Split `size` agents over shifts by largest remainder (deterministic, exact total)."""
    items = [(name, weight) for name, weight in mix if weight > 0]
    total = sum(weight for _, weight in items)
    quotas = [(name, size * weight / total) for name, weight in items]
    counts = {name: math.floor(quota) for name, quota in quotas}
    by_remainder = sorted(quotas, key=lambda item: math.floor(item[1]) - item[1])  # stable
    for name, _ in by_remainder[: size - sum(counts.values())]:
        counts[name] += 1
    return [name for name, _ in items for _ in range(counts[name])]
