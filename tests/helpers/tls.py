"""TLS for tests: a throwaway CA and server certificate, and a TLS front for Tansu.

The embedded broker cannot serve TLS itself: Tansu 0.6.0 declares ``--cert`` and ``--key``
in one mutually exclusive argument group, yet configures TLS only when both are given
(tansu-cli/src/cli/broker.rs), so every client-side TLS test goes through ``TlsFront``: a
TLS listener on 127.0.0.1 that forwards each connection to Tansu's plaintext port. Tansu
advertises the front's port in its metadata, so clients connect to the front for every
request, bootstrap and partition leaders alike, and verify its certificate against the
test CA (the certificate names 127.0.0.1, so hostname checks pass).
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import socket
import ssl
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

from kafka import KafkaAdminClient

from stream.kafka.broker_process import resolve_binary
from stream.kafka.broker_readiness import find_free_port

HOST = "127.0.0.1"


@dataclass(frozen=True, slots=True)
class TlsFiles:
    """PEM files: the CA clients trust, and the server's certificate and key."""

    ca: Path
    cert: Path
    key: Path


def make_certificates(directory: Path) -> TlsFiles:
    """A CA and a server certificate for 127.0.0.1 and localhost, valid for two days."""
    openssl = shutil.which("openssl")
    assert openssl, "the TLS tests need the openssl command (Debian package openssl)"
    directory.mkdir(parents=True, exist_ok=True)
    ca, ca_key = directory / "ca.pem", directory / "ca.key"
    cert, key, csr = directory / "server.pem", directory / "server.key", directory / "server.csr"
    ext = directory / "san.cnf"
    ext.write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    for args in (
        ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", ca_key, "-out", ca,
         "-days", "2", "-subj", "/CN=supportpulse test CA"],
        ["req", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", csr,
         "-subj", "/CN=127.0.0.1"],
        ["x509", "-req", "-in", csr, "-CA", ca, "-CAkey", ca_key, "-CAcreateserial",
         "-out", cert, "-days", "2", "-extfile", ext],
    ):  # fmt: skip
        done = subprocess.run([openssl, *map(str, args)], capture_output=True, check=False)
        assert done.returncode == 0, done.stderr.decode(errors="replace")
    return TlsFiles(ca=ca, cert=cert, key=key)


class TlsFront:
    """Accepts TLS on ``port`` (127.0.0.1) and relays the plaintext to ``upstream_port``.

    Runs its own event loop in a daemon thread; ``stop()`` closes the listener and every
    relayed connection.
    """

    def __init__(self, files: TlsFiles, upstream_port: int, port: int | None = None) -> None:
        self.port = port or find_free_port()
        self.upstream_port = upstream_port
        self.connections = 0
        self._context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self._context.load_cert_chain(files.cert, files.key)
        self._loop = asyncio.new_event_loop()
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._thread = threading.Thread(target=self._loop.run_forever, name="tls-front",
                                        daemon=True)  # fmt: skip

    def start(self) -> TlsFront:
        """Listen; returns once the port accepts connections."""
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._listen(), self._loop).result(timeout=10)
        return self

    def stop(self) -> None:
        """Close the listener and the relayed connections, then the loop."""
        if not self._thread.is_alive():
            return
        asyncio.run_coroutine_threadsafe(self._close(), self._loop).result(timeout=10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)

    async def _listen(self) -> None:
        self._server = await asyncio.start_server(self._relay, HOST, self.port,
                                                  ssl=self._context)  # fmt: skip

    async def _close(self) -> None:
        if self._server is not None:
            self._server.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _relay(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        self.connections += 1
        try:
            up_reader, up_writer = await asyncio.open_connection(HOST, self.upstream_port)
        except OSError:
            writer.close()
            self._tasks.discard(task)
            return
        try:
            await asyncio.gather(_pipe(reader, up_writer), _pipe(up_reader, writer))
        finally:
            for w in (writer, up_writer):
                w.close()
            self._tasks.discard(task)


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    with suppress(OSError, ssl.SSLError, ConnectionError):
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    with suppress(OSError, ssl.SSLError, ConnectionError, RuntimeError):
        writer.write_eof()


@contextmanager
def tansu_process(log_path: Path, *extra: str, port: int, advertised_port: int | None = None
                  ) -> Iterator[subprocess.Popen[bytes]]:  # fmt: skip
    """Tansu in memory on 127.0.0.1:``port`` with extra arguments, output to ``log_path``.

    Started and stopped like the embedded broker (own process group, the operator's Tansu
    variables left out), without its readiness check: the caller knows what to wait for.
    """
    advertised = advertised_port or port
    command = [resolve_binary(), "broker", "--listener-url", f"tcp://{HOST}:{port}",
               "--advertised-listener-url", f"tcp://{HOST}:{advertised}",
               "--storage-engine", "memory://tansu/", *extra]  # fmt: skip
    env = {k: v for k, v in os.environ.items()
           if k not in ("CLUSTER_ID", "LISTENER_URL", "ADVERTISED_LISTENER_URL",
                        "STORAGE_ENGINE", "SCHEMA_REGISTRY")}  # fmt: skip
    env["NO_COLOR"] = "1"
    with log_path.open("wb") as log:
        proc = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=log,
                                stderr=subprocess.STDOUT, env=env,
                                start_new_session=True)  # fmt: skip
    try:
        yield proc
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=3)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=10)


def wait_listening(proc: subprocess.Popen[bytes], port: int, log_path: Path) -> None:
    """Wait until ``port`` accepts TCP connections (the broker process must stay up)."""
    deadline = time.monotonic() + 30
    while not _accepts(port):
        assert proc.poll() is None, log_path.read_text(errors="replace")
        assert time.monotonic() < deadline, f"Tansu did not listen within 30 s: {log_path}"
        time.sleep(0.05)


@contextmanager
def tansu_behind_tls(files: TlsFiles, log_path: Path) -> Iterator[TlsFront]:
    """An in-memory Tansu on a plaintext port that advertises a TLS front; yields the front.

    Clients connect to ``kafka://127.0.0.1:<front.port>`` with TLS and the test CA.
    """
    plain_port, front_port = find_free_port(), find_free_port()
    cluster_id = f"supportpulse-tls-{uuid.uuid4().hex[:8]}"
    with tansu_process(log_path, "--cluster-id", cluster_id, port=plain_port,
                       advertised_port=front_port) as proc:  # fmt: skip
        front = TlsFront(files, plain_port, front_port)
        try:
            front.start()
            wait_listening(proc, plain_port, log_path)
            # Through the front, with the CA: our broker answers (not another one).
            admin = KafkaAdminClient(bootstrap_servers=[f"{HOST}:{front_port}"],
                                     security_protocol="SSL", ssl_cafile=str(files.ca),
                                     request_timeout_ms=10_000)  # fmt: skip
            try:
                assert admin.describe_cluster().get("cluster_id") == cluster_id
            finally:
                admin.close()
            yield front
        finally:
            front.stop()


def _accepts(port: int) -> bool:
    try:
        socket.create_connection((HOST, port), timeout=0.5).close()
    except OSError:
        return False
    return True
