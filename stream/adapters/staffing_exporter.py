"""Prometheus exposition of live staffing (SPEC section 6), computed at scrape time.

Unlike the ticket metrics, these are not additive: every worker computes the whole queue
from the inputs of all partitions and exports the same value, so dashboards and alerts
aggregate them with `max by (queue)`, never `sum`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Protocol

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from stream.domain.staffing import QueueStaffing

_GAUGES: dict[str, tuple[str, Callable[[QueueStaffing], float]]] = {
    "support_staffing_offered_load_erlangs": (
        "Offered load: tickets created in the trailing hour x AHT / 3600 (whole queue).",
        lambda s: s.offered_load_erlangs),
    "support_staffing_required_agents": (
        "Fewest agents on the queue meeting the service-level target within max occupancy "
        "(Erlang C, whole queue).", lambda s: s.required_agents),
    "support_staffing_scheduled_agents": (
        "Agents to roster for the required ones: required / (1 - shrinkage).",
        lambda s: s.scheduled_agents),
    "support_staffing_available_agents": (
        "Agents whose latest presence is online and lists the queue (whole queue; an agent "
        "on two queues counts for both).", lambda s: s.available_agents),
    "support_staffing_gap_agents": (
        "Required - available agents on the queue now (positive: understaffed).",
        lambda s: s.gap_agents),
    "support_staffing_service_level_expected": (
        "Erlang C service level with the available agents (0 when they cannot keep up).",
        lambda s: s.at_available.service_level),
    "support_staffing_overloaded": (
        "1 when the offered load meets or exceeds the available agents: the queue grows "
        "without bound.", lambda s: float(s.at_available.overloaded
                                          and s.offered_load_erlangs > 0)),
    "support_staffing_aht_seconds": (
        "Average handle time used (measured over the hour, or the configured fallback).",
        lambda s: s.aht_s),
    "support_staffing_answer_target_seconds": (
        "Answer-time target the required agents are computed for.",
        lambda s: s.answer_target_s),
}  # fmt: skip


class _View(Protocol):
    """What the collector reads (a `stream.wiring.staffing.StaffingView`)."""

    @property
    def queues(self) -> dict[str, QueueStaffing]: ...

    @property
    def reporting(self) -> list[int]: ...

    @property
    def partitions(self) -> int: ...


class StaffingCollector(Collector):
    """Exports the staffing of every queue from a view taken at scrape time."""

    def __init__(self, view: Callable[[], _View]) -> None:
        self._view = view

    def collect(self) -> Iterator[GaugeMetricFamily]:
        """Build the metric families of one scrape."""
        view = self._view()
        for name, (help_text, value) in _GAUGES.items():
            family = GaugeMetricFamily(name, help_text, labels=["queue"])
            for queue, staffing in sorted(view.queues.items()):
                family.add_metric([queue], float(value(staffing)))
            yield family
        yield GaugeMetricFamily(
            "support_staffing_partitions_reporting",
            "Input partitions whose staffing inputs are fresh; below the partition count the "
            "staffing numbers miss part of the traffic.",
            value=len(view.reporting),
        )
        yield GaugeMetricFamily("support_staffing_partitions",
                                "Input partitions staffing is computed over.",
                                value=view.partitions)  # fmt: skip
