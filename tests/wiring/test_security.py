"""Kafka TLS/SASL settings reach every client, with exactly the options each one uses.

One table of security modes (PLAINTEXT; SSL with a CA file; SASL_PLAINTEXT with PLAIN and
SCRAM; SASL_SSL with PLAIN and SCRAM) and, for each mode, every Kafka client supportpulse
builds, constructed through its real code path with the Kafka class replaced by a recorder
that stops right after construction:

- the worker: Faust's aiokafka consumer and producer (``create_app``), the kafka-python
  topic admin (``prepare_topics``), the kafka-python consumer that corrects end offsets,
  the aiokafka staffing reader and the aiokafka broker check;
- the command-line tools, configured by the same ``SUPPORTPULSE_*`` variables: the
  kafka-python producers of ``replay``, ``simulate``, ``import`` and ``connect``, and the
  aiokafka producer of ``ingest``.

kafka-python takes a CA file (``ssl_cafile``), aiokafka and Faust an ``ssl.SSLContext``;
both take SCRAM credentials as ``sasl_plain_*``. SASL credentials set with a protocol that
does not use them (PLAINTEXT, SSL) are passed to nobody.

The embedded broker cannot check any of this end to end for SASL (see
tests/e2e/test_security.py); TLS is checked end to end there through a TLS front.
"""

from __future__ import annotations

import argparse
import ssl
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiokafka
import pytest
from faust.transport.drivers import aiokafka as faust_aiokafka
from faust.types import TP

from stream.cli import connect_cmd, import_cmd
from stream.cli.main import main
from stream.cli.worker_cmd import kafka_python_security, prepare_topics
from stream.domain.policies import PolicySet
from stream.ingest import producer as ingest_producer
from stream.ingest.security import aiokafka_security
from stream.kafka import publish, topics
from stream.wiring import end_offsets
from stream.wiring.app import create_app, load_staffing
from stream.wiring.settings import WorkerSettings
from stream.wiring.staffing import StaffingExchange
from tests.helpers.tls import make_certificates

USER, PASSWORD = "svc-supportpulse", "pw-6f1c0d"
BROKER = "kafka://127.0.0.1:9"  # never contacted: every client stops at construction
CA_NAME = "supportpulse test CA"

# (protocol, mechanism, uses TLS, uses SASL)
MODES = [
    ("PLAINTEXT", None, False, False),
    ("SSL", None, True, False),
    ("SASL_PLAINTEXT", "PLAIN", False, True),
    ("SASL_PLAINTEXT", "SCRAM-SHA-256", False, True),
    ("SASL_SSL", "PLAIN", True, True),
    ("SASL_SSL", "SCRAM-SHA-512", True, True),
]
IDS = [f"{p}-{m}" if m else p for p, m, _, _ in MODES]


class Constructed(Exception):
    """Raised by a recorder once the client's keyword arguments are captured."""


class Recorder:
    """Stands in for a Kafka client class: keeps the keyword arguments, then stops."""

    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        self.calls.append(kwargs)
        raise Constructed

    @property
    def kwargs(self) -> dict[str, Any]:
        assert len(self.calls) == 1, self.calls
        return self.calls[0]


@pytest.fixture(scope="module")
def ca_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_certificates(tmp_path_factory.mktemp("tls")).ca


@pytest.fixture(autouse=True)
def _no_security_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Only what a test sets: the developer's own SUPPORTPULSE_* variables stay out."""
    import os

    for name in [n for n in os.environ if n.startswith("SUPPORTPULSE_")]:
        monkeypatch.delenv(name)
    yield


def _env(protocol: str, mechanism: str | None, ca: Path) -> dict[str, str]:
    """The variables an operator sets; SASL credentials and the CA are set in every mode."""
    env = {"SUPPORTPULSE_SECURITY_PROTOCOL": protocol, "SUPPORTPULSE_SASL_USERNAME": USER,
           "SUPPORTPULSE_SASL_PASSWORD": PASSWORD, "SUPPORTPULSE_SSL_CAFILE": str(ca)}  # fmt: skip
    if mechanism:
        env["SUPPORTPULSE_SASL_MECHANISM"] = mechanism
    return env


