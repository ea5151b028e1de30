"""Where the token comes from, when start-up is refused, and how the bearer header is checked."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from stream.ingest.auth import TOKEN_ENV, TokenError, bearer_matches, load_token

TOKEN = "0123456789abcdef-token"


def test_load_token__from_environment_stripped() -> None:
    assert load_token(token_file=None, env={TOKEN_ENV: f" {TOKEN}\n"}, allow_none=False) == TOKEN


def test_load_token__file_wins_over_environment(tmp_path: Path) -> None:
    path = tmp_path / "token"
    path.write_text(f"{TOKEN}\n")
    env = {TOKEN_ENV: "another-token-from-env"}
    assert load_token(token_file=path, env=env, allow_none=False) == TOKEN


def test_load_token__missing_is_refused_naming_the_ways_to_give_one() -> None:
    with pytest.raises(TokenError, match=f"{TOKEN_ENV}.*--token-file.*--no-auth"):
        load_token(token_file=None, env={TOKEN_ENV: "  "}, allow_none=False)


def test_load_token__missing_is_none_when_allowed() -> None:
    assert load_token(token_file=None, env={}, allow_none=True) is None


@pytest.mark.parametrize("content", ["", "\n  \n"])
def test_load_token__empty_file_is_refused(tmp_path: Path, content: str) -> None:
    path = tmp_path / "token"
    path.write_text(content)
    with pytest.raises(TokenError, match="is empty"):
        load_token(token_file=path, env={TOKEN_ENV: TOKEN}, allow_none=True)


def test_load_token__unreadable_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(TokenError, match="cannot read the token file"):
        load_token(token_file=tmp_path / "absent", env={}, allow_none=False)


def test_load_token__short_token_warns_without_showing_it(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING):
        assert load_token(token_file=None, env={TOKEN_ENV: "tiny-tok"}, allow_none=False)
    assert "shorter than 16 characters" in caplog.text and "tiny-tok" not in caplog.text


@pytest.mark.parametrize(
    ("header", "ok"),
    [
        (f"Bearer {TOKEN}", True),
        (f"bearer {TOKEN}", True),  # the scheme is case-insensitive
        (f"  BEARER   {TOKEN}  ", True),
        (None, False),
        ("", False),
        ("Bearer", False),
        ("Bearer ", False),
        (f"Basic {TOKEN}", False),
        (f"Bearer {TOKEN}x", False),
        (f"Bearer {TOKEN[:-1]}", False),
        (f"Bearer {TOKEN.upper()}", False),  # the token itself is case-sensitive
        ("Bearer tökén", False),  # non-ASCII never raises
    ],
)
def test_bearer_matches__only_the_exact_token(header: str | None, ok: bool) -> None:
    assert bearer_matches(header, TOKEN) is ok
