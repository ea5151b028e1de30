"""Bodies of the simulated events, one builder per event type.

`event_id` and `occurred_at` are left None: the scheduler fills them in when it emits the
event. Key order shows in the JSON lines, so a seed's output changes if it changes.
"""

from __future__ import annotations

from stream.simulate.run_state import Agent, Ticket
from stream.simulate.scheduler import Event


def ticket_created(tk: Ticket) -> Event:
    """`ticket.created`, with the assignee when the ticket is created assigned."""
    event = {"event_id": None, "type": "ticket.created", "occurred_at": None,
             "ticket_id": tk.id, "queue": tk.queue, "priority": tk.priority,
             "channel": tk.channel, "status": tk.status}  # fmt: skip
    if tk.agent is not None:
        event["assignee"] = tk.agent.name
    return event


def ticket_assigned(tk: Ticket, agent: str | None) -> Event:
    """`ticket.assigned` to agent `agent`, or unassigned when None."""
    return {"event_id": None, "type": "ticket.assigned", "occurred_at": None,
            "ticket_id": tk.id, "assignee": agent}  # fmt: skip


def queue_changed(tk: Ticket) -> Event:
    """`ticket.queue_changed` to the ticket's current queue."""
    return {"event_id": None, "type": "ticket.queue_changed", "occurred_at": None,
            "ticket_id": tk.id, "queue": tk.queue}  # fmt: skip


def priority_changed(tk: Ticket) -> Event:
    """`ticket.priority_changed` to the ticket's current priority."""
    return {"event_id": None, "type": "ticket.priority_changed", "occurred_at": None,
            "ticket_id": tk.id, "priority": tk.priority}  # fmt: skip


def status_changed(tk: Ticket, status: str) -> Event:
    """`ticket.status_changed` to `status`."""
    return {"event_id": None, "type": "ticket.status_changed", "occurred_at": None,
            "ticket_id": tk.id, "status": status}  # fmt: skip


def ticket_message(tk: Ticket, author: str, public: bool) -> Event:
    """`ticket.message` by `author` (`agent` or `customer`); not public: an internal note."""
    return {"event_id": None, "type": "ticket.message", "occurred_at": None,
            "ticket_id": tk.id, "author": author, "public": public}  # fmt: skip


def interaction_completed(tk: Ticket, agent: Agent, talk: int, hold: int, wrap: int) -> Event:
    """`interaction.completed`: one agent's talk, hold and wrap seconds on the ticket."""
    return {"event_id": None, "type": "interaction.completed", "occurred_at": None,
            "ticket_id": tk.id, "agent": agent.name, "talk_seconds": talk,
            "hold_seconds": hold, "wrap_seconds": wrap}  # fmt: skip


def survey_csat(tk: Ticket, score: int) -> Event:
    """`survey.csat` about the ticket."""
    return {"event_id": None, "type": "survey.csat", "occurred_at": None,
            "ticket_id": tk.id, "score": score}  # fmt: skip


def ticket_nps(tk: Ticket, score: int) -> Event:
    """`survey.nps` sent after a ticket's solve: it names the ticket."""
    return {"event_id": None, "type": "survey.nps", "occurred_at": None,
            "ticket_id": tk.id, "score": score}  # fmt: skip


def relationship_nps(queue: str, score: int) -> Event:
    """Relationship `survey.nps`: not about a ticket, so it names the queue instead."""
    return {"event_id": None, "type": "survey.nps", "occurred_at": None,
            "score": score, "queue": queue}  # fmt: skip


def agent_presence(agent: Agent) -> Event:
    """`agent.presence`: the agent's status and queues."""
    return {"event_id": None, "type": "agent.presence", "occurred_at": None,
            "agent": agent.name, "status": agent.status,
            "queues": list(agent.queues)}  # fmt: skip
