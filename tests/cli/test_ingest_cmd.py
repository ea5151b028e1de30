"""`supportpulse ingest` refuses a configuration it cannot serve safely, before listening."""

from __future__ import annotations

import os
import socket
import subprocess
from pathlib import Path

import pytest

from tests.helpers.processes import cli, free_port

TOKEN_ENV = "SUPPORTPULSE_INGEST_TOKEN"


def _ingest(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run the command to completion, without any token the test runner may have set."""
    clean = {k: v for k, v in os.environ.items() if k != TOKEN_ENV} | (env or {})
    command = cli("ingest", "--broker", "kafka://127.0.0.1:1", "--port", str(free_port()), *args)
    return subprocess.run(command, capture_output=True, text=True, env=clean, timeout=60,
                          check=False)  # fmt: skip


def test_ingest_cmd__refuses_to_start_without_a_token() -> None:
    result = _ingest()
    assert result.returncode == 2
    assert TOKEN_ENV in result.stderr and "--token-file" in result.stderr
    assert "--no-auth" in result.stderr


def test_ingest_cmd__refuses_an_empty_token_file(tmp_path: Path) -> None:
    path = tmp_path / "token"
    path.write_text("\n")
    result = _ingest("--token-file", str(path), env={TOKEN_ENV: "would-be-ignored-anyway"})
    assert result.returncode == 2 and "is empty" in result.stderr


def test_ingest_cmd__refuses_no_auth_beyond_loopback() -> None:
    result = _ingest("--no-auth", "--host", "0.0.0.0")
    assert result.returncode == 2 and "loopback" in result.stderr


@pytest.mark.parametrize(
    ("args", "env", "message"),
    [
        (("--broker", "http://k:9092"), {}, "unsupported scheme"),
        ((), {"SUPPORTPULSE_SECURITY_PROTOCOL": "TLS"}, "SECURITY_PROTOCOL"),
        ((), {"SUPPORTPULSE_MAX_MESSAGE_BYTES": "lots"}, "MAX_MESSAGE_BYTES"),
    ],
)
def test_ingest_cmd__bad_settings_exit_2_naming_them(
    args: tuple[str, ...], env: dict[str, str], message: str
) -> None:
    result = _ingest(*args, env={TOKEN_ENV: "a-token-long-enough-1234", **env})
    assert result.returncode == 2 and message in result.stderr, result.stderr


def test_ingest_cmd__port_in_use_exits_1() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = _ingest("--port", str(port), env={TOKEN_ENV: "a-token-long-enough-1234"})
    assert result.returncode == 1 and f"cannot listen on 127.0.0.1:{port}" in result.stderr
