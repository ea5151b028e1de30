"""Faust's consumer, with a cheaper way from a fetch to the processor.

Faust hands each fetched message to the streams with
``await self.wait_first(callback(message), self.suspend_flow.wait())`` (``Consumer.
_drain_messages``): mode's ``wait_first`` wraps the callback and three events (flow
suspended, service stopped, service crashed) in four tasks and an ``asyncio.wait``, and
cancels the three losers. The message then goes through a channel queue, a stream
iterator, a take buffer and an ack of its own. Profiled under ``make bench`` this was most
of the worker's time outside the processor: a Faust app doing nothing else topped out at
about 4,000 messages per second here (phase f).

:class:`FastConsumer` changes two things:

- The input and re-key topics (``batch_topics``) skip the channels and streams: each
  fetch's messages go to the runtime as one list (:meth:`FastConsumer._drain_messages`),
  which applies them in batches and acks them once their effects are sent. Faust still
  runs the group, the assignment, the changelog, recovery and the commits.
- For other topics, the callback runs inline first. If it finishes without suspending (the
  common case) the message is delivered as before, without a task. If it suspends, the
  half-run coroutine is handed, still suspended on the same future, to mode's
  ``wait_first``, which races it against the three events as Faust intends.

It also fetches with ``fetch_max_wait_ms`` instead of Faust's fixed 1.5 s (see
:meth:`FastConsumer.configured`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Coroutine, Generator
from typing import Any

from faust.transport.consumer import CONSUMER_FETCHING
from faust.transport.drivers.aiokafka import AIOKafkaConsumerThread, Consumer
from mode.services import WaitResults

#: Faust's own value (hard-coded in its aiokafka driver).
FAUST_FETCH_MAX_WAIT_MS = 1500
_FETCHING = CONSUMER_FETCHING


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
    """Faust's aiokafka consumer with a batch hand-off and an inline one (see the module).

    ``fetch_max_wait_ms`` replaces Faust's fixed 1.5 s: a fetch returns as soon as messages
    arrive on a broker that honours ``fetch.min.bytes``, but the embedded broker holds it
    for a good part of the wait, and that wait was most of the delay from an event to its
    metric (``make bench``, freshness).
    """

    fetch_max_wait_ms: int = FAUST_FETCH_MAX_WAIT_MS
    #: When set (by the runtime), messages of ``batch_topics`` skip Faust's channels and
    #: streams: each fetch's messages go to it as one list, in fetch order, and it tracks
    #: and acks them itself (see :meth:`_drain_messages`).
    batch_handler: Callable[[list[Any]], Awaitable[None]] | None = None
    batch_topics: frozenset[str] = frozenset()
    batch_size: int = 5000

    @classmethod
    def configured(
        cls,
        *,
        fetch_max_wait_ms: int,
        batch_topics: frozenset[str] = frozenset(),
        batch_size: int = 5000,
    ) -> type[FastConsumer]:
        """This class with settings of its own (one app's, not a global change)."""
        attrs = {"fetch_max_wait_ms": fetch_max_wait_ms, "batch_topics": batch_topics,
                 "batch_size": batch_size}  # fmt: skip
        return type(cls.__name__, (cls,), attrs)

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

    async def _drain_messages(self, fetcher: Any) -> None:
        """Faust's fetch loop, handing the batch topics' messages over a fetch at a time.

        Faust passes every message through a channel queue, a stream iterator, a take
        buffer and per-message acks before an agent sees it: with nothing else to do, that
        path tops out at a few thousand messages per second here (``make bench``, phase
        f). The input and re-key topics are consumed by the runtime, which takes them in
        batches anyway, so their messages go to ``batch_handler`` straight from the fetch.
        Other topics (table changelogs during recovery) still take Faust's path.

        What Faust's loop guarantees is kept: a message's read offset moves only once it is
        handed over; a rebalance (flow suspended, a new generation) drops what was fetched
        but not handed over, to be fetched again from the committed offsets; gaps in the
        offsets are recorded so commits can pass them; acks trigger commits as before.
        """
        if self.batch_handler is None:
            await super()._drain_messages(fetcher)
            return
        batch_topics = self.batch_topics
        get_read_offset = self._read_offset.__getitem__
        set_read_offset = self._read_offset.__setitem__
        acks_enabled_for = self.app.topics.acks_enabled_for
        fetcher_stopped = fetcher._stopped.is_set
        try:
            while not (self._stopped.is_set() or fetcher_stopped()):
                self.diag.set_flag(_FETCHING)
                generation = self.app.consumer_generation_id
                batch: list[Any] = []
                pending: dict[Any, int] = {}  # read offsets of the batch, once handed over
                await self.sleep(0)
                if self.should_stop:
                    break
                async for tp, message in self.getmany(timeout=1.0):
                    offset = message.offset
                    r_offset = pending.get(tp, get_read_offset(tp))
                    if r_offset is not None and offset < r_offset:
                        continue  # read already
                    if r_offset and offset - r_offset > 1 and acks_enabled_for(message.topic):
                        await self._add_gap(tp, r_offset + 1, offset)
                    if message.topic in batch_topics:
                        batch.append(message)
                        pending[tp] = offset
                        # A fetch can hold tens of thousands of messages: hand them over
                        # in batches, so no more than one batch of them is alive at once.
                        if len(batch) >= self.batch_size:
                            if not await self._hand_over(batch, pending, generation):
                                break
                            batch, pending = [], {}
                        continue
                    await self.wait_first(self.callback(message), self.suspend_flow.wait())
                    set_read_offset(tp, offset)
                if batch and not await self._hand_over(batch, pending, generation):
                    continue
                commit_every = self._commit_every
                if commit_every is not None and self._n_acked >= commit_every:
                    self._n_acked = 0
                    await self.commit()
                self.diag.unset_flag(_FETCHING)
        except self.consumer_stopped_errors:
            if self.transport.app.should_stop:
                self.log.info("Broker stopped consumer, shutting down...")
                return
            raise
        except asyncio.CancelledError:
            if self.transport.app.should_stop:
                self.log.info("Consumer shutting down for user cancel.")
                return
            raise
        except Exception as exc:
            self.log.exception("Drain messages raised: %r", exc)
            raise
        finally:
            self.diag.unset_flag(_FETCHING)

    async def _hand_over(self, batch: list[Any], offsets: dict[Any, int], generation: int) -> bool:
        """Hand a batch to the runtime, unless a rebalance began since it was fetched.

        Not handed over, it is read again: Faust seeks to the committed offsets when the
        partitions are assigned.
        """
        if (self.suspend_flow.is_set() or not self.flow_active
                or self.app.consumer_generation_id != generation):  # fmt: skip
            return False
        for message in batch:
            self.track_message(message)
        for tp, offset in offsets.items():
            self._read_offset[tp] = offset
        assert self.batch_handler is not None
        await self.batch_handler(batch)
        return True
