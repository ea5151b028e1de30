"""Effects confirmed on the broker before their messages are acked: retried, cut, or fatal.

Faust's producer does not tell its caller when a record is lost. A send that fails after
the handoff (the broker rejects it, or aiokafka gives up after ``producer_request_timeout``)
only sets the record's future and logs a warning; ``producer.flush()`` returns as usual and
the consumer commits the offsets. The dead letter, re-key forward or changelog write was
gone, and the state restored after a restart no longer matched the offsets it claimed.

So every effect's future is awaited before its messages are acked (nothing is committed
past a message whose effects are not on the broker), and a failure is sorted out here:

- retriable (the broker is away, a leader moved, a request timed out): sent again, with a
  growing pause, for as long as it takes: a broker problem delays processing;
- too large for the broker (``message.max.bytes`` of the topic below what the worker's
  producer allows): a dead letter is cut to fit Kafka's default limit, with its original
  length in a header, as for the producer's own limit; input must not stop the worker;
- anything else (authorization, a re-key or changelog record the broker refuses): the
  worker stops loudly with :class:`EffectNotSent`, its messages unacked, to be read again
  once the cause is fixed.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any, NoReturn

from aiokafka.errors import (
    KafkaError,
    KafkaTimeoutError,
    MessageSizeTooLargeError,
    RecordListTooLargeError,
)
from faust.exceptions import ProducerSendError

log = logging.getLogger(__name__)

#: What a send raises at once (Faust wraps aiokafka's errors) or its future fails with.
SEND_ERRORS = (KafkaError, ProducerSendError)
_TOO_LARGE = (MessageSizeTooLargeError, RecordListTooLargeError)


class EffectNotSent(RuntimeError):
    """An effect the broker refused for good: the worker stops rather than lose it."""


@dataclass(slots=True)
class Sent:
    """One record handed to the producer, and how to hand it over again."""

    #: For log lines: the record and where it goes, e.g. ``dead letter of t[0]@5 to t.dlq``.
    what: str
    #: Hands the record to the producer; returns the future of its delivery.
    send: Callable[[], Awaitable[Awaitable[Any]]]
    #: Dead letters only: a copy short enough for a broker's default limit (None: no shorter).
    cut: Callable[[], Sent | None] | None = None
    future: Awaitable[Any] | None = None
    error: BaseException | None = None

    async def hand_over(self) -> None:
        """Give the record to the producer; an error raised at once is kept for ``confirm``."""
        self.future, self.error = None, None
        try:
            self.future = await self.send()
        except SEND_ERRORS as exc:
            self.error = exc


def _cause(exc: BaseException) -> BaseException:
    """Faust raises ``ProducerSendError`` from aiokafka's error: judge the latter."""
    if isinstance(exc, ProducerSendError) and exc.__cause__ is not None:
        return exc.__cause__
    return exc


def retriable(exc: BaseException) -> bool:
    """Whether sending again may succeed (aiokafka's own flag, plus its timeouts)."""
    cause = _cause(exc)
    return isinstance(cause, KafkaTimeoutError) or bool(getattr(cause, "retriable", False))


async def deliver(
    records: Iterable[Sent], *, retry_s: float = 1.0, max_retry_s: float = 30.0
) -> None:
    """Hand every record to the producer, then wait until each is on the broker.

    All are handed over first, so they travel together (one wait, not one per record).
    """
    pending = list(records)
    for record in pending:
        await record.hand_over()
    for record in pending:
        await _confirm(record, retry_s=retry_s, max_retry_s=max_retry_s)


async def _confirm(record: Sent, *, retry_s: float, max_retry_s: float) -> None:
    delay_s = retry_s
    while True:
        if record.error is None:
            try:
                assert record.future is not None
                await record.future
                return
            except SEND_ERRORS as exc:
                record.error = exc
        error = record.error
        if retriable(error):
            log.warning("%s not sent (%r): sending it again in %.0f s; its messages wait "
                        "unacked", record.what, _cause(error), delay_s)  # fmt: skip
            await asyncio.sleep(delay_s)
            delay_s = min(2 * delay_s, max_retry_s)
        elif isinstance(_cause(error), _TOO_LARGE) and record.cut is not None:
            shorter = record.cut()
            if shorter is None:
                _fatal(record, error)
            log.warning("%s refused as too large by the broker (%r): sending it cut to fit "
                        "the broker's default limit", record.what, _cause(error))  # fmt: skip
            record = shorter
        else:
            _fatal(record, error)
        await record.hand_over()


def _fatal(record: Sent, error: BaseException) -> NoReturn:
    log.error("%s refused by the broker (%r): stopping with its messages unacked; they are "
              "read again after a restart once the cause (topic settings, ACLs) is fixed",
              record.what, _cause(error))  # fmt: skip
    raise EffectNotSent(f"{record.what}: {_cause(error)!r}") from error
