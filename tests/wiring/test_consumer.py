"""FastConsumer.wait_first: the inline hand-off gives what mode's wait_first gives.

The consumer is built without a transport (only what ``wait_first`` touches is set up), and
``callback`` stands for Faust's per-message hand-off: it either finishes at once or waits
(a full stream queue), while the second coroutine stands for ``suspend_flow.wait()``.
"""

from __future__ import annotations

import asyncio
import gc
import warnings
from typing import Any

import pytest
from mode.utils.locks import Event

from stream.wiring.consumer import FastConsumer


def consumer() -> Any:
    c = FastConsumer.__new__(FastConsumer)
    c._loop = asyncio.get_running_loop()
    c._stopped = Event()
    c._crashed = Event()
    c.suspend_flow = Event()
    return c


async def no_wait(log: list[str], value: int, ran_in: list[Any]) -> int:
    log.append(f"delivered {value}")
    ran_in.append(asyncio.current_task())
    return value


async def wait_for(future: asyncio.Future[int], log: list[str]) -> int:
    log.append("waiting")
    value = await future
    log.append(f"delivered {value}")
    return value


async def test_a_hand_off_that_does_not_wait_runs_inline_without_a_task() -> None:
    c = consumer()
    log: list[str] = []
    ran_in: list[Any] = []
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # "coroutine ... was never awaited" would be an error
        flow = c.suspend_flow.wait()
        results = await c.wait_first(no_wait(log, 7, ran_in), flow)
        del flow
        gc.collect()
    assert results.results == [7] and results.stopped is False
    assert log == ["delivered 7"]
    assert ran_in == [asyncio.current_task()]  # inline: mode would have made it a task


async def test_a_hand_off_that_waits_is_resumed_on_the_same_future() -> None:
    c = consumer()
    log: list[str] = []
    future: asyncio.Future[int] = asyncio.get_running_loop().create_future()
    waiting = asyncio.ensure_future(c.wait_first(wait_for(future, log), c.suspend_flow.wait()))
    await asyncio.sleep(0.01)
    assert log == ["waiting"] and not waiting.done()
    future.set_result(42)
    results = await asyncio.wait_for(waiting, 1.0)
    assert results.results == [42] and results.stopped is False
    assert log == ["waiting", "delivered 42"]


async def test_suspending_the_flow_interrupts_a_waiting_hand_off() -> None:
    c = consumer()
    log: list[str] = []
    future: asyncio.Future[int] = asyncio.get_running_loop().create_future()
    handoff = wait_for(future, log)
    waiting = asyncio.ensure_future(c.wait_first(handoff, c.suspend_flow.wait()))
    await asyncio.sleep(0.01)
    c.suspend_flow.set()  # a rebalance starts
    results = await asyncio.wait_for(waiting, 1.0)
    assert results.stopped is False and results.results == [True]  # the flow event won
    await asyncio.sleep(0.01)
    assert future.cancelled()  # the hand-off was cancelled, as mode cancels losers
    assert log == ["waiting"]


async def test_a_stopped_consumer_reports_stopped() -> None:
    c = consumer()
    log: list[str] = []
    future: asyncio.Future[int] = asyncio.get_running_loop().create_future()
    waiting = asyncio.ensure_future(c.wait_first(wait_for(future, log), c.suspend_flow.wait()))
    await asyncio.sleep(0.01)
    c._stopped.set()
    results = await asyncio.wait_for(waiting, 1.0)
    assert results.stopped is True


async def test_an_error_in_the_hand_off_propagates() -> None:
    c = consumer()

    async def broken() -> None:
        raise ValueError("cannot decode")

    with pytest.raises(ValueError, match="cannot decode"):
        await c.wait_first(broken(), c.suspend_flow.wait())


async def test_with_the_flow_already_suspended_mode_decides() -> None:
    c = consumer()
    c.suspend_flow.set()
    log: list[str] = []
    future: asyncio.Future[int] = asyncio.get_running_loop().create_future()
    results = await c.wait_first(wait_for(future, log), c.suspend_flow.wait())
    assert results.results == [True]  # mode's path: the already-set flow event wins
    await asyncio.sleep(0.01)
    assert future.cancelled() or log == []  # the hand-off never delivered
    assert "delivered" not in " ".join(log)


async def test_the_worker_fetches_with_its_own_wait(tmp_path: Any) -> None:
    from stream.wiring.app import create_app
    from stream.wiring.consumer import FAUST_FETCH_MAX_WAIT_MS
    from stream.wiring.settings import WorkerSettings

    settings = WorkerSettings(broker="kafka://127.0.0.1:1", data_dir=tmp_path,
                              fetch_max_wait_ms=250)  # fmt: skip
    app, _ = create_app(settings)
    c = app.consumer
    assert isinstance(c, FastConsumer) and c.fetch_max_wait_ms == 250
    kafka = c._thread._create_worker_consumer(app.transport)  # built, never started
    assert kafka._fetch_max_wait_ms == 250 != FAUST_FETCH_MAX_WAIT_MS
    assert FastConsumer.fetch_max_wait_ms == FAUST_FETCH_MAX_WAIT_MS  # no global change
    assert WorkerSettings().fetch_max_wait_ms == 100


async def test_the_input_topics_are_handed_over_in_batches_unless_told_otherwise(
    tmp_path: Any,
) -> None:
    from stream.wiring.app import create_app
    from stream.wiring.settings import WorkerSettings

    settings = WorkerSettings(broker="kafka://127.0.0.1:1", data_dir=tmp_path, input_topic="ev")
    app, runtime = create_app(settings)
    c = app.consumer
    assert c.batch_topics == {"ev", "ev.rekeyed"}
    assert c.batch_handler == runtime.process_messages
    fallback = WorkerSettings(broker="kafka://127.0.0.1:1", data_dir=tmp_path / "b",
                              input_topic="ev", stream_handoff=True)  # fmt: skip
    app2, _ = create_app(fallback)
    assert app2.consumer.batch_topics == frozenset() and app2.consumer.batch_handler is None
