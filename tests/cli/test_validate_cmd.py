"""Tests for `supportpulse validate FILE`: output lines, summary and exit codes."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

from stream.adapters.schema import EVENT_TYPES
from stream.cli.validate_cmd import validate_file

EXAMPLES = Path(__file__).resolve().parents[2] / "schemas" / "v1" / "examples"
NOW_S = 1_715_900_000.0  # 2024-05-16T22:53:20Z, after every example


def example_line(event_type: str, **fields: Any) -> str:
    event = json.loads((EXAMPLES / f"{event_type}.json").read_text()) | fields
    return json.dumps(event)


def run(path: Path, now_s: float | None = NOW_S) -> tuple[int, str]:
    out = io.StringIO()
    code = validate_file(path, out, now_s=now_s)
    return code, out.getvalue()


def test_validate_file__all_valid_exits_0_with_summary(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    lines = [example_line(t) for t in EVENT_TYPES]
    path.write_text("\n".join(lines[:5]) + "\n\n   \n" + "\n".join(lines[5:]) + "\n")
    assert run(path) == (0, "10 events, 10 valid, 0 invalid\n")


def test_validate_file__crlf_line_endings_are_framing(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    path.write_bytes(b"\r\n".join(example_line(t).encode() for t in EVENT_TYPES) + b"\r\n")
    assert run(path) == (0, "10 events, 10 valid, 0 invalid\n")


def test_validate_file__empty_file_is_valid(tmp_path: Path) -> None:
    path = tmp_path / "empty.jsonl"
    path.write_text("")
    assert run(path) == (0, "0 events, 0 valid, 0 invalid\n")


def test_validate_file__reports_each_invalid_line_and_exits_1(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    lines = [
        example_line("ticket.created"),  # 1: valid
        "",  # 2: blank, ignored
        '{"type": "ticket.created",',  # 3: invalid_json
        example_line("ticket.message"),  # 4: valid
        example_line("ticket.message", type="ticket.deleted"),  # 5: unknown_type
        example_line("survey.csat", score=7),  # 6: schema_violation
        "[1, 2]",  # 7: schema_violation
        example_line("ticket.assigned", occurred_at="2024-05-17T00:00:00Z"),  # 8: future
        json.dumps({"type": "x", "pad": "y" * 70_000}),  # 9: too_large
        example_line("agent.presence"),  # 10: valid
    ]
    path.write_text("\n".join(lines) + "\n")
    code, output = run(path)
    assert code == 1
    first, *rest = output.splitlines()
    # orjson words its own messages; the reason and the line number are ours.
    assert first.startswith(f"{path}:3: invalid_json: not valid JSON: unexpected end of data")
    assert rest == [
        f"{path}:5: unknown_type: type: 'ticket.deleted' is not a known event type "
        "(ticket.created, ticket.assigned, ticket.queue_changed, ticket.priority_changed, "
        "ticket.status_changed, ticket.message, interaction.completed, survey.csat, "
        "survey.nps, agent.presence)",
        f"{path}:6: schema_violation: score: must be smaller than or equal to 5 "
        "(rule maximum), got 7",
        f"{path}:7: schema_violation: event: must be a JSON object, got an array of 2 items",
        f"{path}:8: future_timestamp: occurred_at: 2024-05-17T00:00:00Z is 4000 s ahead of the "
        "clock, more than the allowed 300 s (rule max_future_skew)",
        f"{path}:9: too_large: message is 70024 bytes, over the limit of 65536",
        "9 events, 3 valid, 6 invalid",
    ]


def test_validate_file__defaults_to_the_wall_clock(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    path.write_text(example_line("ticket.created", occurred_at="2999-01-01T00:00:00Z") + "\n")
    code, output = run(path, now_s=None)
    assert code == 1
    assert output.startswith(f"{path}:1: future_timestamp: occurred_at: 2999-01-01T00:00:00Z is ")


def test_validate_file__missing_file_exits_2(tmp_path: Path) -> None:
    path = tmp_path / "missing.jsonl"
    assert run(path) == (2, f"{path}: cannot read: No such file or directory\n")


def test_validate_file__directory_exits_2(tmp_path: Path) -> None:
    assert run(tmp_path) == (2, f"{tmp_path}: cannot read: Is a directory\n")


def test_validate_cli__exit_codes_and_messages_through_the_console_entry(tmp_path: Path) -> None:
    import subprocess
    import sys

    good = Path(__file__).parents[1] / "e2e" / "data" / "stories.jsonl"
    proc = subprocess.run([sys.executable, "-m", "stream.cli.main", "validate", str(good)],
                          capture_output=True, text=True, check=False)  # fmt: skip
    assert proc.returncode == 1
    lines = proc.stdout.strip().splitlines()
    assert [ln.split(": ")[1] for ln in lines[:-1]] == [
        "invalid_json",
        "unknown_type",
        "schema_violation",
        "future_timestamp",
        "too_large",
    ]
    assert lines[-1] == "35 events, 30 valid, 5 invalid"
