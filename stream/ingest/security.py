"""Kafka TLS/SASL options for aiokafka from the worker's ``SUPPORTPULSE_*`` variables."""

from __future__ import annotations

import ssl
from collections.abc import Mapping
from typing import Any, Final

__all__ = ["PROTOCOLS", "aiokafka_security"]

PROTOCOLS: Final = ("PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL")
_PREFIX: Final = "SUPPORTPULSE_"


def aiokafka_security(env: Mapping[str, str]) -> dict[str, Any]:
    """Keyword arguments for ``AIOKafkaProducer``, read from the environment.

    The same variables as the worker (``SECURITY_PROTOCOL``, ``SASL_MECHANISM``,
    ``SASL_USERNAME``, ``SASL_PASSWORD``, ``SSL_CAFILE``, each with the ``SUPPORTPULSE_``
    prefix), so that an ingest process configured like the workers reaches the same
    cluster. aiokafka takes an ``ssl.SSLContext`` where kafka-python takes a CA file.

    Raises:
        ValueError: An unknown security protocol.
    """
    protocol = env.get(_PREFIX + "SECURITY_PROTOCOL", "PLAINTEXT").strip().upper() or "PLAINTEXT"
    if protocol not in PROTOCOLS:
        raise ValueError(
            f"{_PREFIX}SECURITY_PROTOCOL={protocol!r}: expected one of {', '.join(PROTOCOLS)}"
        )
    if protocol == "PLAINTEXT":
        return {}
    options: dict[str, Any] = {"security_protocol": protocol}
    if protocol in ("SSL", "SASL_SSL"):
        cafile = env.get(_PREFIX + "SSL_CAFILE") or None
        options["ssl_context"] = ssl.create_default_context(cafile=cafile)
    if protocol.startswith("SASL_"):
        options["sasl_mechanism"] = env.get(_PREFIX + "SASL_MECHANISM") or "PLAIN"
        options["sasl_plain_username"] = env.get(_PREFIX + "SASL_USERNAME") or None
        options["sasl_plain_password"] = env.get(_PREFIX + "SASL_PASSWORD") or None
    return options
