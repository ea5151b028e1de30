"""Bearer-token authentication for the ingest endpoint; the token is never logged."""

from __future__ import annotations

import hmac
import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Final

__all__ = ["TOKEN_ENV", "TokenError", "bearer_matches", "load_token"]

log = logging.getLogger(__name__)

TOKEN_ENV: Final = "SUPPORTPULSE_INGEST_TOKEN"
# Shorter tokens still work (an operator may have reasons), but are worth a warning: a
# guessable token on an endpoint that writes to the input topic is an open door.
_SHORT_TOKEN_CHARS: Final = 16


class TokenError(ValueError):
    """No usable token: missing, empty, or unreadable. The message never contains it."""


def load_token(*, token_file: Path | None, env: Mapping[str, str], allow_none: bool) -> str | None:
    """The token clients must present, from ``--token-file`` or the environment.

    The file wins over the environment, as flags win over environment elsewhere. Surrounding
    whitespace is stripped, so a file written by ``echo`` works.

    Args:
        token_file: File holding the token, or None.
        env: The environment (``os.environ``), passed in for tests.
        allow_none: ``--no-auth`` was given: no token is acceptable.

    Returns:
        The token, or None when there is none and ``allow_none`` is set.

    Raises:
        TokenError: The file cannot be read or is empty, or there is no token and
            ``allow_none`` is not set.
    """
    if token_file is not None:
        try:
            token = token_file.read_text(encoding="utf-8").strip()
        except (OSError, UnicodeDecodeError) as exc:
            raise TokenError(f"cannot read the token file {token_file}: {exc}") from exc
        if not token:
            raise TokenError(f"the token file {token_file} is empty")
    else:
        token = env.get(TOKEN_ENV, "").strip()
    if not token:
        if allow_none:
            return None
        raise TokenError(
            f"no token: set {TOKEN_ENV} or give --token-file FILE "
            "(or --no-auth, for a loopback-only development endpoint)"
        )
    if len(token) < _SHORT_TOKEN_CHARS:
        log.warning("the ingest token is shorter than %d characters", _SHORT_TOKEN_CHARS)
    return token


def bearer_matches(authorization: str | None, token: str) -> bool:
    """Whether an ``Authorization`` header carries ``Bearer <token>``.

    The scheme is case-insensitive (RFC 9110); the token is compared in constant time, so
    response timing reveals nothing about how much of a guess was right.
    """
    if not authorization:
        return False
    scheme, _, presented = authorization.strip().partition(" ")
    if scheme.lower() != "bearer":
        return False
    return hmac.compare_digest(presented.strip().encode(), token.encode())
