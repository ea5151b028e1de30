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

from faust.transport.drivers.aiokafka import AIOKafkaConsumerThread, Consumer
from mode.services import WaitResults

#: Faust's own value (hard-coded in its aiokafka driver).
FAUST_FETCH_MAX_WAIT_MS = 1500


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


class _ConsumerThread(AIOKafkaConsumerThread):
    """Faust's consumer thread, with the fetch wait of its :class:`FastConsumer`."""

    def _create_worker_consumer(self, transport: Any) -> Any:
        consumer = super()._create_worker_consumer(transport)
        # Faust passes fetch_max_wait_ms=1500 with no setting to change it; aiokafka reads
        # the attribute when the consumer starts (it builds its Fetcher in start()).
        consumer._fetch_max_wait_ms = getattr(self.consumer, "fetch_max_wait_ms",
                                              FAUST_FETCH_MAX_WAIT_MS)  # fmt: skip
        return consumer


class FastConsumer(Consumer):
    """The aiokafka consumer whose message hand-off runs inline when nothing waits.

    It also fetches with ``fetch_max_wait_ms`` (see :meth:`configured`) instead of Faust's
    fixed 1.5 s: a fetch returns as soon as messages arrive on a broker that honours
    ``fetch.min.bytes``, but the embedded broker holds it for a good part of the wait, and
    that wait was most of the delay from an event to its metric (``make bench``, freshness).
    """

    fetch_max_wait_ms: int = FAUST_FETCH_MAX_WAIT_MS

    @classmethod
    def configured(cls, *, fetch_max_wait_ms: int) -> type[FastConsumer]:
        """This class with a fetch wait of its own (one app's setting, not a global)."""
        return type(cls.__name__, (cls,), {"fetch_max_wait_ms": fetch_max_wait_ms})

    def _new_consumer_thread(self) -> AIOKafkaConsumerThread:
        return _ConsumerThread(self, loop=self.loop, beacon=self.beacon)

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
