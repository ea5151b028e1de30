"""The traffic profile: valid, realistic defaults and loud rejection of impossible ones."""

from __future__ import annotations

import math
import random
import statistics
from collections.abc import Callable

import pytest

from stream.simulate.profile import (
    CHANNELS,
    PRIORITIES,
    ArrivalCurve,
    Lifecycle,
    LogNormal,
    Presence,
    Profile,
    QueueProfile,
    Surveys,
)

MIX = (("email", 1.0),)
PRIO = (("normal", 1.0),)


def test_profile__defaults_are_valid_and_cover_every_channel_and_priority() -> None:
    profile = Profile()

    assert len(profile.queues) >= 5
    assert {name for q in profile.queues for name, _ in q.channels} == set(CHANNELS)
    assert {name for q in profile.queues for name, _ in q.priorities} == set(PRIORITIES)
    assert {name for name, _ in profile.channels} == set(CHANNELS)


def test_arrival_curve__averages_one_with_quiet_nights_and_a_morning_peak() -> None:
    hourly = ArrivalCurve().hourly

    assert statistics.fmean(hourly) == pytest.approx(1.0)
    assert max(hourly[0:6]) < 0.5
    assert max(range(24), key=hourly.__getitem__) in range(8, 12)


def test_arrival_curve__multiplier_follows_local_time() -> None:
    curve = ArrivalCurve(hourly=tuple(float(h + 1) for h in range(24)), utc_offset_s=-5 * 3600)

    assert curve.multiplier_at(15 * 3600.0) == 11.0  # 15:00 UTC is 10:00 local
    assert curve.multiplier_at(2 * 3600.0 + 59.9) == 22.0  # 02:00 UTC is 21:00 the day before


@pytest.mark.parametrize(
    "hourly", [(1.0,) * 23, (1.0,) * 23 + (-0.1,), (0.0,) * 24], ids=["short", "negative", "zero"]
)
def test_arrival_curve__rejects_impossible_curves(hourly: tuple[float, ...]) -> None:
    with pytest.raises(ValueError, match="24 multipliers"):
        ArrivalCurve(hourly=hourly)


def test_channels__live_channels_answer_in_seconds_and_async_in_hours() -> None:
    profile = Profile()
    live = [profile.channel(name).first_reply.median_s for name in ("chat", "phone")]
    desk = [profile.channel(name).first_reply.median_s for name in ("email", "web", "api")]

    assert max(live) < 120
    assert min(desk) > 1800
    assert profile.channel("phone").handle.hold_probability > 0
    assert profile.channel("email").handle.hold_probability == 0


def test_priority_reply_factor__urgent_is_fastest_and_low_slowest() -> None:
    factor = dict(Profile().priority_reply_factor)

    assert factor["urgent"] < factor["high"] < factor["normal"] < factor["low"]


def test_lifecycle__reopen_and_close_odds_are_realistic() -> None:
    life = Lifecycle()

    assert 0.05 <= life.reopen_probability <= 0.10
    assert 0.5 <= life.close_probability < 1.0  # some tickets stay solved


@pytest.mark.parametrize(
    "build",
    [
        lambda: Profile(lifecycle=Lifecycle(reopen_probability=1.5)),
        lambda: Profile(surveys=Surveys(csat_response_rate=-0.1)),
        lambda: Profile(queues=(QueueProfile("a", 1.0, 1, (("fax", 1.0),), PRIO, (("day", 1),)),)),
        lambda: Profile(queues=(QueueProfile("a", 1.0, 1, MIX, (("asap", 1.0),), (("day", 1),)),)),
        lambda: Profile(queues=(QueueProfile("a", 1.0, 1, MIX, PRIO, (("weekend", 1.0),)),)),
        lambda: Profile(queues=(QueueProfile("a", 1.0, 1, MIX, PRIO, (("day", 0.0),)),)),
        lambda: Profile(queues=(QueueProfile("a", 0.0, 1, MIX, PRIO, (("day", 1.0),)),)),
        lambda: Profile(queues=(QueueProfile("a", 1, 1, MIX, PRIO, (("day", 1),)),) * 2),
        lambda: Profile(channels=Profile().channels[1:]),
        lambda: Profile(priority_reply_factor=(("normal", 1.0),)),
        lambda: LogNormal(0.0, 1.0),
    ],
    ids=[
        "probability-above-1",
        "rate-below-0",
        "unknown-channel",
        "unknown-priority",
        "unknown-shift",
        "all-zero-mix",
        "zero-share",
        "duplicate-queue",
        "missing-channel",
        "missing-priority",
        "zero-median",
    ],
)
def test_profile__rejects_impossible_settings(build: Callable[[], object]) -> None:
    with pytest.raises(ValueError):
        build()


def test_lognormal__sample_median_matches_within_sampling_error() -> None:
    dist = LogNormal(300.0, 0.8)
    rng = random.Random(11)
    n = 4001
    median = statistics.median(dist.sample(rng) for _ in range(n))

    # The sample median of a normal (here: of the logs) has sd ~ 1.2533 sigma / sqrt(n).
    tolerance = 4 * 1.2533 * dist.sigma / math.sqrt(n)
    assert abs(math.log(median / dist.median_s)) < tolerance
    assert dist.mean_s == pytest.approx(300.0 * math.exp(0.32))


def test_lognormal__never_exceeds_its_cap() -> None:
    dist = LogNormal(60.0, 2.0, max_s=120.0)
    rng = random.Random(3)

    assert max(dist.sample(rng) for _ in range(2000)) == 120.0


def test_presence_day_plan__goes_online_takes_breaks_and_ends_offline() -> None:
    presence = Presence()
    shift = presence.shifts[0]
    plan = presence.day_plan(random.Random(5), shift, 1_000_000.0)
    times = [t for t, _ in plan]
    statuses = [s for _, s in plan]

    assert times == sorted(times)
    assert statuses[0] == "online" and statuses[-1] == "offline"
    assert statuses[1:-1] == ["away", "online"] * ((len(plan) - 2) // 2)
    assert "away" in statuses
    assert abs(times[0] - 1_000_000.0) <= 3 * presence.login_jitter_s
    assert abs(times[-1] - 1_000_000.0 - shift.length_h * 3600) <= 3 * presence.login_jitter_s


def test_presence_day_plan__staggers_breaks_so_a_shift_never_vanishes() -> None:
    presence = Presence()
    shift = presence.shifts[1]
    plans = [presence.day_plan(random.Random(i), shift, 0.0) for i in range(300)]

    def away_share(t: float) -> float:
        away = 0
        for plan in plans:
            status = "offline"
            for at, new in plan:
                if at > t:
                    break
                status = new
            away += status == "away"
        return away / len(plans)

    worst = max(away_share(minute * 60.0) for minute in range(0, int(shift.length_h * 60), 5))
    assert worst < 0.3
