"""Ports and readiness of the embedded broker: free ports, the metadata probe, start errors."""

from __future__ import annotations

import socket

from kafka import KafkaAdminClient
from kafka.errors import KafkaError

#: Loopback only: the embedded broker has no authentication and must not be reachable
#: from the network.
HOST = "127.0.0.1"

_PROBE_TIMEOUT_MS = 5_000


class BrokerStartError(RuntimeError):
    """The embedded broker could not be started or did not answer in time."""


class PortTakenError(BrokerStartError):
    """The port was taken by someone else between choosing it and binding it."""


def find_free_port(host: str = HOST) -> int:
    """Return a TCP port on ``host`` that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


def check_port_free(port: int) -> None:
    """Fail early and plainly when a chosen port is taken (Tansu itself exits with 0)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        # As the broker will: a port held only by closing connections (TIME_WAIT) is free.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((HOST, port))
        except OSError as exc:
            raise BrokerStartError(f"port {port} on {HOST} is not available: {exc}") from exc


def answers_metadata(port: int, cluster_id: str) -> bool:
    """Whether a broker on ``port`` answers a Kafka metadata request yet.

    Raises:
        PortTakenError: The broker that answers is not ours (its cluster id differs).
    """
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
        answered_id = admin.describe_cluster().get("cluster_id")
    except KafkaError:
        return False
    finally:
        admin.close()
    if answered_id != cluster_id:
        raise PortTakenError(
            f"port {port} on {HOST} is in use by another Kafka broker (cluster {answered_id!r})"
        )
    return True
