"""Broker URLs: ``kafka://host:port[,host:port]`` to and from ``host:port`` lists."""

from __future__ import annotations

import re
from collections.abc import Sequence

__all__ = ["DEFAULT_PORT", "format_broker_url", "parse_broker_url"]

#: Kafka's registered port; used when an address names no port, as Kafka's own clients do.
DEFAULT_PORT = 9092

_SCHEME = "kafka://"
# A DNS name or IPv4 address (letters, digits, '-', '_', '.'), or a bracketed IPv6 address.
_HOST = re.compile(r"^(?:[A-Za-z0-9_](?:[A-Za-z0-9_.-]*[A-Za-z0-9_])?|\[[0-9A-Fa-f:.]+\])$")


def parse_broker_url(url: str) -> list[str]:
    """Parse a broker URL into the ``host:port`` list that Kafka clients bootstrap from.

    Accepted, so that what an operator pastes from a Kafka config just works:
    ``kafka://h1:9092,h2:9092``, bare ``h1:9092,h2:9092``, ``;`` as well as ``,`` between
    addresses (Faust's own separator), a ``kafka://`` prefix on each address, a trailing
    ``/``, and a missing port (9092). IPv6 addresses are written in brackets: ``[::1]:9092``.

    Args:
        url: The URL from the command line, settings or environment.

    Returns:
        The addresses in the order given, each ``host:port``.

    Raises:
        ValueError: The URL is empty, uses another scheme, or names a bad host or port; the
            message quotes the offending part.
    """
    text = url.strip()
    if not text:
        raise ValueError("empty Kafka broker URL: expected kafka://host:port[,host:port]")
    addresses = []
    for part in re.split(r"[,;]", text):
        item = part.strip()
        if item.lower().startswith(_SCHEME):
            item = item[len(_SCHEME) :]
        elif "://" in item:
            scheme = item.split("://", 1)[0]
            raise ValueError(
                f"unsupported scheme {scheme + '://'!r} in Kafka broker URL {url!r}: "
                "expected kafka://host:port"
            )
        item = item.rstrip("/")
        if not item:
            raise ValueError(f"empty broker address in Kafka broker URL {url!r}")
        addresses.append(_parse_address(item, url))
    return addresses


def _parse_address(item: str, url: str) -> str:
    """Validate one ``host[:port]`` and return it as ``host:port``."""
    if item.startswith("["):
        host, _, rest = item.partition("]")
        host += "]"
        if rest and not rest.startswith(":"):
            raise ValueError(f"bad broker address {item!r} in Kafka broker URL {url!r}")
        port_text = rest[1:] if rest else None
    elif item.count(":") > 1:
        raise ValueError(
            f"bad broker address {item!r} in Kafka broker URL {url!r}: "
            "write IPv6 addresses in brackets, e.g. [::1]:9092"
        )
    else:
        host, sep, port_text_raw = item.partition(":")
        port_text = port_text_raw if sep else None
    if not _HOST.match(host):
        raise ValueError(f"bad broker host {host!r} in Kafka broker URL {url!r}")
    if port_text is None:
        port = DEFAULT_PORT
    elif port_text.isdigit() and 1 <= int(port_text) <= 65535:
        port = int(port_text)
    else:
        raise ValueError(
            f"bad broker port {port_text!r} in Kafka broker URL {url!r}: "
            "expected a number from 1 to 65535"
        )
    return f"{host}:{port}"


def format_broker_url(brokers: Sequence[str]) -> str:
    """Render ``host:port`` addresses as one ``kafka://`` URL.

    The result round-trips (``parse_broker_url(format_broker_url(b)) == list(b)``) and is
    what Faust's ``broker`` setting takes: Faust splits a URL string on ``,`` and ``;``.
    """
    if not brokers:
        raise ValueError("no broker addresses to format")
    return _SCHEME + ",".join(brokers)
