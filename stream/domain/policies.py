"""SLA policies: which targets a ticket is held to, chosen by its queue, priority and channel."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Final

from stream.domain.calendars import Calendar
from stream.domain.vocabulary import CHANNELS, PRIORITIES

#: The SLA clocks (the `sla` label values), in the order they are reported.
CLOCKS: Final = ("first_reply", "next_reply", "resolution")

#: A running clock is "at risk" when this little of its target is left.
DEFAULT_AT_RISK_WITHIN_S: Final = 900.0

#: `PolicySet.select` forgets its memo beyond this many distinct triples. Labels are
#: bounded upstream, so this only guards against a producer sending endless queue names.
SELECT_CACHE_MAX: Final = 100_000


@dataclass(frozen=True, slots=True)
class SlaPolicy:
    """The targets a matching ticket is held to, counted on `calendar`.

    A match dimension left None accepts any value, so a policy with no match at all is a
    catch-all. A clock missing from `targets` is not measured for the tickets it selects.
    """

    name: str
    calendar: Calendar
    targets: Mapping[str, float]
    at_risk_within_s: float = DEFAULT_AT_RISK_WITHIN_S
    priorities: frozenset[str] | None = None
    queues: frozenset[str] | None = None
    channels: frozenset[str] | None = None

    def __post_init__(self) -> None:
        unknown = set(self.targets) - set(CLOCKS)
        if unknown:
            raise ValueError(f"policy {self.name!r}: unknown clocks {sorted(unknown)}")
        if not self.targets or min(self.targets.values()) <= 0:
            raise ValueError(f"policy {self.name!r}: needs at least one target, each > 0")
        if not self.at_risk_within_s >= 0:
            raise ValueError(f"policy {self.name!r}: at_risk_within_s must be >= 0")
        # Frozen means frozen: a caller's dict edited later must not move the targets.
        object.__setattr__(self, "targets", MappingProxyType(dict(self.targets)))

    def matches(self, queue: str, priority: str, channel: str) -> bool:
        """Return whether a ticket with these attributes falls under this policy."""
        return (
            (self.queues is None or queue in self.queues)
            and (self.priorities is None or priority in self.priorities)
            and (self.channels is None or channel in self.channels)
        )

    def covers(self, other: SlaPolicy) -> bool:
        """Return whether this policy matches every ticket `other` matches.

        Listed first, it leaves `other` nothing: a configuration mistake worth reporting.
        Priorities and channels are closed vocabularies, so listing all of them is as good
        as listing none; queue names are open, so only None covers a None.
        """
        return (
            _covers(self.queues, other.queues, None)
            and _covers(self.priorities, other.priorities, frozenset(PRIORITIES))
            and _covers(self.channels, other.channels, frozenset(CHANNELS))
        )


def _covers(
    mine: frozenset[str] | None, theirs: frozenset[str] | None, universe: frozenset[str] | None
) -> bool:
    if mine is None:
        return True
    if theirs is None:
        return universe is not None and mine >= universe
    return mine >= theirs


class PolicySet:
    """The policies in priority order; the first one that matches a ticket applies.

    Selection runs for every event on the hot path, and the label triples are few, so the
    answer is memoised per triple (None included: "no SLA" is an answer too).
    """

    __slots__ = ("_memo", "policies")

    def __init__(self, policies: Sequence[SlaPolicy] = ()) -> None:
        names = [p.name for p in policies]
        if len(set(names)) != len(names):
            raise ValueError(f"policy names must be unique: {names}")
        self.policies: tuple[SlaPolicy, ...] = tuple(policies)
        self._memo: dict[tuple[str, str, str], SlaPolicy | None] = {}

    def select(self, queue: str, priority: str, channel: str) -> SlaPolicy | None:
        """Return the first policy that matches, or None when the ticket has no SLA."""
        key = (queue, priority, channel)
        try:
            return self._memo[key]
        except KeyError:
            pass
        found = next((p for p in self.policies if p.matches(queue, priority, channel)), None)
        if len(self._memo) >= SELECT_CACHE_MAX:
            self._memo.clear()
        self._memo[key] = found
        return found

    def get(self, name: str) -> SlaPolicy | None:
        """Return the policy called `name` (tickets remember their policy by name)."""
        return next((p for p in self.policies if p.name == name), None)

    def __len__(self) -> int:
        return len(self.policies)

    def __iter__(self) -> Iterator[SlaPolicy]:
        return iter(self.policies)

    def __repr__(self) -> str:
        return f"PolicySet({[p.name for p in self.policies]!r})"
