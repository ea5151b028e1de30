"""The deadline queue: earliest deadline per key, strict passing, rescheduling, compaction."""

from __future__ import annotations

from stream.domain.deadlines import DeadlineQueue


def test_deadline_queue__pops_passed_deadlines_in_time_order_strictly() -> None:
    q = DeadlineQueue()
    q.schedule("b", 20.0)
    q.schedule("a", 10.0)
    q.schedule("c", 30.0)
    assert q.pop_due(10.0) == []  # at the deadline itself the clock is still within target
    assert q.pop_due(20.5) == ["a", "b"]
    assert (len(q), q.next_s()) == (1, 30.0)


def test_deadline_queue__rescheduling_and_clearing_leave_no_stale_pops() -> None:
    q = DeadlineQueue()
    q.schedule("a", 10.0)
    q.schedule("a", 50.0)  # the reply came: the next deadline is later
    q.schedule("b", 15.0)
    q.schedule("b", None)  # solved: nothing to watch
    assert q.pop_due(40.0) == []
    assert q.get("a") == 50.0
    assert q.pop_due(60.0) == ["a"]
    assert (len(q), q.next_s()) == (0, None)


def test_deadline_queue__stays_bounded_under_endless_rescheduling() -> None:
    q = DeadlineQueue()
    for i in range(100_000):
        q.schedule("a", float(1000 + i))
    assert len(q._heap) <= 2 * len(q) + 1025
    assert q.pop_due(1e9) == ["a"]
