"""The staffing file: the shipped one is the domain defaults; every problem names file:line.

Errors read `FILE:LINE: SECTION: KEY: what is wrong`, where SECTION is `[defaults]` or
`queue "NAME"`.
"""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

import pytest

from stream.adapters.staffing_file import (
    StaffingFileError,
    default_staffing_path,
    load_staffing_file,
    parse_staffing_text,
)
from stream.domain.staffing import QueueTarget, StaffingConfig

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = ROOT / "deploy" / "staffing" / "staffing.toml"


def test_shipped_file__equals_the_domain_defaults() -> None:
    assert load_staffing_file(SHIPPED) == StaffingConfig()
    # The packaged copy is the same file.
    assert default_staffing_path().read_text() == SHIPPED.read_text()
    assert load_staffing_file(default_staffing_path()) == StaffingConfig()


def test_shipped_file__its_commented_queue_example_parses() -> None:
    """The `[queues.vip]` example in the comments is a valid file once uncommented."""
    lines = SHIPPED.read_text().splitlines()
    start = lines.index("# [queues.vip]")
    example = [line.removeprefix("# ") for line in lines[start:] if line.startswith("# ")]
    config = parse_staffing_text("\n".join(example) + "\n")
    assert config.queues == {
        "vip": QueueTarget(kind="realtime", service_level=0.9, answer_s=30.0, fallback_aht_s=480.0)
    }


def test_every_documented_key_parses() -> None:
    text = textwrap.dedent(
        """
        [defaults]
        service_level = 0.9
        realtime_answer = "30s"
        deferred_answer = "2h"
        max_occupancy = 0.8
        shrinkage = 0.35
        fallback_aht = "7m30s"
        min_interactions = 25
        presence_timeout = "5m"
        realtime_share = 0.6

        [queues.vip]
        service_level = 0.95
        answer = "15s"
        kind = "realtime"
        fallback_aht = "4m"
        max_occupancy = 0.75
        shrinkage = 0.25

        [queues."returns desk"]
        kind = "deferred"
        """
    )
    assert parse_staffing_text(text) == StaffingConfig(
        service_level=0.9,
        realtime_answer_s=30.0,
        deferred_answer_s=7200.0,
        max_occupancy=0.8,
        shrinkage=0.35,
        fallback_aht_s=450.0,
        min_interactions=25,
        presence_timeout_s=300.0,
        realtime_share=0.6,
        queues={
            "vip": QueueTarget(
                service_level=0.95,
                answer_s=15.0,
                kind="realtime",
                fallback_aht_s=240.0,
                max_occupancy=0.75,
                shrinkage=0.25,
            ),
            "returns desk": QueueTarget(kind="deferred"),
        },
    )


def test_empty_file_and_partial_defaults() -> None:
    assert parse_staffing_text("") == StaffingConfig()
    # Keys not given keep the domain defaults; integers are accepted for shares.
    config = parse_staffing_text("[defaults]\nmax_occupancy = 1\nshrinkage = 0\n")
    assert config == StaffingConfig(max_occupancy=1.0, shrinkage=0.0)
    assert isinstance(config.max_occupancy, float)


@pytest.mark.parametrize(
    ("text", "field", "value"),
    [
        ("[defaults]\nmax_occupancy = 1.0\n", "max_occupancy", 1.0),
        ("[defaults]\nshrinkage = 0.0\n", "shrinkage", 0.0),
        ("[defaults]\nrealtime_share = 1.0\n", "realtime_share", 1.0),
        ("[defaults]\nmin_interactions = 1\n", "min_interactions", 1),
        ("[defaults]\nservice_level = 0.999\n", "service_level", 0.999),
    ],
)
def test_boundaries_that_are_accepted(text: str, field: str, value: float) -> None:
    assert getattr(parse_staffing_text(text), field) == value


def message(text: str) -> str:
    with pytest.raises(StaffingFileError) as err:
        parse_staffing_text(text, source="staffing.toml")
    return str(err.value)


DEFAULT_KEYS = (
    "service_level, realtime_answer, deferred_answer, max_occupancy, shrinkage, fallback_aht, "
    "min_interactions, presence_timeout, realtime_share"
)
QUEUE_KEYS = "service_level, answer, kind, fallback_aht, max_occupancy, shrinkage"

