"""Kafka security for the ingest producer from the worker's SUPPORTPULSE_* variables."""

from __future__ import annotations

import ssl

import pytest

from stream.ingest.security import aiokafka_security


def test_aiokafka_security__plaintext_by_default() -> None:
    assert aiokafka_security({}) == {}
    assert aiokafka_security({"SUPPORTPULSE_SECURITY_PROTOCOL": "plaintext"}) == {}


def test_aiokafka_security__sasl_ssl_passes_credentials_and_a_tls_context() -> None:
    options = aiokafka_security({
        "SUPPORTPULSE_SECURITY_PROTOCOL": "SASL_SSL",
        "SUPPORTPULSE_SASL_MECHANISM": "SCRAM-SHA-512",
        "SUPPORTPULSE_SASL_USERNAME": "ingest",
        "SUPPORTPULSE_SASL_PASSWORD": "pw",
    })  # fmt: skip
    context = options.pop("ssl_context")
    assert isinstance(context, ssl.SSLContext) and context.verify_mode == ssl.CERT_REQUIRED
    assert options == {"security_protocol": "SASL_SSL", "sasl_mechanism": "SCRAM-SHA-512",
                       "sasl_plain_username": "ingest", "sasl_plain_password": "pw"}  # fmt: skip


def test_aiokafka_security__sasl_plaintext_defaults_to_plain_without_tls() -> None:
    options = aiokafka_security({"SUPPORTPULSE_SECURITY_PROTOCOL": "SASL_PLAINTEXT",
                                 "SUPPORTPULSE_SASL_USERNAME": "u"})  # fmt: skip
    assert options == {"security_protocol": "SASL_PLAINTEXT", "sasl_mechanism": "PLAIN",
                       "sasl_plain_username": "u", "sasl_plain_password": None}  # fmt: skip


def test_aiokafka_security__unknown_protocol_is_refused() -> None:
    with pytest.raises(ValueError, match="SECURITY_PROTOCOL='TLS'"):
        aiokafka_security({"SUPPORTPULSE_SECURITY_PROTOCOL": "TLS"})
