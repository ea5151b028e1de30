"""Kafka plumbing outside Faust: broker URLs, the embedded broker, topics, publishing, replay.

Nothing here imports faust. The submodules are imported on demand (``stream.kafka.urls`` is
cheap and used by the settings; the others pull in kafka-python). What they share lives
here: the error raised when no broker answers, and the vetting of connection security
options, which the admin client and the producer take as the same keyword arguments.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = [
    "PROTOCOLS",
    "KafkaUnavailableError",
    "security_from_env",
    "security_kwargs",
    "security_options",
]

PROTOCOLS = ("PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL")
_ENV = "SUPPORTPULSE_"


class KafkaUnavailableError(RuntimeError):
    """No broker answered within the allotted time (down, wrong address, or blocked)."""


# kafka-python spells every TLS and SASL option with one of these prefixes. Only these
# may come in through ``security``, so a settings mapping cannot quietly override
# delivery settings such as ``acks`` that correctness depends on.
_SECURITY_PREFIXES = ("ssl_", "sasl_")
_SECURITY_KEYS = frozenset({"security_protocol"})


def security_kwargs(security: Mapping[str, Any] | None) -> dict[str, Any]:
    """Turn connection security settings into kafka-python keyword arguments.

    Keys are kafka-python's own (``security_protocol``, ``sasl_mechanism``,
    ``sasl_plain_username``, ``sasl_plain_password``, ``ssl_cafile``, ...). ``None``
    values are dropped so unset settings fall back to kafka-python's defaults, and secret
    wrappers (anything with ``get_secret_value()``, such as pydantic's ``SecretStr``) are
    unwrapped here, at the last moment, so the secret is never logged on the way.

    Args:
        security: The settings, or None for a plaintext connection.

    Returns:
        Keyword arguments for ``KafkaProducer`` / ``KafkaAdminClient`` / ``KafkaConsumer``.

    Raises:
        ValueError: A key is not a security option.
    """
    kwargs: dict[str, Any] = {}
    for key, value in (security or {}).items():
        if key not in _SECURITY_KEYS and not key.startswith(_SECURITY_PREFIXES):
            raise ValueError(
                f"unsupported Kafka security option {key!r}: expected security_protocol "
                "or a kafka-python ssl_* / sasl_* option"
            )
        if value is None:
            continue
        unwrap = getattr(value, "get_secret_value", None)
        kwargs[key] = unwrap() if callable(unwrap) else value
    return kwargs


def security_options(
    protocol: str,
    *,
    mechanism: str | None = None,
    username: str | None = None,
    password: str | None = None,
    cafile: str | None = None,
) -> dict[str, Any]:
    """The kafka-python options a security protocol uses, and only those.

    PLAINTEXT gives nothing; SSL and SASL_SSL add ``ssl_cafile`` when given (else the
    system's CAs, kafka-python's default); SASL_PLAINTEXT and SASL_SSL add the mechanism
    (PLAIN when unset: kafka-python has no default) and the credentials, which kafka-python
    takes as ``sasl_plain_*`` for SCRAM too.

    Raises:
        ValueError: An unknown protocol.
    """
    protocol = protocol.strip().upper() or "PLAINTEXT"
    if protocol not in PROTOCOLS:
        raise ValueError(f"security protocol {protocol!r}: expected one of {', '.join(PROTOCOLS)}")
    if protocol == "PLAINTEXT":
        return {}
    options: dict[str, Any] = {"security_protocol": protocol}
    if protocol in ("SSL", "SASL_SSL") and cafile:
        options["ssl_cafile"] = str(cafile)
    if protocol.startswith("SASL_"):
        options["sasl_mechanism"] = (mechanism or "PLAIN").strip().upper()
        options["sasl_plain_username"] = username
        options["sasl_plain_password"] = password
    return options


def security_from_env(env: Mapping[str, str]) -> dict[str, Any]:
    """kafka-python security options from the worker's ``SUPPORTPULSE_*`` variables.

    For the command-line tools that publish (replay, simulate, import, connect): configured
    like the workers (``SECURITY_PROTOCOL``, ``SASL_MECHANISM``, ``SASL_USERNAME``,
    ``SASL_PASSWORD``, ``SSL_CAFILE``), they reach the same cluster.

    Raises:
        ValueError: An unknown protocol.
    """
    return security_options(
        env.get(_ENV + "SECURITY_PROTOCOL", "PLAINTEXT"),
        mechanism=env.get(_ENV + "SASL_MECHANISM") or None,
        username=env.get(_ENV + "SASL_USERNAME") or None,
        password=env.get(_ENV + "SASL_PASSWORD") or None,
        cafile=env.get(_ENV + "SSL_CAFILE") or None,
    )
