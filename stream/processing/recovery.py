"""Turning a recovered changelog back into entities and aggregates."""

from __future__ import annotations

from typing import Any

from stream.domain.aggregates import PartitionAggregates
from stream.domain.facts import nps_contribution
from stream.domain.rules import TicketRules
from stream.domain.ticket import TicketState
from stream.processing.entities import AgentPresence, LoneNps, PartitionRecord


def load_entity(value: dict[str, Any], *, rules: TicketRules, now_s: float) -> Any:
    """The entity a changelog value (a ``to_dict`` output) describes, derived at ``now_s``."""
    kind = value.get("k")
    if kind == "partition":
        return PartitionRecord.from_dict(value)
    if kind == "nps":
        return LoneNps.from_dict(value)
    if kind == "agent":
        return AgentPresence.from_dict(value)
    return TicketState.from_dict(value, rules=rules, now_s=now_s)


def rebuild_aggregates(
    agg: PartitionAggregates,
    tickets: list[TicketState],
    lone_nps: list[LoneNps],
    record: PartitionRecord,
) -> None:
    """Recompute a partition's aggregates: its tickets, lone NPS and retired facts."""
    contribs = [t.facts.contrib for t in tickets]
    contribs += [nps_contribution(n.queue, n.t, n.score) for n in lone_nps]
    agg.rebuild(
        contribs,
        [t.counted.values() for t in tickets],
        [t.observed.values() for t in tickets],
        [(t.ticket_id, info) for t in tickets if (info := t.open_info) is not None],
    )
    for key, n in record.retired_counters.items():
        agg.count(key, n)
    for (metric, labels), hist in record.retired_histograms.items():
        agg.add_histogram(metric, labels, hist)
