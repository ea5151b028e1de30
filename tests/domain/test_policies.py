"""SLA policies: matching, first-match order, the selection memo, and coverage."""

from __future__ import annotations

import pytest

from stream.domain import policies as pol
from stream.domain.calendars import AlwaysOpen
from stream.domain.policies import CLOCKS, DEFAULT_AT_RISK_WITHIN_S, PolicySet, SlaPolicy

CAL = AlwaysOpen()


def policy(
    name: str,
    *,
    priorities: set[str] | None = None,
    queues: set[str] | None = None,
    channels: set[str] | None = None,
) -> SlaPolicy:
    return SlaPolicy(
        name,
        CAL,
        {"first_reply": 3600.0},
        priorities=None if priorities is None else frozenset(priorities),
        queues=None if queues is None else frozenset(queues),
        channels=None if channels is None else frozenset(channels),
    )


def test_clocks__are_the_sla_label_values_in_order() -> None:
    assert CLOCKS == ("first_reply", "next_reply", "resolution")
    assert DEFAULT_AT_RISK_WITHIN_S == 900.0


def test_sla_policy__none_matches_anything() -> None:
    assert policy("any").matches("billing", "low", "email")


def test_sla_policy__every_dimension_must_match() -> None:
    p = policy("p", priorities={"urgent"}, queues={"billing"}, channels={"chat", "phone"})
    assert p.matches("billing", "urgent", "phone")
    assert not p.matches("technical", "urgent", "phone")
    assert not p.matches("billing", "high", "phone")
    assert not p.matches("billing", "urgent", "email")


def test_sla_policy__targets_are_frozen_copies() -> None:
    targets = {"resolution": 60.0}
    p = SlaPolicy("p", CAL, targets)
    targets["resolution"] = 1.0
    assert p.targets["resolution"] == 60.0
    with pytest.raises(TypeError):
        p.targets["resolution"] = 2.0  # type: ignore[index]


@pytest.mark.parametrize(
    ("targets", "at_risk", "message"),
    [
        ({}, 0.0, "at least one target"),
        ({"first_reply": 0.0}, 0.0, "at least one target, each > 0"),
        ({"first_reply": -5.0}, 0.0, "each > 0"),
        ({"first_response": 5.0}, 0.0, "unknown clocks"),
        ({"first_reply": 5.0}, -1.0, "at_risk_within_s"),
    ],
)
def test_sla_policy__rejects_invalid_values(
    targets: dict[str, float], at_risk: float, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        SlaPolicy("p", CAL, targets, at_risk)


def test_policy_set__first_match_wins() -> None:
    urgent = policy("urgent", priorities={"urgent"})
    chat = policy("chat", channels={"chat"})
    rest = policy("rest")
    policies = PolicySet([urgent, chat, rest])
    assert policies.select("billing", "urgent", "chat") is urgent
    assert policies.select("billing", "normal", "chat") is chat
    assert policies.select("billing", "normal", "email") is rest
    assert PolicySet([rest, urgent]).select("billing", "urgent", "chat") is rest


def test_policy_set__no_match_means_no_sla() -> None:
    policies = PolicySet([policy("vip", queues={"vip"})])
    assert policies.select("billing", "normal", "email") is None


def test_policy_set__empty_is_allowed() -> None:
    policies = PolicySet()
    assert len(policies) == 0
    assert list(policies) == []
    assert policies.select("billing", "normal", "email") is None
    assert len(PolicySet(())) == 0


def test_policy_set__len_iter_get() -> None:
    a, b = policy("a", queues={"x"}), policy("b")
    policies = PolicySet([a, b])
    assert len(policies) == 2
    assert list(policies) == [a, b]
    assert policies.policies == (a, b)
    assert policies.get("b") is b
    assert policies.get("c") is None
    assert repr(policies) == "PolicySet(['a', 'b'])"


def test_policy_set__rejects_duplicate_names() -> None:
    with pytest.raises(ValueError, match="unique"):
        PolicySet([policy("a"), policy("a", queues={"x"})])


def test_policy_set__select_is_memoised(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []
    real = SlaPolicy.matches

    def counting(self: SlaPolicy, queue: str, priority: str, channel: str) -> bool:
        calls.append(self.name)
        return real(self, queue, priority, channel)

    monkeypatch.setattr(SlaPolicy, "matches", counting)
    policies = PolicySet([policy("vip", queues={"vip"}), policy("rest")])
    first = policies.select("billing", "normal", "email")
    assert calls == ["vip", "rest"]
    assert policies.select("billing", "normal", "email") is first
    assert calls == ["vip", "rest"]
    policies.select("billing", "normal", "chat")  # another triple: matched afresh
    assert calls == ["vip", "rest", "vip", "rest"]


def test_policy_set__memoises_no_sla_too(monkeypatch: pytest.MonkeyPatch) -> None:
    policies = PolicySet([policy("vip", queues={"vip"})])
    assert policies.select("billing", "normal", "email") is None
    monkeypatch.setattr(SlaPolicy, "matches", lambda *a: pytest.fail("not memoised"))
    assert policies.select("billing", "normal", "email") is None


def test_policy_set__memo_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pol, "SELECT_CACHE_MAX", 3)
    rest = policy("rest")
    policies = PolicySet([rest])
    for i in range(10):
        assert policies.select(f"q{i}", "normal", "email") is rest
        assert len(policies._memo) <= 3
    assert policies.select("q9", "normal", "email") is rest


@pytest.mark.parametrize(
    ("earlier", "later", "covers"),
    [
        (policy("a"), policy("b", queues={"x"}), True),
        (policy("a", queues={"x", "y"}), policy("b", queues={"x"}), True),
        (policy("a", queues={"x"}), policy("b", queues={"x", "y"}), False),
        (policy("a", queues={"x"}), policy("b"), False),
        (policy("a", channels={"chat"}), policy("b", priorities={"high"}), False),
        (policy("a", channels={"chat"}), policy("b", channels={"chat"}, queues={"x"}), True),
        (policy("a", priorities={"low", "normal", "high", "urgent"}), policy("b"), True),
        (policy("a", priorities={"low", "normal", "high"}), policy("b"), False),
        (
            policy("a", channels={"email", "chat", "phone", "web", "social", "api", "other"}),
            policy("b", channels={"chat"}),
            True,
        ),
    ],
)
def test_sla_policy__covers(earlier: SlaPolicy, later: SlaPolicy, covers: bool) -> None:
    assert earlier.covers(later) is covers
