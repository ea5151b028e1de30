"""Ticket stories: a ticket's life from creation to close, one scheduled step at a time."""

from __future__ import annotations

import math
from random import Random

from stream.simulate import event_bodies as bodies
from stream.simulate.draws import Picker, delay_ms, handle_times, session_outcome
from stream.simulate.profile import Profile
from stream.simulate.run_state import Agent, Queue, Ticket
from stream.simulate.scheduler import Action, Event, Scheduler
from stream.simulate.survey_responses import SurveyResponses


class TicketStories:
    """Creates tickets and plays out their stories on the scheduler.

    Each ticket has at most one future *action* at a time (its next story step), and the
    events a step schedules all lie before that action. That single chain is what
    guarantees per-ticket order: nothing is ever emitted after a ticket's `closed`.

    Work that needs an agent when nobody is online on the queue is parked on the queue;
    agents pull it when they come online (see `AgentPresence`).

    Args:
        schedule: Where steps and events are pushed.
        rng: The run's generator (shared with arrivals and pick-ups: the order of draws
            is part of what makes a seed reproducible).
        profile: The traffic profile.
        queues: The run's queues by name (shared with agent presence).
        queue_picker: Picks a queue by share.
        surveys: Schedules the survey answers that follow a solve.
        ticket_prefix: Prefix of ticket ids; a running count follows it.
    """

    def __init__(
        self,
        schedule: Scheduler,
        rng: Random,
        profile: Profile,
        queues: dict[str, Queue],
        queue_picker: Picker[str],
        surveys: SurveyResponses,
        ticket_prefix: str,
    ) -> None:
        self._push, self._emit_all = schedule.push, schedule.emit_all
        self._rng = rng
        self._life, self._surveys = profile.lifecycle, surveys
        self._queues, self._queue_picker = queues, queue_picker
        self._channels = dict(profile.channels)
        self._factor = dict(profile.priority_reply_factor)
        self._ticket_prefix = ticket_prefix
        self._tickets = 0

    def create(self, t: int) -> None:
        """A ticket arrives at `t`: create it and schedule the first step of its story."""
        rng, life = self._rng, self._life
        queue = self._queues[self._queue_picker.pick(rng)]
        channel = queue.channels.pick(rng)
        chan = self._channels[channel]
        self._tickets += 1
        tk = Ticket(f"{self._ticket_prefix}{self._tickets}", queue.name,
                     queue.priorities.pick(rng), channel, chan)  # fmt: skip
        if rng.random() < life.spam_probability:  # merged duplicate or spam: closed unsolved
            self._push(t, None, bodies.ticket_created(tk))
            self._push(t + delay_ms(life.spam_delay.sample(rng)), self._close_unsolved, tk)
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
                self._push(t, None, bodies.ticket_created(tk))
                self._push(t + delay_ms(chan.first_reply.sample(rng) * factor), self._session, tk)
                return
        self._push(t, None, bodies.ticket_created(tk))
        reply = chan.next_reply if chan.live else chan.first_reply
        wait = max(2, delay_ms(reply.sample(rng) * factor))
        tk.due = t + wait
        self._push(t + max(1, int(wait * rng.uniform(0.2, 0.7))), self._assign, tk)
        if not chan.live and rng.random() < life.impatience_probability:
            nudge_t = t + 1 + int((wait - 2) * rng.uniform(0.3, 0.95))  # before the reply
            self._push(nudge_t, None, bodies.ticket_message(tk, "customer", True))

    def _logged_call(self, tk: Ticket, queue: Queue, t: int) -> bool:
        """An agent logs a call already handled: created solved, so it counts as solved."""
        agent = self._online_agent(queue)
        if agent is None:
            return False
        tk.agent, tk.status, tk.sessions = agent, "solved", 1
        talk, hold, wrap = handle_times(self._rng, tk.chan)
        self._push(t, None, bodies.ticket_created(tk))
        done_t = t + delay_ms(wrap)
        self._push(done_t, None, bodies.interaction_completed(tk, agent, talk, hold, wrap))
        self._after_solve(tk, t, done_t)
        return True

    def _outbound(self, tk: Ticket, queue: Queue, t: int) -> bool:
        """An agent writes to a customer first: created pending, waiting on the customer."""
        agent = self._online_agent(queue)
        if agent is None:
            return False
        rng = self._rng
        tk.agent, tk.status, tk.sessions = agent, "pending", 1
        talk, hold, wrap = handle_times(self._rng, tk.chan)
        done_t = t + 1 + delay_ms(wrap)
        self._emit_all([
            (t, bodies.ticket_created(tk)),
            (t + 1, bodies.ticket_message(tk, "agent", True)),
            (done_t, bodies.interaction_completed(tk, agent, talk, hold, wrap)),
        ])  # fmt: skip
        if rng.random() < self._life.customer_reply_probability:
            self._push(
                done_t + delay_ms(tk.chan.customer_reply.sample(rng)), self._customer_reply, tk
            )
        else:
            self._push(
                done_t + delay_ms(self._life.pending_timeout.sample(rng)), self._stale_solve, tk
            )
        return True

    def _assign(self, tk: Ticket, t: int) -> None:
        queue = self._queues[tk.queue]
        agent = self._online_agent(queue)
        if agent is None:
            queue.parked.append((self._assign, tk))
            return
        tk.agent = agent
        self._push(t, None, bodies.ticket_assigned(tk, agent.name))
        overdue = tk.due <= t  # it waited for an agent: picked up from the backlog
        pickup = delay_ms(self._life.pickup_delay.sample(self._rng)) if overdue else 1000
        self._push(max(tk.due, t + pickup), self._session, tk)

    def _session(self, tk: Ticket, t: int) -> None:
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
            events.append((t, bodies.ticket_assigned(tk, agent.name)))
            t += 1
        triage = tk.sessions == 0 and not tk.transferred and len(self._queues) > 1
        if triage and rng.random() < life.transfer_probability:
            self._transfer(tk, t, events)
            return
        talk, hold, wrap = handle_times(rng, chan)
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
            events.append((note_t, bodies.ticket_message(tk, "agent", False)))
        events.append((reply_t, bodies.ticket_message(tk, "agent", True)))
        tk.sessions += 1
        status = session_outcome(rng, life, tk.sessions, chan.solve_first_session)
        if status != tk.status:
            tk.status = status
            events.append((status_t, bodies.status_changed(tk, status)))
        done_t = max(t + (talk + hold + wrap) * 1000, status_t + 1)
        events.append((done_t, bodies.interaction_completed(tk, agent, talk, hold, wrap)))
        self._emit_all(events)
        if status == "solved":
            self._after_solve(tk, status_t, done_t)
        elif status == "on_hold":
            self._push(done_t + delay_ms(life.on_hold_duration.sample(rng)), self._resume, tk)
        elif rng.random() < life.customer_reply_probability:
            self._push(done_t + delay_ms(chan.customer_reply.sample(rng)), self._customer_reply, tk)
        elif status == "pending":
            self._push(done_t + delay_ms(life.pending_timeout.sample(rng)), self._stale_solve, tk)
        else:
            self._push(done_t + delay_ms(life.agent_follow_up.sample(rng)), self._session, tk)

    def _transfer(self, tk: Ticket, t: int, events: list[tuple[int, Event]]) -> None:
        """Triage finds the wrong queue: move it, unassign it, and route it again."""
        rng = self._rng
        target = tk.queue
        while target == tk.queue:
            target = self._queue_picker.pick(rng)
        tk.queue, tk.agent, tk.transferred = target, None, True
        events.append((t, bodies.ticket_message(tk, "agent", False)))
        events.append((t + 1, bodies.queue_changed(tk)))
        events.append((t + 2, bodies.ticket_assigned(tk, None)))
        self._emit_all(events)
        routed_t = t + 2 + delay_ms(self._life.transfer_delay.sample(rng))
        tk.due = routed_t + delay_ms(tk.chan.first_reply.sample(rng) * self._factor[tk.priority])
        self._push(routed_t, self._assign, tk)

    def _customer_reply(self, tk: Ticket, t: int) -> None:
        """The customer answers (pending -> open) or writes after the solve (a reopen)."""
        rng, life = self._rng, self._life
        events = [(t, bodies.ticket_message(tk, "customer", True))]
        if tk.status != "open":
            if tk.status == "solved":
                tk.reopens += 1
            tk.status = "open"
            events.append((t + 1, bodies.status_changed(tk, "open")))
        next_t = t + 2 + delay_ms(tk.chan.next_reply.sample(rng) * self._factor[tk.priority])
        if rng.random() < life.second_message_probability:
            again_t = t + 2 + delay_ms(life.second_message_delay.sample(rng))
            if again_t < next_t:
                events.append((again_t, bodies.ticket_message(tk, "customer", True)))
        self._emit_all(events)
        self._push(next_t, self._session, tk)

    def _resume(self, tk: Ticket, t: int) -> None:
        """The third party answered: an agent takes the ticket off hold."""
        queue = self._queues[tk.queue]
        if not queue.online:
            queue.parked.append((self._resume, tk))
            return
        tk.status = "open"
        self._push(t, None, bodies.status_changed(tk, "open"))
        self._push(t + delay_ms(self._life.pickup_delay.sample(self._rng)), self._session, tk)

    def _stale_solve(self, tk: Ticket, t: int) -> None:
        """An automation solves a ticket whose customer never answered."""
        tk.status = "solved"
        self._push(t, None, bodies.status_changed(tk, "solved"))
        self._after_solve(tk, t, t)

    def _after_solve(self, tk: Ticket, solved_t: int, free_t: int) -> None:
        """Schedule what follows a solve: a reopen, or a close, or nothing; and surveys.

        Surveys are only emitted before the next story step, so none follows a close.
        """
        rng, life = self._rng, self._life
        action: Action | None = None
        next_t = 0
        if rng.random() < life.reopen_probability * life.repeat_reopen_factor**tk.reopens:
            action = self._customer_reply
            next_t = max(solved_t + delay_ms(life.reopen_delay.sample(rng)), free_t + 1)
        elif rng.random() < life.close_probability:
            action = self._close
            next_t = max(solved_t + delay_ms(life.close_delay.sample(rng)), free_t + 1)
        limit = next_t if action is not None else math.inf
        self._surveys.after_solve(tk, solved_t, limit)
        if action is not None:
            self._push(next_t, action, tk)

    def _close(self, tk: Ticket, t: int) -> None:
        tk.status = "closed"
        self._push(t, None, bodies.status_changed(tk, "closed"))

    def _close_unsolved(self, tk: Ticket, t: int) -> None:
        """An agent closes spam or a merged duplicate without solving it."""
        queue = self._queues[tk.queue]
        if not queue.online:
            queue.parked.append((self._close_unsolved, tk))
            return
        tk.status = "closed"
        self._emit_all(
            [
                (t, bodies.ticket_message(tk, "agent", False)),
                (t + 1, bodies.status_changed(tk, "closed")),
            ]
        )

    def _online_agent(self, queue: Queue) -> Agent | None:
        online = queue.online
        return online[int(self._rng.random() * len(online))] if online else None

    def _priority_change(self, tk: Ticket) -> Event:
        """Mostly an escalation by one level, sometimes a de-escalation."""
        levels = ("low", "normal", "high", "urgent")
        i = levels.index(tk.priority)
        i = i - 1 if (self._rng.random() < 0.2 or i == 3) and i > 0 else min(3, i + 1)
        tk.priority = levels[i]
        return bodies.priority_changed(tk)
