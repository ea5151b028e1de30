"""Live staffing end to end: two workers give the whole queue's numbers, equal to the stream's.

Each of two workers owns half the partitions, so each sees half of every queue's tickets,
interactions and agents. They publish their partitions' inputs to the staffing topic and
read everyone's, so both must report, for every queue, the required and available agents
that a reference computed here from the whole recorded stream gives. The reference follows
the product's definitions directly (trailing-hour buckets, latest presence per agent,
queue at the time of each interaction); only Erlang C itself and the choice of SLA policy
come from the domain code, which has its own unit tests.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson
import pytest

from stream.adapters.policy_file import default_policy_path, load_policy_file
from stream.domain import erlang_c
from stream.kafka.embedded import EmbeddedBroker
from tests.helpers.processes import Worker, http_get, run_cli, running_worker, wait_until
from tests.helpers.prometheus import by, derive_config, running_prometheus

SEED, RATE, DURATION_S = 11, 12, 5400
BUCKET_S, WINDOW_S = 300, 3600
# The shipped deploy/staffing/staffing.toml defaults (SPEC section 6).
LEVEL, REALTIME_ANSWER_S, DEFERRED_ANSWER_S = 0.8, 20.0, 3600.0
MAX_OCCUPANCY, SHRINKAGE, FALLBACK_AHT_S, MIN_INTERACTIONS = 0.85, 0.3, 600.0, 10
PRESENCE_TIMEOUT_S, REALTIME_SHARE = 600.0, 0.5


def _t(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def reference(events: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Each queue's staffing from the whole stream, by the definitions."""
    now = max(_t(e["occurred_at"]) for e in events)
    last = int(now // BUCKET_S) * BUCKET_S
    first = last - WINDOW_S + BUCKET_S

    def in_window(ts: float) -> bool:
        return first <= int(ts // BUCKET_S) * BUCKET_S <= last

    arrivals: dict[str, int] = defaultdict(int)
    handle: dict[str, float] = defaultdict(float)
    channels: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    by_ticket: dict[str, list[tuple[float, int, dict[str, Any]]]] = defaultdict(list)
    presence: dict[str, tuple[float, int, dict[str, Any]]] = {}
    for order, e in enumerate(events):
        t = _t(e["occurred_at"])
        if e["type"] == "agent.presence":
            seen = presence.get(e["agent"])
            if seen is None or t >= seen[0]:  # the latest by event time; a tie: the later
                presence[e["agent"]] = (t, order, e)
        elif "ticket_id" in e:
            by_ticket[e["ticket_id"]].append((t, order, e))
    for story in by_ticket.values():
        story.sort(key=lambda x: (x[0], x[1]))
        created = next((e for _, _, e in story if e["type"] == "ticket.created"), None)
        if created is None:
            continue
        queue, channel = created["queue"], created.get("channel", "other")
        for t, _, e in story:
            if e["type"] == "ticket.created" and in_window(t):
                arrivals[queue] += 1
            elif e["type"] == "ticket.queue_changed":
                queue = e["queue"]
            elif e["type"] == "interaction.completed" and in_window(t):
                handle[queue] += sum(e.get(k, 0) for k in ("talk_seconds", "hold_seconds",
                                                           "wrap_seconds"))  # fmt: skip
                channels[queue][channel] += 1
    available: dict[str, int] = defaultdict(int)
    for t, _, e in presence.values():
        if e["status"] == "online" and now - t <= PRESENCE_TIMEOUT_S:
            for queue in set(e["queues"]):
                available[queue] += 1
    policies = load_policy_file(default_policy_path())
    out = {}
    for queue in set(arrivals) | set(channels) | set(available):
        interactions = sum(channels[queue].values())
        aht = handle[queue] / interactions if interactions >= MIN_INTERACTIONS else FALLBACK_AHT_S
        live = channels[queue]["chat"] + channels[queue]["phone"]
        if interactions and live / interactions >= REALTIME_SHARE:
            answer_s = REALTIME_ANSWER_S
        else:
            deferred = {c: n for c, n in channels[queue].items()
                        if c not in ("chat", "phone") and n}  # fmt: skip
            top = max(sorted(deferred), key=lambda c: deferred[c]) if deferred else "email"
            policy = policies.select(queue, "normal", top)
            answer_s = policy.targets["first_reply"] if policy else DEFERRED_ANSWER_S
        need = erlang_c.required_agents(arrivals[queue], aht, LEVEL, answer_s, MAX_OCCUPANCY,
                                        SHRINKAGE)  # fmt: skip
        now_level = erlang_c.evaluate(available[queue], need.load_erlangs, aht, answer_s)
        out[queue] = {"arrivals_1h": arrivals[queue], "interactions_1h": interactions,
                      "aht_seconds": aht, "required_agents": need.agents,
                      "available_agents": available[queue],
                      "gap_agents": need.agents - available[queue],
                      # for the recording rules
                      "load": need.load_erlangs, "scheduled": need.agents / (1 - SHRINKAGE),
                      "level_now": now_level.service_level,
                      "overloaded": float(now_level.overloaded)}  # fmt: skip
    return out


# Recording rule -> the reference value it must equal, per queue.
STAFFING_RULES: dict[str, str] = {
    "queue:support_staffing_offered_load_erlangs:max": "load",
    "queue:support_staffing_required_agents:max": "required_agents",
    "queue:support_staffing_scheduled_agents:max": "scheduled",
    "queue:support_staffing_available_agents:max": "available_agents",
    "queue:support_staffing_gap_agents:max": "gap_agents",
    "queue:support_staffing_service_level_expected:min": "level_now",
    "queue:support_staffing_overloaded:max": "overloaded",
}


def _staffing(worker: Worker) -> dict[str, Any]:
    status, body = http_get(worker.base + "/api/staffing")
    assert status == 200, body[:300]
    return orjson.loads(body)  # type: ignore[no-any-return]


def _numbers(doc: dict[str, Any]) -> dict[str, dict[str, Any]]:
    keys = ("arrivals_1h", "interactions_1h", "aht_seconds", "required_agents",
            "available_agents", "gap_agents")  # fmt: skip
    return {q: {k: (round(s[k], 6) if isinstance(s[k], float) else s[k]) for k in keys}
            for q, s in doc["queues"].items()}  # fmt: skip


def _rounded(reference: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    keys = ("arrivals_1h", "interactions_1h", "aht_seconds", "required_agents",
            "available_agents", "gap_agents")  # fmt: skip
    return {q: {k: (round(s[k], 6) if isinstance(s[k], float) else s[k]) for k in keys}
            for q, s in reference.items()}  # fmt: skip


def test_staffing__two_workers_report_the_whole_stream(
    embedded_broker: EmbeddedBroker, tmp_path: Path
) -> None:
    history = tmp_path / "history.jsonl"
    made = run_cli("simulate", "--out", str(history), "--rate", str(RATE),
                   "--duration", str(DURATION_S), "--seed", str(SEED))  # fmt: skip
    assert made.returncode == 0, made.stderr
    events = [orjson.loads(line) for line in history.read_bytes().splitlines()]
    whole = reference(events)
    expected = _rounded(whole)
    # The story must exercise the model: several queues, agents, both AHT sources.
    assert len(expected) >= 4 and sum(s["available_agents"] for s in expected.values()) > 10
    assert any(s["interactions_1h"] >= MIN_INTERACTIONS for s in expected.values())
    assert any(s["required_agents"] > 0 for s in expected.values())

    topic = f"staff-{uuid.uuid4().hex[:8]}"
    env = {"SUPPORTPULSE_STAFFING_INTERVAL_S": "1"}
    group = {"topic": topic, "app_id": f"staff-{topic}", "log_dir": tmp_path}
    with (
        running_worker(embedded_broker.url, **group,  # type: ignore[arg-type]
                       env={**env, "SUPPORTPULSE_GROUP_INSTANCE_ID": "a"}) as a,
        running_worker(embedded_broker.url, **group,  # type: ignore[arg-type]
                       env={**env, "SUPPORTPULSE_GROUP_INSTANCE_ID": "b"}) as b,
    ):  # fmt: skip

        def split() -> bool:
            owned = [orjson.loads(http_get(w.base + "/readyz")[1])["owned_partitions"]
                     for w in (a, b)]  # fmt: skip
            return all(owned) and sorted(owned[0] + owned[1]) == [0, 1, 2, 3]

        wait_until(split, timeout=60, what="the two workers to split 4 partitions")
        done = run_cli("replay", str(history), "--broker", embedded_broker.url,
                       "--topic", topic, "--speed", "max")  # fmt: skip
        assert done.returncode == 0, done.stderr

        def consumed() -> bool:
            return sum(w.json("/api/summary")["events"]["consumed"] for w in (a, b)) == len(events)

        wait_until(consumed, timeout=90, what=f"{len(events)} events consumed by the pair")

        def agree() -> tuple[dict[str, Any], dict[str, Any]] | None:
            da, db = _staffing(a), _staffing(b)
            ok = da["complete"] and db["complete"]
            return (da, db) if ok and _numbers(da) == _numbers(db) == expected else None

        try:
            da, db = wait_until(agree, timeout=30, what="both workers to report the stream")
        except AssertionError:
            raise AssertionError(
                f"expected {expected}\nworker a {_numbers(_staffing(a))}\n"
                f"worker b {_numbers(_staffing(b))}"
            ) from None
        # Every worker computes the whole queue: the same numbers on both, and in /metrics.
        samples = a.metrics()
        for queue, numbers in expected.items():
            labels = frozenset({("queue", queue)})
            assert (
                samples[("support_staffing_required_agents", labels)] == numbers["required_agents"]
            )
            assert (
                samples[("support_staffing_available_agents", labels)]
                == numbers["available_agents"]
            )
        assert da["partitions_reporting"] == db["partitions_reporting"] == [0, 1, 2, 3]

        # The shipped recording rules over both workers: the whole queue once (max), not
        # twice (sum), from a real Prometheus scraping the pair.
        targets = f"127.0.0.1:{a.port}\n          - 127.0.0.1:{b.port}"
        with running_prometheus(tmp_path, derive_config(target=targets)) as server:
            wait_until(
                lambda: (
                    len(server.query("up == 1")) == 2
                    and all(server.query(rule) for rule in STAFFING_RULES)
                ),
                timeout=30,
                what=f"both workers scraped and the staffing rules (log: {server.log_path})",
            )
            for rule, key in STAFFING_RULES.items():
                got = by(server.query(rule), "queue")
                assert got == pytest.approx({q: s[key] for q, s in whole.items()}), rule
            assert by(server.query("job:support_agents_expected_online:bool"), "job") == {
                "supportpulse": 1.0
            }
