"""Staffing gauges: one value per queue from a view taken at scrape time, plus partitions."""

from __future__ import annotations

from collections.abc import Callable

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from stream.adapters.staffing_exporter import StaffingCollector
from stream.domain.policies import PolicySet
from stream.domain.staffing import QueueInputs, StaffingConfig, plan_queue
from stream.wiring.staffing import StaffingView

NO_POLICIES = PolicySet(())

# chat: 60 arrivals/h, 40 chat interactions of 9600 s -> AHT 240 s, load 4.0 erlangs,
# real-time 80% in 20 s -> 7 required (see tests/domain/test_staffing.py), scheduled
# 7 / 0.7 = 10; 5 available -> gap 2, service level with 5 = 0.4902, not overloaded.
CHAT = QueueInputs(arrivals_1h=60, handle_seconds_1h=9600, interactions_1h=40,
                   interactions_by_channel_1h={"chat": 40}, available_agents=5)  # fmt: skip
# email: 6 arrivals/h, no interactions -> fallback AHT 600 s, load 6 x 600 / 3600 = 1.0;
# deferred, no policy -> answer 3600 s; ceil(1 / 0.85) = 2 required, scheduled 2 / 0.7;
# 1 available <= load 1.0 -> overloaded, service level 0.
EMAIL = QueueInputs(arrivals_1h=6, available_agents=1)


def view(partitions: int = 4, reporting: list[int] | None = None) -> StaffingView:
    config = StaffingConfig()
    return StaffingView(
        computed_at_s=1_772_442_000.0,
        partitions=partitions,
        reporting=[0, 1, 3] if reporting is None else reporting,
        stale=[2],
        queues={
            "email": plan_queue("email", EMAIL, config, NO_POLICIES),
            "chat": plan_queue("chat", CHAT, config, NO_POLICIES),
        },
    )


def scrape(
    make_view: Callable[[], StaffingView],
) -> dict[str, dict[tuple[tuple[str, str], ...], float]]:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(StaffingCollector(make_view))
    text = generate_latest(registry).decode()
    out: dict[str, dict[tuple[tuple[str, str], ...], float]] = {}
    for family in text_string_to_metric_families(text):
        assert family.type == "gauge", family.name
        assert family.documentation, family.name
        samples = out.setdefault(family.name, {})
        for sample in family.samples:
            samples[tuple(sorted(sample.labels.items()))] = sample.value
    return out


def by_queue(series: dict[tuple[tuple[str, str], ...], float]) -> dict[str, float]:
    return {dict(labels)["queue"]: value for labels, value in series.items()}


def test_exported_series_and_values() -> None:
    got = scrape(view)
    assert set(got) == {
        "support_staffing_offered_load_erlangs",
        "support_staffing_required_agents",
        "support_staffing_scheduled_agents",
        "support_staffing_available_agents",
        "support_staffing_gap_agents",
        "support_staffing_service_level_expected",
        "support_staffing_overloaded",
        "support_staffing_aht_seconds",
        "support_staffing_answer_target_seconds",
        "support_staffing_partitions_reporting",
        "support_staffing_partitions",
    }
    q = {name: by_queue(series) for name, series in got.items() if "partitions" not in name}
    assert q["support_staffing_offered_load_erlangs"] == {"chat": 4.0, "email": 1.0}
    assert q["support_staffing_required_agents"] == {"chat": 7.0, "email": 2.0}
    assert abs(q["support_staffing_scheduled_agents"]["chat"] - 10.0) < 1e-9
    assert abs(q["support_staffing_scheduled_agents"]["email"] - 2 / 0.7) < 1e-9
    assert q["support_staffing_available_agents"] == {"chat": 5.0, "email": 1.0}
    assert q["support_staffing_gap_agents"] == {"chat": 2.0, "email": 1.0}
    expected_sl = q["support_staffing_service_level_expected"]
    assert abs(expected_sl["chat"] - 0.4902) < 1e-4
    assert expected_sl["email"] == 0.0
    assert q["support_staffing_aht_seconds"] == {"chat": 240.0, "email": 600.0}
    assert q["support_staffing_answer_target_seconds"] == {"chat": 20.0, "email": 3600.0}


def test_overloaded_gauge_is_0_or_1() -> None:
    got = scrape(view)
    assert by_queue(got["support_staffing_overloaded"]) == {"chat": 0.0, "email": 1.0}


def test_overloaded_is_0_at_zero_traffic_with_no_agents() -> None:
    config = StaffingConfig()
    quiet = StaffingView(0.0, 1, [0], [], {"quiet": plan_queue("quiet", QueueInputs(), config,
                                                                NO_POLICIES)})  # fmt: skip
    got = scrape(lambda: quiet)
    assert by_queue(got["support_staffing_overloaded"]) == {"quiet": 0.0}
    assert by_queue(got["support_staffing_required_agents"]) == {"quiet": 0.0}
    assert by_queue(got["support_staffing_service_level_expected"]) == {"quiet": 1.0}


def test_partitions_gauges() -> None:
    got = scrape(view)
    assert got["support_staffing_partitions_reporting"] == {(): 3.0}
    assert got["support_staffing_partitions"] == {(): 4.0}
    full = scrape(lambda: view(partitions=2, reporting=[0, 1]))
    assert full["support_staffing_partitions_reporting"] == {(): 2.0}
    assert full["support_staffing_partitions"] == {(): 2.0}


def test_empty_view_exports_families_without_queues() -> None:
    empty = StaffingView(0.0, 4, [], [0, 1, 2, 3], {})
    got = scrape(lambda: empty)
    assert got["support_staffing_required_agents"] == {}
    assert got["support_staffing_partitions_reporting"] == {(): 0.0}
    assert got["support_staffing_partitions"] == {(): 4.0}


def test_view_is_taken_at_every_scrape() -> None:
    calls: list[int] = []

    def counting_view() -> StaffingView:
        calls.append(1)
        return view()

    registry = CollectorRegistry(auto_describe=False)
    registry.register(StaffingCollector(counting_view))
    generate_latest(registry)
    generate_latest(registry)
    assert len(calls) == 2
