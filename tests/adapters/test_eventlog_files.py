"""Event log files (CSV, XES) read as rows, and mapping files checked with located errors."""

from __future__ import annotations

import gzip
import textwrap
from pathlib import Path

import pytest

from stream.adapters.eventlog_files import (
    EventLogFileError,
    load_mapping,
    parse_mapping,
    read_csv,
    read_event_log,
    read_xes,
)
from stream.domain.sources.eventlog import map_rows

ROOT = Path(__file__).resolve().parents[2]
LOGS = ROOT / "tests" / "data" / "eventlogs"
MAPPINGS = ROOT / "deploy" / "mappings"


def test_read_csv__semicolons_bom_and_crlf_of_a_spreadsheet_export() -> None:
    assert (LOGS / "bpi2013-incidents.csv").read_bytes()[:3] == b"\xef\xbb\xbf"

    rows = list(read_csv(LOGS / "bpi2013-incidents.csv"))

    assert len(rows) == 22
    assert rows[0] == {
        "SR Number": "1-364285768", "Change Date+Time": "2012-05-14T10:00:00+02:00",
        "Status": "Accepted", "Sub Status": "In Progress", "Involved ST": "V30",
        "Involved Org line 3": "Org line A2", "Impact": "Medium", "Product": "PROD582",
        "Country": "Belgium", "Owner Country": "Belgium", "Owner First Name": "Anna",
    }  # fmt: skip


def test_read_csv__commas_quotes_short_rows_and_blank_lines(tmp_path: Path) -> None:
    path = tmp_path / "log.csv"
    path.write_text(' Case ID ,Activity,Note\n1,"Resolve, then close","said ""ok"""\n\n2,Wait\n')

    assert list(read_csv(path)) == [
        {"Case ID": "1", "Activity": "Resolve, then close", "Note": 'said "ok"'},
        {"Case ID": "2", "Activity": "Wait", "Note": ""},
    ]


def test_read_event_log__gzipped_csv_and_tabs(tmp_path: Path) -> None:
    path = tmp_path / "log.csv.gz"
    path.write_bytes(gzip.compress(b"case\tactivity\n1\tOpen\n"))

    assert list(read_event_log(path)) == [{"case": "1", "activity": "Open"}]


def test_read_csv__not_utf8_is_an_error_naming_the_file(tmp_path: Path) -> None:
    path = tmp_path / "latin1.csv"
    path.write_bytes("case;activity\n1;Résolu\n".encode("latin-1"))

    with pytest.raises(EventLogFileError, match=r"latin1\.csv: not UTF-8"):
        list(read_csv(path))


def test_read_xes__events_inherit_their_trace_attributes() -> None:
    rows = list(read_event_log(LOGS / "bpi2013-incidents.xes"))

    seen = [(r["case:concept:name"], r["concept:name"], r["lifecycle:transition"]) for r in rows]
    assert seen == [
        ("1-364285768", "Accepted", "In Progress"),
        ("1-364285768", "Completed", "Resolved"),
        ("1-364285772", "Queued", "Awaiting Assignment"),
        ("1-364285772", "Accepted", "In Progress"),
    ]  # fmt: skip
    # Trace attributes written after the events apply too; nested values, the log's own
    # attributes and its global defaults are not columns.
    assert rows[2] == {
        "case:concept:name": "1-364285772", "case:product": "PROD698", "org:group": "V30",
        "org:resource": "Anna", "concept:name": "Queued", "impact": "High",
        "lifecycle:transition": "Awaiting Assignment",
        "time:timestamp": "2012-05-14T10:00:00.000+02:00",
    }  # fmt: skip