# name -> (file text, the whole expected message)
CASES = {
    "unknown_top_level_key": (
        '[defaults]\nshrinkage = 0.3\n\n[queue.vip]\nkind = "realtime"\n',
        "staffing.toml:4: queue: unknown key; allowed here: defaults, queues",
    ),
    "unknown_top_level_dotted_key": (
        '\nqueue.vip.kind = "realtime"\n',
        "staffing.toml:2: queue: unknown key; allowed here: defaults, queues",
    ),
    "unknown_top_level_plain_key": (
        "\n\nservice_level = 0.8\n",
        "staffing.toml:3: service_level: unknown key; allowed here: defaults, queues",
    ),
    "unknown_key_in_defaults": (
        "[defaults]\nservice_level = 0.8\nservice_levl = 0.9\n",
        f"staffing.toml:3: [defaults]: service_levl: unknown key; allowed here: {DEFAULT_KEYS}",
    ),
    "queue_key_in_defaults": (
        '[defaults]\nanswer = "20s"\n',
        f"staffing.toml:2: [defaults]: answer: unknown key; allowed here: {DEFAULT_KEYS}",
    ),
    "unknown_key_in_queue": (
        '[queues.vip]\nkind = "realtime"\nanswr = "30s"\n',
        f'staffing.toml:3: queue "vip": answr: unknown key; allowed here: {QUEUE_KEYS}',
    ),
    "defaults_only_key_in_queue": (
        '[queues.vip]\npresence_timeout = "5m"\n',
        f'staffing.toml:2: queue "vip": presence_timeout: unknown key; allowed here: {QUEUE_KEYS}',
    ),
    "service_level_0": (
        "[defaults]\nservice_level = 0\n",
        "staffing.toml:2: [defaults]: service_level: 0 is out of range: expected between 0 "
        "and 1, e.g. 0.8 for 80%",
    ),
    "service_level_1": (
        "[defaults]\nservice_level = 1\n",
        "staffing.toml:2: [defaults]: service_level: 1 is out of range: expected between 0 "
        "and 1, e.g. 0.8 for 80%",
    ),
    "service_level_1_in_queue": (
        '[queues."vip desk"]\nservice_level = 1.0\n',
        'staffing.toml:2: queue "vip desk": service_level: 1 is out of range: expected '
        "between 0 and 1, e.g. 0.8 for 80%",
    ),
    "max_occupancy_0": (
        "[defaults]\nmax_occupancy = 0\n",
        "staffing.toml:2: [defaults]: max_occupancy: 0 is out of range: expected above 0 and "
        "at most 1, e.g. 0.85",
    ),
    "max_occupancy_above_1": (
        "[queues.vip]\nmax_occupancy = 1.05\n",
        'staffing.toml:2: queue "vip": max_occupancy: 1.05 is out of range: expected above 0 '
        "and at most 1, e.g. 0.85",
    ),
    "shrinkage_1": (
        "[defaults]\nshrinkage = 1\n",
        "staffing.toml:2: [defaults]: shrinkage: 1 is out of range: expected from 0 up to "
        "(not including) 1, e.g. 0.3",
    ),
    "shrinkage_negative": (
        "[queues.vip]\nshrinkage = -0.1\n",
        'staffing.toml:2: queue "vip": shrinkage: -0.1 is out of range: expected from 0 up to '
        "(not including) 1, e.g. 0.3",
    ),
    "realtime_share_0": (
        "[defaults]\nrealtime_share = 0.0\n",
        "staffing.toml:2: [defaults]: realtime_share: 0 is out of range: expected above 0 and "
        "at most 1, e.g. 0.5",
    ),
    "share_nan": (
        "[defaults]\nservice_level = nan\n",
        "staffing.toml:2: [defaults]: service_level: nan is out of range: expected between 0 "
        "and 1, e.g. 0.8 for 80%",
    ),
    "share_as_percent_string": (
        '[defaults]\nservice_level = "80%"\n',
        "staffing.toml:2: [defaults]: service_level: expected a number between 0 and 1, e.g. "
        "0.8 for 80%",
    ),
    "share_boolean": (
        "[defaults]\nshrinkage = true\n",
        "staffing.toml:2: [defaults]: shrinkage: expected a number from 0 up to (not "
        "including) 1, e.g. 0.3",
    ),
    "bad_duration": (
        '[defaults]\nfallback_aht = "10 minutes"\n',
        "staffing.toml:2: [defaults]: fallback_aht: bad duration '10 minutes': use a number "
        "and a unit s, m, h, d or w, e.g. 30m, 8h, 2d, 1h30m",
    ),
    "bad_duration_order": (
        '[queues.vip]\nanswer = "30s1m"\n',
        "staffing.toml:2: queue \"vip\": answer: bad duration '30s1m': units go largest "
        "first, each once; use a number and a unit s, m, h, d or w, e.g. 30m, 8h, 2d, 1h30m",
    ),
    "duration_without_unit": (
        "[defaults]\npresence_timeout = 600\n",
        'staffing.toml:2: [defaults]: presence_timeout: expected a duration such as "15m", '
        "got an integer",
    ),
    "duration_zero_in_defaults": (
        '[defaults]\nrealtime_answer = "0s"\n',
        "staffing.toml:2: [defaults]: realtime_answer: must be longer than 0",
    ),
    "duration_zero_in_queue": (
        '[queues.vip]\nanswer = "0m"\n',
        'staffing.toml:2: queue "vip": answer: must be longer than 0',
    ),
    "kind_unknown": (
        '[queues.vip]\nkind = "live"\n',
        "staffing.toml:2: queue \"vip\": kind: unknown kind 'live'; known: realtime, deferred",
    ),
    "kind_not_a_string": (
        "[queues.vip]\nkind = 1\n",
        'staffing.toml:2: queue "vip": kind: expected a string, got an integer',
    ),
    "min_interactions_0": (
        "[defaults]\nmin_interactions = 0\n",
        "staffing.toml:2: [defaults]: min_interactions: expected an integer of at least 1",
    ),
    "min_interactions_true": (
        "[defaults]\nmin_interactions = true\n",
        "staffing.toml:2: [defaults]: min_interactions: expected an integer, got a boolean",
    ),
    "min_interactions_float": (
        "[defaults]\nmin_interactions = 1.5\n",
        "staffing.toml:2: [defaults]: min_interactions: expected an integer, got a float",
    ),
    "min_interactions_string": (
        '[defaults]\nmin_interactions = "10"\n',
        "staffing.toml:2: [defaults]: min_interactions: expected an integer, got a string",
    ),
    "defaults_not_a_table": (
        "defaults = 3\n",
        "staffing.toml:1: expected a table [defaults], got an integer",
    ),
    "queues_not_a_table": (
        'queues = ["vip"]\n',
        "staffing.toml:1: expected tables [queues.NAME], got an array",
    ),
    "queue_not_a_table": (
        "[queues]\nvip = 0.9\n",
        'staffing.toml:2: queue "vip": expected a table [queues."vip"], got a float',
    ),
    "toml_syntax": (
        "[defaults]\nshrinkage = 0.3\nservice_level = \n",
        "staffing.toml:3: not valid TOML: Invalid value (column 17)",
    ),
    "toml_duplicate_key": (
        "[defaults]\nshrinkage = 0.3\nshrinkage = 0.2\n",
        "staffing.toml:3: not valid TOML: Cannot overwrite a value (column 16)",
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_error_names_file_line_section_and_key(case: str) -> None:
    text, expected = CASES[case]
    assert message(text) == expected


def test_error_attributes() -> None:
    with pytest.raises(StaffingFileError) as err:
        parse_staffing_text("[queues.vip]\n\nshrinkage = 1\n", source="s.toml")
    assert (err.value.source, err.value.line, err.value.key) == ("s.toml", 3, "shrinkage")
    assert isinstance(err.value, ValueError)


def test_unreadable_file(tmp_path: Path) -> None:
    missing = tmp_path / "nope.toml"
    with pytest.raises(StaffingFileError) as err:
        load_staffing_file(missing)
    assert re.fullmatch(
        rf"{re.escape(str(missing))}: cannot read the staffing file: \[Errno 2\] .*",
        str(err.value),
    )
    assert err.value.line is None
    latin1 = tmp_path / "latin1.toml"
    latin1.write_bytes(b"# caf\xe9\n[defaults]\n")
    with pytest.raises(StaffingFileError, match="cannot read the staffing file: 'utf-8'"):
        load_staffing_file(latin1)
    with pytest.raises(StaffingFileError, match="cannot read the staffing file"):
        load_staffing_file(tmp_path)  # a directory


def test_load_names_the_path_in_errors(tmp_path: Path) -> None:
    path = tmp_path / "staffing.toml"
    path.write_text("[defaults]\nmax_occupancy = 0\n", encoding="utf-8")
    with pytest.raises(StaffingFileError) as err:
        load_staffing_file(path)
    assert str(err.value).startswith(f"{path}:2: [defaults]: max_occupancy: 0 is out of range")
    path.write_text('[queues.vip]\nanswer = "45s"\n', encoding="utf-8")
    assert load_staffing_file(str(path)).queues == {"vip": QueueTarget(answer_s=45.0)}
