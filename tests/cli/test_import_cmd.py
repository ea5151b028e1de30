"""`supportpulse import`: the real command on sample files, its report and exit codes."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest

from stream.cli.import_cmd import check_events
from stream.cli.main import main
from stream.cli.validate_cmd import validate_file
from stream.domain.sources.common import Mapped
from tests.helpers.processes import run_cli

ROOT = Path(__file__).resolve().parents[2]
LOGS = ROOT / "tests" / "data" / "eventlogs"
HELPDESK_MAPPING = ROOT / "deploy" / "mappings" / "helpdesk.toml"


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    code = main(["import", *args])
    return code, capsys.readouterr().err


def lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_import__eventlog_to_jsonl_in_time_order_with_a_report(tmp_path: Path) -> None:
    out = tmp_path / "events.jsonl"

    done = run_cli("import", "eventlog", str(LOGS / "helpdesk.csv"),
                   "--mapping", str(HELPDESK_MAPPING), "--out", str(out))  # fmt: skip

    assert done.returncode == 0, done.stderr
    assert done.stderr.splitlines() == [
        "events: 47 (ticket.assigned 7, ticket.created 8, ticket.message 11, "
        "ticket.status_changed 21)",
        "unmapped: 0",
        "skipped: 3 (carry no fact the contract has):",
        "       1  activity 'Take in charge ticket' (assign): assignee unchanged",
        "       1  activity 'Assign seriousness' (ignore)",
        "       1  activity 'RESOLVED' (ignore)",
        f"wrote 47 events to {out}",
    ]
    events = lines(out)
    times = [e["occurred_at"] for e in events]
    assert times == sorted(times)  # one format (UTC, Z): text order is time order
    assert events[0] == {
        "event_id": "helpdesk:Case 1:created", "type": "ticket.created",
        "ticket_id": "helpdesk-Case 1", "occurred_at": "2013-01-07T08:00:00Z",
        "queue": "Value 1", "priority": "normal", "channel": "other",
    }  # fmt: skip
    assert validate_file(out, io.StringIO()) == 0


def test_import__unmapped_activities_are_listed_and_warned_about(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    mapping = tmp_path / "helpdesk.toml"
    text = HELPDESK_MAPPING.read_text()
    mapping.write_text(text.replace('"Require upgrade" = "note"\n', ""))
    out = tmp_path / "events.jsonl"

    code, err = run(capsys, "eventlog", str(LOGS / "helpdesk.csv"), "--mapping", str(mapping),
                    "--out", str(out))  # fmt: skip

    assert code == 0
    assert "unmapped: 1 (no event: their facts are missing):\n" in err
    assert "       1  activity 'Require upgrade'\n" in err
    assert "warning: 1 input items were not mapped (listed above); complete the mapping" in err
    assert len(lines(out)) == 46


def test_import__bad_rows_are_reported_with_their_numbers(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    log = tmp_path / "log.csv"
    rows = (LOGS / "helpdesk.csv").read_text().splitlines()
    rows[2] = rows[2].replace("2013/01/07 09:20:00.000", "7 Jan 2013")
    log.write_text("\n".join(rows) + "\n")

    code, err = run(capsys, "eventlog", str(log), "--mapping", str(HELPDESK_MAPPING),
                    "--out", str(tmp_path / "events.jsonl"))  # fmt: skip

    assert code == 0
    assert ("       1  bad timestamp in column 'Complete Timestamp' (e.g. '7 Jan 2013'): "
            "row 2\n") in err  # fmt: skip


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["eventlog", "helpdesk.csv"], "an event log needs --mapping FILE"),
        (["eventlog", "missing.csv", "--mapping", "helpdesk.toml"], "missing.csv: cannot read"),
        (
            ["eventlog", "helpdesk.csv", "--mapping", "bad.toml"],
            "bad.toml:2: columns.case: required: the name of a column",
        ),
        (
            ["eventlog", "helpdesk.csv", "--mapping", "renamed.toml"],
            "helpdesk.csv: no column 'CaseID', which the mapping",
        ),
        (["jira", "helpdesk.csv"], "helpdesk.csv:1: not JSON"),
    ],
)
def test_import__fatal_errors_exit_1_and_write_nothing(
    args: list[str], message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "helpdesk.csv").write_bytes((LOGS / "helpdesk.csv").read_bytes())
    (tmp_path / "helpdesk.toml").write_text(HELPDESK_MAPPING.read_text())
    (tmp_path / "bad.toml").write_text('source = "x"\n[columns]\nactivity = "Activity"\n')
    renamed = HELPDESK_MAPPING.read_text().replace('case = "Case ID"', 'case = "CaseID"')
    (tmp_path / "renamed.toml").write_text(renamed)
    out = tmp_path / "events.jsonl"
    paths = [str(tmp_path / a) if a.endswith((".csv", ".toml")) else a for a in args]

    code, err = run(capsys, *paths, "--out", str(out))

    assert code == 1
    assert f"import {args[0]}: error: " in err
    assert message in err
    assert not out.exists()


def test_check_events__invalid_events_are_reported_and_left_out() -> None:
    good = {"event_id": "a", "type": "ticket.created", "ticket_id": "T",
            "occurred_at": "2024-01-01T10:00:00Z", "queue": "q"}  # fmt: skip
    early = good | {"event_id": "b", "occurred_at": "2024-01-01T09:00:00Z"}
    bad = good | {"event_id": "c", "priority": "critical"}

    checked = check_events([good, bad, early, good], now_s=2e9)

    assert [json.loads(line)["event_id"] for line in checked.lines] == ["b", "a", "a"]
    assert len(checked.invalid) == 1
    assert checked.invalid[0].startswith("c: schema_violation: priority")
    assert checked.duplicate_ids == 1


def test_import__json_sources_pick_the_mapping_function_by_content(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    zendesk = pytest.importorskip("stream.domain.sources.zendesk")
    calls: list[str] = []

    def fake(name: str) -> Any:
        def mapper(item: dict[str, Any], **_kw: Any) -> Mapped:
            calls.append(name)
            event = {"event_id": f"z-{len(calls)}", "type": "ticket.created",
                     "ticket_id": "zendesk-1", "occurred_at": item["at"], "queue": "q"}  # fmt: skip
            return Mapped(events=[event])

        return mapper

    monkeypatch.setattr(zendesk, "map_incremental_events", fake("incremental"))
    monkeypatch.setattr(zendesk, "map_webhook", fake("webhook"))
    array = tmp_path / "pages.json"
    array.write_text(json.dumps([{"ticket_events": [], "at": "2024-01-01T10:00:00Z"},
                                 {"type": "zen:event-type:ticket.created",
                                  "at": "2024-01-01T09:00:00Z"}]))  # fmt: skip
    jsonl = tmp_path / "pages.jsonl"
    jsonl.write_text('{"ticket_events": [], "at": "2024-01-01T08:00:00Z"}\n\n'
                     '{"ticket_events": [], "at": "2024-01-01T07:00:00Z"}\n')  # fmt: skip
    out = tmp_path / "events.jsonl"

    assert run(capsys, "zendesk", str(array), "--out", str(out))[0] == 0
    assert calls == ["incremental", "webhook"]
    assert [e["event_id"] for e in lines(out)] == ["z-2", "z-1"]  # in occurred_at order

    calls.clear()
    assert run(capsys, "zendesk", str(jsonl), "--out", str(out))[0] == 0
    assert calls == ["incremental", "incremental"]