def _settings(
    env: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> WorkerSettings:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return WorkerSettings(broker=BROKER, data_dir=tmp_path / "data")


def _kafka_python(protocol: str, mechanism: str | None, tls: bool, sasl: bool,
                  ca: Path) -> dict[str, Any]:  # fmt: skip
    """What a kafka-python client must receive."""
    if protocol == "PLAINTEXT":
        return {}
    expected: dict[str, Any] = {"security_protocol": protocol}
    if tls:
        expected["ssl_cafile"] = str(ca)
    if sasl:
        expected.update(sasl_mechanism=mechanism, sasl_plain_username=USER,
                        sasl_plain_password=PASSWORD)  # fmt: skip
    return expected


def _aiokafka(protocol: str, mechanism: str | None, tls: bool, sasl: bool,
              *, faust: bool = False) -> dict[str, Any]:  # fmt: skip
    """What an aiokafka client must receive (ssl_context shown as the CA it trusts)."""
    if protocol == "PLAINTEXT":
        return {"security_protocol": "PLAINTEXT"} if faust else {}
    expected: dict[str, Any] = {"security_protocol": protocol}
    if tls or faust:  # Faust always names the context, None without TLS
        expected["ssl_context"] = CA_NAME if tls else None
    if sasl:
        expected.update(sasl_mechanism=mechanism, sasl_plain_username=USER,
                        sasl_plain_password=PASSWORD)  # fmt: skip
    return expected


def _security_part(kwargs: dict[str, Any]) -> dict[str, Any]:
    """The TLS/SASL options among a client's keyword arguments, the context made readable."""
    part = {k: v for k, v in kwargs.items() if k.startswith(("security_", "sasl_", "ssl_"))}
    context = part.get("ssl_context")
    if isinstance(context, ssl.SSLContext):
        assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname
        names = {dict(item[0] for item in c["subject"]).get("commonName")
                 for c in context.get_ca_certs()}  # fmt: skip
        part["ssl_context"] = CA_NAME if names == {CA_NAME} else sorted(map(str, names))
    return part


@pytest.fixture
def faust_clients(monkeypatch: pytest.MonkeyPatch) -> dict[str, Recorder]:
    """Recorders in place of the aiokafka classes Faust's driver constructs."""
    recorders = {"consumer": Recorder(), "producer": Recorder()}
    monkeypatch.setattr(faust_aiokafka.aiokafka, "AIOKafkaConsumer", recorders["consumer"])
    monkeypatch.setattr(faust_aiokafka.aiokafka, "AIOKafkaProducer", recorders["producer"])
    return recorders


@pytest.mark.parametrize(("protocol", "mechanism", "tls", "sasl"), MODES, ids=IDS)
def test_worker__faust_consumer_and_producer_get_the_security_settings(
    protocol: str, mechanism: str | None, tls: bool, sasl: bool, ca_file: Path,
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, faust_clients: dict[str, Recorder],
) -> None:  # fmt: skip
    settings = _settings(_env(protocol, mechanism, ca_file), tmp_path, monkeypatch)
    app, _runtime = create_app(settings)

    with pytest.raises(Constructed):
        app.consumer._thread._create_worker_consumer(app.transport)
    with pytest.raises(Constructed):
        app.producer._new_producer()

    expected = _aiokafka(protocol, mechanism, tls, sasl, faust=True)
    for recorder in faust_clients.values():
        assert _security_part(recorder.kwargs) == expected
        assert recorder.kwargs["bootstrap_servers"] == ["127.0.0.1:9"]


@pytest.mark.parametrize(("protocol", "mechanism", "tls", "sasl"), MODES, ids=IDS)
def test_worker__kafka_python_topic_admin_and_end_offsets_consumer_get_them(
    protocol: str, mechanism: str | None, tls: bool, sasl: bool, ca_file: Path,
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    settings = _settings(_env(protocol, mechanism, ca_file), tmp_path, monkeypatch)
    admin, consumer = Recorder(), Recorder()
    monkeypatch.setattr(topics, "KafkaAdminClient", admin)
    monkeypatch.setattr(end_offsets, "KafkaConsumer", consumer)

    with pytest.raises(Constructed):
        prepare_topics(settings)  # what run_worker does first
    with pytest.raises(Constructed):  # what run_worker installs into Faust's consumer
        end_offsets.fetched_end_offsets(settings.bootstrap_servers, {TP("t", 0): 5},
                                        kafka_python_security(settings))  # fmt: skip

    expected = _kafka_python(protocol, mechanism, tls, sasl, ca_file)
    assert _security_part(admin.kwargs) == expected
    assert _security_part(consumer.kwargs) == expected


@pytest.mark.parametrize(("protocol", "mechanism", "tls", "sasl"), MODES, ids=IDS)
async def test_worker__aiokafka_staffing_reader_and_broker_check_get_them(
    protocol: str, mechanism: str | None, tls: bool, sasl: bool, ca_file: Path,
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    settings = _settings(_env(protocol, mechanism, ca_file), tmp_path, monkeypatch)
    app, runtime = create_app(settings)
    staffing = StaffingExchange(app, runtime.processor, settings, load_staffing(None),
                                PolicySet(()))  # fmt: skip
    reader, client = Recorder(), Recorder()
    monkeypatch.setattr(aiokafka, "AIOKafkaConsumer", reader)
    monkeypatch.setattr(aiokafka, "AIOKafkaClient", client)

    with pytest.raises(Constructed):
        await staffing.run_reader()
    assert runtime.broker_health is not None
    with pytest.raises(Constructed):
        await runtime.broker_health.check()

    expected = _aiokafka(protocol, mechanism, tls, sasl)
    assert _security_part(reader.kwargs) == expected
    assert _security_part(client.kwargs) == expected


@pytest.mark.parametrize(("protocol", "mechanism", "tls", "sasl"), MODES, ids=IDS)
def test_cli__replay_simulate_import_and_connect_producers_get_them(
    protocol: str, mechanism: str | None, tls: bool, sasl: bool, ca_file: Path,
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    for name, value in _env(protocol, mechanism, ca_file).items():
        monkeypatch.setenv(name, value)
    producer = Recorder()
    monkeypatch.setattr(publish, "KafkaProducer", producer)
    events = tmp_path / "events.jsonl"
    events.write_text('{"event_id": "e1"}\n')

    with pytest.raises(Constructed):
        main(["replay", str(events), "--broker", BROKER])
    with pytest.raises(Constructed):
        main(["simulate", "--broker", BROKER, "--duration", "1"])
    with pytest.raises(Constructed):
        import_cmd._publish(BROKER, "t", [b'{"event_id": "e1"}'])
    args = argparse.Namespace(out=None, broker=BROKER, topic="t")
    with pytest.raises(Constructed), connect_cmd._sink(args):
        pass

    expected = _kafka_python(protocol, mechanism, tls, sasl, ca_file)
    assert len(producer.calls) == 4
    for kwargs in producer.calls:
        assert _security_part(kwargs) == expected
        assert kwargs["acks"] == "all"  # security options never replace delivery settings


@pytest.mark.parametrize(("protocol", "mechanism", "tls", "sasl"), MODES, ids=IDS)
async def test_cli__ingest_producer_gets_them(
    protocol: str, mechanism: str | None, tls: bool, sasl: bool, ca_file: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    producer = Recorder()
    monkeypatch.setattr(ingest_producer, "AIOKafkaProducer", producer)
    # What `supportpulse ingest` does with its environment.
    security = aiokafka_security(_env(protocol, mechanism, ca_file))

    with pytest.raises(Constructed):
        await ingest_producer.IngestProducer(["127.0.0.1:9"], "t", security=security)._connect()

    assert _security_part(producer.kwargs) == _aiokafka(protocol, mechanism, tls, sasl)


def test_settings__sasl_needs_credentials_and_a_known_mechanism() -> None:
    with pytest.raises(ValueError, match="needs sasl_username and sasl_password"):
        WorkerSettings(security_protocol="SASL_SSL", sasl_username=USER)
    with pytest.raises(ValueError, match="sasl_mechanism"):
        WorkerSettings(security_protocol="SASL_SSL", sasl_username=USER,
                       sasl_password=PASSWORD, sasl_mechanism="SCRAM-SHA512")  # fmt: skip
    lower = WorkerSettings(security_protocol="SASL_SSL", sasl_username=USER,
                           sasl_password=PASSWORD, sasl_mechanism="scram-sha-256")  # fmt: skip
    assert lower.sasl_mechanism == "SCRAM-SHA-256"
    assert WorkerSettings(security_protocol="SASL_PLAINTEXT", sasl_username=USER,
                          sasl_password=PASSWORD).sasl_mechanism == "PLAIN"  # fmt: skip


def test_settings__a_validation_error_never_quotes_the_password() -> None:
    with pytest.raises(ValueError) as caught:
        WorkerSettings(sasl_password=PASSWORD, solved_retention_s=200_000)
    assert "solved_retention_s" in str(caught.value)
    assert PASSWORD not in str(caught.value)
    assert PASSWORD not in repr(WorkerSettings(sasl_password=PASSWORD))


def test_cli__unknown_protocol_is_refused_before_connecting(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("SUPPORTPULSE_SECURITY_PROTOCOL", "TLS")
    events = tmp_path / "events.jsonl"
    events.write_text("{}\n")

    assert main(["replay", str(events), "--broker", BROKER]) == 2
    assert "security protocol 'TLS'" in capsys.readouterr().err
