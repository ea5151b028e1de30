"""End to end: a real Prometheus scrapes a real worker and evaluates the shipped rules.

The worker replays ``data/stories.jsonl`` (the hand-written stories of test_stories.py, without
T7's two wrongly keyed messages, which that test sends separately: 35 messages here), with
``--clock event``: the processing clock is 2026-03-02T12:00Z, the 1h window holds the buckets
11:05-12:00 and the 24h window those from 2026-03-01T12:05. Prometheus runs the shipped
``deploy/prometheus/prometheus.yml`` with 1 s intervals and the worker as its only target.
Every expected value below is computed by hand from the stories (see test_stories.py).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from stream.kafka.embedded import EmbeddedBroker
from tests.e2e.test_sla_breach import SLA_RULES
from tests.e2e.test_staffing import STAFFING_RULES
from tests.helpers.processes import Worker, run_cli, running_worker, wait_until
from tests.helpers.prometheus import (
    Prometheus,
    by,
    derive_config,
    prometheus_binary,
    recorded_names,
    running_prometheus,
)

STORIES = Path(__file__).parent / "data" / "stories.jsonl"
CONSUMED = 35  # every line of the file
HOUR, DAY = "1h", "24h"


def settled(worker: Worker) -> bool:
    ev = worker.json("/api/summary")["events"]
    accounted = ev["applied"] + ev["duplicate"] + sum(ev["dead_lettered"].values())
    return bool(ev["consumed"] == CONSUMED and accounted == CONSUMED and ev["held"] == 0)


@pytest.fixture(scope="module")
def prometheus(
    embedded_broker: EmbeddedBroker, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Prometheus]:
    """A worker that processed the stories, scraped by a Prometheus that evaluated every rule."""
    prometheus_binary()  # fail before starting anything when it is missing
    topic = f"prom-stories-{uuid.uuid4().hex[:8]}"
    work = tmp_path_factory.mktemp("e2e-prometheus")
    env = {"SUPPORTPULSE_ORPHAN_TIMEOUT_S": "3", "SUPPORTPULSE_HOUSEKEEPING_INTERVAL_S": "1"}
    with running_worker(embedded_broker.url, topic=topic, app_id=f"sp-{topic}", log_dir=work,
                        env=env) as worker:  # fmt: skip
        done = run_cli("replay", str(STORIES), "--broker", embedded_broker.url,
                       "--topic", topic, "--speed", "max")  # fmt: skip
        assert done.returncode == 0, done.stderr
        wait_until(lambda: settled(worker), timeout=60, what="all 35 messages accounted")
        config = derive_config(target=f"127.0.0.1:{worker.port}", interval="1s")
        with running_prometheus(work, config) as server:
            # The worker is settled, so every scrape is the same: once every rule has a
            # sample (the increase() ones need two scrapes), all of them are final. The SLA
            # rules are proved by test_sla_breach.py, where Prometheus watches a breach
            # happen (their error ratios need counters that move while it scrapes), and the
            # staffing rules by test_staffing.py (two workers, a simulated hour).
            what = f"a sample of every recording rule (log: {server.log_path})"
            wait_until(lambda: every_rule_evaluated(server), timeout=30, what=what)
            yield server


def every_rule_evaluated(server: Prometheus) -> bool:
    names = set(recorded_names()) - set(SLA_RULES) - set(STAFFING_RULES)
    result = server.query(f'count by (__name__) ({{__name__=~"{"|".join(names)}"}})')
    return {dict(labels)["__name__"] for labels in result} == names


def test_prometheus_scrape__scrapes_the_worker_with_the_shipped_job(
    prometheus: Prometheus,
) -> None:
    up = prometheus.query("up")
    assert [(dict(k)["job"], v) for k, v in up.items()] == [("supportpulse", 1.0)]


def test_prometheus_scrape__pipeline_accounts_for_every_message(prometheus: Prometheus) -> None:
    result = prometheus.query("job:support_events_unaccounted:sum")
    assert by(result, "job") == {"supportpulse": 0.0}
    # 0 because everything was accounted, not because nothing was consumed.
    assert prometheus.query("sum(support_events_consumed_total)") == {frozenset(): 35.0}


def test_prometheus_scrape__queue_level_sums(prometheus: Prometheus) -> None:
    q = prometheus.query
    # T2 reopened (billing); T3 pending and T4 open (technical); T6 closed, sales kept at 0.
    assert by(q("queue:support_tickets_unsolved:sum"), "queue") == {
        "billing": 1, "technical": 2, "sales": 0}  # fmt: skip
    # T4 is assigned to bob.
    assert by(q("queue:support_tickets_unassigned:sum"), "queue") == {
        "billing": 1, "technical": 1, "sales": 0}  # fmt: skip
    # T4 is 28 h old but only 4 h on its policy's office calendar (< 10 h): no backlog.
    assert by(q("queue:support_backlog_tickets:sum"), "queue") == {
        "billing": 0, "technical": 0, "sales": 0}  # fmt: skip
    # T2 created 09:05, T4 created 2026-03-01T08:00; sales has nothing unsolved.
    assert by(q("queue:support_oldest_unsolved_age_seconds:max"), "queue") == {
        "billing": 10500, "technical": 100800, "sales": 0}  # fmt: skip


def test_prometheus_scrape__counter_increases_are_zero_once_the_worker_is_idle(
    prometheus: Prometheus,
) -> None:
    # Prometheus started after the replay: the counters never moved while it watched.
    created = by(prometheus.query("queue:support_tickets_created:increase1h"), "queue")
    assert created == {"billing": 0, "technical": 0, "sales": 0}
    solved = by(prometheus.query("queue:support_tickets_solved:increase1h"), "queue")
    assert solved == {"billing": 0}


WINDOW_RULES = {
    # rule: {(queue, window): value}, the whole result: a queue and window missing here has a
    # zero denominator and must have no sample.
    "queue_window:support_first_reply_seconds:avg": {
        ("billing", DAY): 1260 / 3,  # T1 600, T2 60, T5 600; no first reply in the last hour
    },
    "queue_window:support_resolution_seconds:avg": {
        ("billing", DAY): 5700 / 3,  # T1 3600, T2 900, T5 1200
    },
    # Business time of each ticket's default policy calendar: every first reply and first
    # solve fell on Monday morning, inside the office (08-18) and contact-centre (07-22)
    # hours, so business time equals calendar time here.
    "queue_window:support_first_reply_business_seconds:avg": {("billing", DAY): 1260 / 3},
    "queue_window:support_resolution_business_seconds:avg": {("billing", DAY): 5700 / 3},
    "queue_window:support_handle_seconds:avg": {
        ("billing", DAY): 400,  # T2 300 + 60 + 40
        ("technical", HOUR): 720, ("technical", DAY): 720,  # T3 600 + 0 + 120
    },
    "queue_window:support_fcr:ratio": {
        ("billing", DAY): 2 / 3,  # T1 and T5 one touch each; T2 two
    },
    "queue_window:support_csat:ratio": {
        ("billing", DAY): 1.0,  # T1 5, T5 4 (replaces its 2)
    },
    "queue_window:support_csat_score:avg": {
        ("billing", DAY): 4.5,
    },
    "queue_window:support_nps:score": {
        ("sales", DAY): -100.0,  # one 3 at 11:00, before the 1h window
        ("technical", HOUR): 100.0, ("technical", DAY): 100.0,  # T3's 9 at 11:50
    },
    "queue_window:support_reopen:ratio": {
        ("billing", DAY): 1 / 3,  # T2 reopened at 11:10; in the last hour nothing was solved
    },
    "queue_window:support_severity:avg": {
        ("billing", DAY): 7 / 3,  # high 3 + normal 2 + normal 2
        ("technical", HOUR): 4.0, ("technical", DAY): 4.0,  # T3 urgent; T4 is older than 24h
        ("sales", DAY): 2.0,  # T6 normal
    },
}  # fmt: skip


@pytest.mark.parametrize("rule", sorted(WINDOW_RULES))
def test_prometheus_scrape__window_rule_matches_the_hand_computed_stories(
    prometheus: Prometheus, rule: str
) -> None:
    assert by(prometheus.query(rule), "queue", "window") == WINDOW_RULES[rule]


def test_prometheus_scrape__handle_time_by_channel(prometheus: Prometheus) -> None:
    result = prometheus.query("queue_channel_window:support_handle_seconds:avg")
    assert by(result, "queue", "channel", "window") == {
        ("billing", "chat", DAY): 400,
        ("technical", "phone", HOUR): 720,
        ("technical", "phone", DAY): 720,
    }


def test_prometheus_scrape__every_rule_is_asserted() -> None:
    asserted = set(WINDOW_RULES) | {
        "queue_channel_window:support_handle_seconds:avg",
        "queue:support_tickets_unsolved:sum",
        "queue:support_tickets_unassigned:sum",
        "queue:support_backlog_tickets:sum",
        "queue:support_oldest_unsolved_age_seconds:max",
        "queue:support_tickets_created:increase1h",
        "queue:support_tickets_solved:increase1h",
        "job:support_events_unaccounted:sum",
        "job:support_producers_expected_active:bool",
    }
    # The SLA rules are asserted by test_sla_breach.py, the staffing ones (and the opening
    # hours switch of the staffing alerts) by test_staffing.py.
    staffing = set(STAFFING_RULES) | {"job:support_agents_expected_online:bool"}
    assert asserted | set(SLA_RULES) | staffing == set(recorded_names())
    assert not asserted & (set(SLA_RULES) | staffing)


def test_prometheus_scrape__producers_are_expected_active_by_default(
    prometheus: Prometheus,
) -> None:
    result = prometheus.query("job:support_producers_expected_active:bool")
    assert by(result, "job") == {"supportpulse": 1.0}
