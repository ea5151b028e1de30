"""Faust's consumer, minus four tasks per message.

Faust hands each fetched message to the streams with
``await self.wait_first(callback(message), self.suspend_flow.wait())`` (``Consumer.
_drain_messages``): mode's ``wait_first`` wraps the callback and three events (flow
suspended, service stopped, service crashed) in four tasks and an ``asyncio.wait``, and
cancels the three losers. Profiled under ``make bench`` that was the largest single cost of
the worker outside the processor. Yet the callback almost never waits: it decodes the
message and puts it on a stream's queue, and only blocks when that queue is full.

:class:`FastConsumer` therefore runs the callback inline first. If it finishes without
suspending (the common case) the message is delivered exactly as before, without a task.
If it suspends, the half-run coroutine is handed, still suspended on the same future, to
mode's ``wait_first``, which then races it against the three events as Faust intends: a
rebalance or a stop still interrupts a delivery blocked on a full queue.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine, Generator
from typing import Any

from faust.transport.drivers.aiokafka import Consumer
from mode.services import WaitResults


class _Suspended:
    """Awaitable that continues a coroutine already started and suspended on ``future``.

    The awaiting task waits on each future the coroutine yields and resumes it as the
    coroutine's own task would have; what is thrown in (a cancellation) is passed on.
    """

    def __init__(self, coro: Coroutine[Any, Any, Any], future: Any) -> None:
        self._coro = coro
        self._future = future

    def __await__(self) -> Generator[Any, None, Any]:
        coro, future = self._coro, self._future
        while True:
            try:
                yield future
            except BaseException as exc:  # thrown in by the awaiting task: pass it on
                try:
                    future = coro.throw(exc)
                except StopIteration as stop:
                    return stop.value
            else:
                try:
                    future = coro.send(None)
                except StopIteration as stop:
                    return stop.value


class FastConsumer(Consumer):
    """The aiokafka consumer whose message hand-off runs inline when nothing waits."""

    async def wait_first(self, *coros: Any, timeout: Any = None) -> WaitResults:
        """``Service.wait_first``, with the delivery of one message tried inline first."""
        if (
            len(coros) == 2
            and timeout is None
            and asyncio.iscoroutine(coros[0])
            and asyncio.iscoroutine(coros[1])
            and not self.suspend_flow.is_set()
            and not self._stopped.is_set()
            and not self._crashed.is_set()
        ):
            first, second = coros
            try:
                future = first.send(None)
            except StopIteration as stop:
                second.close()  # the flow-suspended wait, never started
                return WaitResults([first], [stop.value], False)
            except BaseException:
                second.close()
                raise  # as mode's wait_first propagates the callback's exception
            coros = (_Suspended(first, future), second)
        return await super().wait_first(*coros, timeout=timeout)