def test_read_xes__mapped_with_the_xes_attribute_keys() -> None:
    text = (MAPPINGS / "bpi2013-incidents.toml").read_text()
    xes_keys = {
        '"SR Number"': '"case:concept:name"',
        '["Status", "Sub Status"]': '["concept:name", "lifecycle:transition"]',
        '"Change Date+Time"': '"time:timestamp"',
        '"Owner First Name"': '"org:resource"',
        '"Involved ST"': '"org:group"',
        '"Impact"': '"impact"',
    }
    for csv_name, xes_key in xes_keys.items():
        text = text.replace(f"= {csv_name}", f"= {xes_key}")
    mapping = parse_mapping(text)

    out = map_rows(read_xes(LOGS / "bpi2013-incidents.xes"), mapping)

    assert [(e["ticket_id"], e["type"], e["occurred_at"]) for e in out.events] == [
        ("bpi2013-1-364285768", "ticket.created", "2012-05-14T08:00:00Z"),
        ("bpi2013-1-364285768", "ticket.message", "2012-05-14T08:00:00Z"),
        ("bpi2013-1-364285768", "ticket.status_changed", "2012-05-14T09:00:00Z"),
        ("bpi2013-1-364285772", "ticket.created", "2012-05-14T08:00:00Z"),
        ("bpi2013-1-364285772", "ticket.queue_changed", "2012-05-14T10:00:00Z"),
        ("bpi2013-1-364285772", "ticket.status_changed", "2012-05-14T10:00:00Z"),
        ("bpi2013-1-364285772", "ticket.assigned", "2012-05-14T10:00:00Z"),
        ("bpi2013-1-364285772", "ticket.message", "2012-05-14T10:00:00Z"),
    ]
    assert out.unmapped == {}


def test_read_xes__malformed_xml_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "broken.xes"
    path.write_text('<log><trace><string key="concept:name" value="1"/></log>')

    with pytest.raises(EventLogFileError, match=r"broken\.xes: not well-formed XES"):
        list(read_xes(path))


@pytest.mark.parametrize(
    ("log", "mapping"),
    [("helpdesk.csv", "helpdesk.toml"), ("bpi2013-incidents.csv", "bpi2013-incidents.toml")],
)
def test_load_mapping__shipped_mappings_map_their_samples_completely(
    log: str, mapping: str
) -> None:
    out = map_rows(read_event_log(LOGS / log), load_mapping(MAPPINGS / mapping))

    assert len({e["ticket_id"] for e in out.events}) == 8
    assert out.unmapped == {}


VALID = """
[columns]
case = "Case ID"
activity = "Activity"
timestamp = "Complete Timestamp"
[activities]
"Resolve ticket" = "status:solved"
"""


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("colums = 1\n" + VALID, "m.toml:1: colums: unknown key; allowed here: source, "),
        (
            VALID.replace('case = "Case ID"', 'case = ""'),
            "m.toml:2: columns.case: expected a non-empty string, got ''",
        ),
        (VALID.replace('case = "Case ID"\n', ""), "m.toml:1: columns.case: required"),
        (
            VALID.replace('activity = "Activity"', "activity = 3"),
            "m.toml:3: columns.activity: required: a column name, or a list",
        ),
        (
            VALID + '"Wait" = "pending"\n',
            "m.toml:7: activities.Wait: unknown meaning 'pending'; use one of created, reply,",
        ),
        (
            VALID + '"Wait" = ["status:pending", 4]\n',
            "m.toml:7: activities.Wait: expected a meaning (a string), got 4",
        ),
        (
            VALID + '[priority]\ncolumn = "Impact"\n[priority.values]\n"Major" = "critical"\n',
            "m.toml:10: priority.values.Major: priority 'critical': use one of low, normal,",
        ),
        (
            VALID + '[queue]\ncolum = "workgroup"\n',
            "m.toml:8: queue.colum: unknown key; allowed here: column, values, default",
        ),
        (VALID + "[columns.x]\n", "m.toml:7: columns.x: unknown key"),
        (
            VALID.replace("[columns]", '[columns]\ntimezone = "Mars/Olympus"'),
            "m.toml:2: columns.timezone: unknown timezone 'Mars/Olympus'",
        ),
        (
            VALID.replace("[columns]", '[columns]\ntimestamp_format = "YYYY-MM-DD"'),
            "m.toml:2: columns.timestamp_format: expected a strptime format",
        ),
        (VALID.split("[activities]")[0], "m.toml: activities: required: an [activities] table"),
        ('source = "x\n', "m.toml:1: not valid TOML: "),
    ],
)
def test_parse_mapping__errors_name_the_line_and_key(text: str, message: str) -> None:
    with pytest.raises(EventLogFileError) as err:
        parse_mapping(textwrap.dedent(text).lstrip("\n"), source="m.toml")

    assert str(err.value).startswith(message), str(err.value)


def test_load_mapping__unreadable_file(tmp_path: Path) -> None:
    with pytest.raises(EventLogFileError, match="cannot read the mapping file"):
        load_mapping(tmp_path / "missing.toml")
