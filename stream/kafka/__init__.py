"""Kafka plumbing outside Faust: broker URLs, the embedded broker, topics, publishing, replay.

Nothing here imports faust. The submodules are imported on demand (``stream.kafka.urls`` is
cheap and used by the settings; the others pull in kafka-python). What they share lives
here: the error raised when no broker answers, and the vetting of connection security
options, which the admin client and the producer take as the same keyword arguments.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["KafkaUnavailableError", "security_kwargs"]


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
