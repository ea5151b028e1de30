"""Which tickets retention drops: those no late event can change a number of any more."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from stream.domain import vocabulary as v
from stream.domain.ticket import TicketState
from stream.processing.config import ProcessorConfig
from stream.processing.entities import LoneNps, PartitionRecord


def mark_expired(
    entities: Iterable[tuple[str, Any]],
    records: dict[int, PartitionRecord],
    config: ProcessorConfig,
    now_s: float,
) -> None:
    """Retire expired entities of the owned partitions into their records' ``purging``.

    A closed ticket expires once its last event is older than ``closed_retention_s`` (by
    then its window contributions have expired), a solved one after
    ``solved_retention_s`` (past the FCR reopen window), a lone NPS response with its
    window bucket. Unsolved tickets and tickets with held events never expire: they are
    the live backlog. A ticket's counted facts move to the record, so counters and
    histograms never go down.
    """
    for key, entity in list(entities):
        rec = records.get(getattr(entity, "partition", -1))
        if rec is None:
            continue  # not an owned partition, or a recovered value not yet loaded
        if isinstance(entity, TicketState) and not entity.held:
            age = now_s - entity.last_event_s
            closed, solved = entity.facts.closed, entity.facts.status == v.SOLVED
            if (closed and age > config.closed_retention_s) or (
                solved and age > config.solved_retention_s
            ):
                rec.retire(entity.counted.values(), entity.observed.values())
                rec.purging.append(key)
        elif isinstance(entity, LoneNps) and now_s - entity.t > config.closed_retention_s:
            rec.purging.append(key)
