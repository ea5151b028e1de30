"""How a ticket's facts and SLA clocks move on: one event folded in, or the whole history.

A ticket's facts (:mod:`stream.domain.facts`) and its SLA walk
(:mod:`stream.domain.sla_clocks`) are folds over its sorted events, and the ticket keeps
both after its last event. An event that sorts after every other is one step of each
(:func:`fold_in`); a later processing clock only finishes the clocks again
(:func:`finish_again`); anything else derives the whole history (:func:`derive_all`).
Each says what changed as a :class:`Moved`, so the ticket state can account for it.

The merged contributions and counted facts live in the :class:`Facts`: the fold's own,
the tail of the facts (what depends on their end state: CSAT, FCR, the level gauges) and
the SLA tail (breaches the processing clock has decided). A step retracts the old tails
and adds the new ones; their keys never meet the fold's own, and they are whole numbers,
so the result is exactly that of a whole derivation
(``tests/domain/test_ticket_fold.py`` holds the two equal after every event).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from stream.domain.facts import (
    ContribKey,
    CounterKey,
    Facts,
    Journal,
    Observation,
    add_into,
    derive,
    retract_from,
    step,
    tail_of,
)
from stream.domain.records import TicketEvent
from stream.domain.rules import TicketRules
from stream.domain.sla_clocks import NO_OUTCOMES, SlaFacts, SlaWalk, walk

#: Where a stored walk would record outcomes: never written, each step swaps in a journal.
_NO_OUT = SlaFacts(NO_OUTCOMES, NO_OUTCOMES)


@dataclass(slots=True)
class Moved:
    """What one move changed: the delta for the aggregates, and what it may count anew."""

    sla: SlaFacts
    delta: dict[ContribKey, float] = field(default_factory=dict)
    #: Facts counted by the move, to check against what the ticket has ever counted.
    counted: list[dict[str, CounterKey]] = field(default_factory=list)
    observations: dict[str, Observation] = field(default_factory=dict)


def derive_all(
    events: list[TicketEvent], rules: TicketRules, now_s: float
) -> tuple[Facts, SlaFacts, SlaWalk | None]:
    """The facts, the SLA facts at ``now_s`` and the walk to go on from, from scratch.

    The SLA contributions and counted outcomes are merged into the facts, so one delta and
    one counted map cover both; the SLA facts keep their live clocks and, in their own maps,
    only the breaches that the processing clock decided (the tail a later clock redoes).
    """
    facts = derive(events, fcr_reopen_window_s=rules.fcr_reopen_window_s)
    if facts.created_at is None:
        return facts, SlaFacts(), None
    w = walk(events, rules.policies)
    assert w is not None
    walked, w.out = w.out, _NO_OUT
    sla = w.finish(now_s, rules.default_backlog_age_s)
    add_into(facts.contrib, walked.contrib)
    facts.counted.update(walked.counted)
    add_into(facts.contrib, sla.contrib)
    facts.counted.update(sla.counted)
    if not facts.observations:
        facts.observations = NO_OUTCOMES  # most open tickets observed nothing yet
    return facts, sla, w


def fold_in(
    facts: Facts, w: SlaWalk, old_sla: SlaFacts, rec: TicketEvent, rules: TicketRules,
    now_s: float,
) -> Moved:  # fmt: skip
    """Fold an event that sorts after every other into ``facts`` and ``w`` (both move on)."""
    old_tail = tail_of(facts)
    # One journal for both steps: their keys never meet (facts and SLA metrics).
    journal = Journal()
    step(facts, rec, rules.fcr_reopen_window_s, journal)
    w.out = journal
    w.step(rec)
    w.out = _NO_OUT
    sla = w.finish(now_s, rules.default_backlog_age_s, old_sla)
    new_tail = tail_of(facts)
    contrib, counted = facts.contrib, facts.counted
    if old_tail:
        retract_from(contrib, old_tail)
    _retract_sla(facts, old_sla)
    add_into(contrib, journal.contrib)
    add_into(contrib, new_tail)
    if sla.contrib:
        add_into(contrib, sla.contrib)
    if journal.counted:
        counted.update(journal.counted)
    if sla.counted:
        counted.update(sla.counted)
    if journal.observations:
        if facts.observations is NO_OUTCOMES:
            facts.observations = {}
        facts.observations.update(journal.observations)
    delta = journal.contrib  # the journal is this step's own: it becomes the delta
    add_into(delta, new_tail)
    add_into(delta, sla.contrib)
    _minus(delta, old_tail)
    _minus(delta, old_sla.contrib)
    return Moved(sla, {k: d for k, d in delta.items() if d}, [journal.counted, sla.counted],
                 journal.observations)  # fmt: skip


def finish_again(
    facts: Facts, w: SlaWalk, old_sla: SlaFacts, rules: TicketRules, now_s: float
) -> Moved:
    """Finish the clocks at another processing clock: only the SLA tail can change."""
    sla = w.finish(now_s, rules.default_backlog_age_s, old_sla)
    _retract_sla(facts, old_sla)
    add_into(facts.contrib, sla.contrib)
    facts.counted.update(sla.counted)
    delta = dict(sla.contrib)
    _minus(delta, old_sla.contrib)
    return Moved(sla, {k: d for k, d in delta.items() if d}, [sla.counted])


def _retract_sla(facts: Facts, old_sla: SlaFacts) -> None:
    if old_sla.contrib:
        retract_from(facts.contrib, old_sla.contrib)
    for fact_id in old_sla.counted:
        del facts.counted[fact_id]


def _minus(into: dict[ContribKey, float], extra: dict[ContribKey, float]) -> None:
    for key, value in extra.items():
        into[key] = into.get(key, 0.0) - value
