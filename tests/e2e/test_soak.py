"""Soak, short version: eight days of event time in about a minute, memory levels off.

``make soak`` runs the long version (``soak/run.py``). Here a simulated eight-day history is
replayed at about 13,000 x real time against a worker on the event clock, with retention as
short as the settings allow (solved and closed tickets leave 49 h after their last event),
so that within the minute windows expire and tickets are dropped. Sampled every 3 s:

- every message is consumed and accounted for, and the worker stays alive;
- ``support_tickets_tracked`` stops growing once tickets start leaving (from about day 5
  it stays within a band, well below the tickets created);
- RSS stops growing with it: from day 5 on it rises by at most 10%;
- the lag stays bounded (the replay never gets far ahead of the worker).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from soak.run import SHORT_RETENTION, SoakConfig, SoakResult, report, run_soak
from stream.kafka.embedded import EmbeddedBroker

pytestmark = pytest.mark.e2e

DAYS = 8.0
LEVEL_FROM_DAY = 5.0  # retention (49 h) plus the tail of ticket lifetimes


@pytest.fixture(scope="module")
def soaked(embedded_broker: EmbeddedBroker, tmp_path_factory: pytest.TempPathFactory) -> SoakResult:
    cfg = SoakConfig(mode="replay", minutes=0.9, rate=0.3, days=DAYS, interval_s=3.0, seed=3,
                     worker_env=dict(SHORT_RETENTION), drain_timeout_s=60)  # fmt: skip
    work: Path = tmp_path_factory.mktemp("e2e-soak")
    result = run_soak(embedded_broker.url, embedded_broker.bootstrap_servers, cfg, work)
    print("\n" + report(result))
    return result


def _day(result: SoakResult, stream_time_s: float) -> float:
    return (stream_time_s - result.first_event_s) / 86400


def test_soak__every_message_accounted_and_the_worker_alive(soaked: SoakResult) -> None:
    assert soaked.ok, report(soaked) + "\n" + soaked.worker_log[-3000:]
    assert soaked.published > 30_000 and soaked.tickets_created > 2_000


def test_soak__tracked_tickets_level_off(soaked: SoakResult) -> None:
    late = [s for s in soaked.samples if _day(soaked, s.stream_time_s) >= LEVEL_FROM_DAY]
    assert len(late) >= 5, report(soaked)
    tracked = [s.tracked for s in late]
    assert max(tracked) <= 1.35 * min(tracked), report(soaked)
    # Most tickets have left: the state holds the backlog and the last two days.
    assert soaked.samples[-1].tracked <= 0.55 * soaked.tickets_created, report(soaked)


def test_soak__rss_is_flat_once_tickets_leave(soaked: SoakResult) -> None:
    late = [s for s in soaked.samples if _day(soaked, s.stream_time_s) >= LEVEL_FROM_DAY]
    assert late, report(soaked)
    assert max(s.rss_mib for s in late) <= 1.10 * late[0].rss_mib, report(soaked)


def test_soak__lag_is_bounded(soaked: SoakResult) -> None:
    assert max(s.lag for s in soaked.samples) <= 0.15 * soaked.published, report(soaked)
    assert soaked.samples[-1].lag == 0
