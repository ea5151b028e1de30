"""Tests for the boundary codec: each reject reason, the order of checks, and decoded values."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from stream.adapters.codec import (
    FUTURE_TIMESTAMP,
    INVALID_JSON,
    MAX_DEPTH,
    REASONS,
    SCHEMA_VIOLATION,
    TOO_LARGE,
    UNKNOWN_TYPE,
    Decoded,
    Rejected,
    decode,
)
from stream.adapters.schema import EVENT_TYPES

EXAMPLES = Path(__file__).resolve().parents[2] / "schemas" / "v1" / "examples"
NOW_S = 1_715_678_000.0  # 2024-05-14T09:13:20Z
OCCURRED_AT = "2024-05-14T09:12:03Z"
OCCURRED_AT_S = 1_715_677_923.0

Make = Callable[..., dict[str, Any]]


@pytest.fixture
def make_event() -> Make:
    """Factory: the example event of a type, at OCCURRED_AT, with fields set or (`...`) removed."""

    def make(event_type: str = "ticket.created", **fields: Any) -> dict[str, Any]:
        event: dict[str, Any] = json.loads((EXAMPLES / f"{event_type}.json").read_text())
        event["occurred_at"] = OCCURRED_AT
        for name, value in fields.items():
            if value is ...:
                event.pop(name, None)
            else:
                event[name] = value
        return event

    return make


def encode(event: Any) -> bytes:
    return json.dumps(event).encode()


def rejected(raw: bytes, **kwargs: Any) -> Rejected:
    result = decode(raw, now_s=kwargs.pop("now_s", NOW_S), **kwargs)
    assert isinstance(result, Rejected), result
    return result


def test_reason_codes__are_the_documented_strings() -> None:
    assert REASONS == (
        "too_large",
        "invalid_json",
        "schema_violation",
        "unknown_type",
        "future_timestamp",
    )


@pytest.mark.parametrize("event_type", EVENT_TYPES)
def test_decode__accepts_every_example(event_type: str, make_event: Make) -> None:
    event = make_event(event_type)
    result = decode(encode(event), now_s=NOW_S)
    assert result == Decoded({**event, **_defaults_of(event_type)}, OCCURRED_AT_S)


def _defaults_of(event_type: str) -> dict[str, Any]:
    # Every example but ticket.created omits schema_version, so decode adds it.
    return {} if event_type == "ticket.created" else {"schema_version": 1}


def test_decode__fills_in_defaults(make_event: Make) -> None:
    event = make_event(priority=..., channel=..., status=..., assignee=..., schema_version=...)
    result = decode(encode(event), now_s=NOW_S)
    assert isinstance(result, Decoded)
    assert result.event == {
        **event,
        "priority": "normal",
        "channel": "other",
        "status": "new",
        "schema_version": 1,
    }


def test_decode__keeps_extra_fields(make_event: Make) -> None:
    event = make_event(x_source="zendesk", meta={"brand": "acme", "tags": ["vip", "eu"]})
    result = decode(encode(event), now_s=NOW_S)
    assert isinstance(result, Decoded)
    assert (result.event["x_source"], result.event["meta"]) == ("zendesk", event["meta"])


def test_decode__too_large_above_max_bytes_only(make_event: Make) -> None:
    event = make_event(padding="")
    size = len(encode(event))
    at_limit = encode(make_event(padding="x" * (65536 - size)))
    assert len(at_limit) == 65536
    assert isinstance(decode(at_limit, now_s=NOW_S), Decoded)
    over = encode(make_event(padding="x" * (65537 - size)))
    assert rejected(over) == Rejected(TOO_LARGE, "message is 65537 bytes, over the limit of 65536")


def test_decode__too_large_is_checked_before_json(make_event: Make) -> None:
    assert rejected(b"\xff" * 100, max_bytes=99).reason == TOO_LARGE
    assert rejected(encode(make_event()), max_bytes=10).reason == TOO_LARGE


@pytest.mark.parametrize(
    ("raw", "detail"),
    [
        (b'{"type": "ticket.created", "queue": "caf\xe9"}',
         "not valid UTF-8: byte 0xe9 at offset 40"),
        (b"\xff\xfe{}", "not valid UTF-8: byte 0xff at offset 0"),
        (b'{"talk_seconds": NaN}', "not valid JSON: unexpected character"),
        (b'{"talk_seconds": Infinity}', "not valid JSON: unexpected character"),
        (b'{"talk_seconds": -Infinity}', "not valid JSON:"),
        (b'{"talk_seconds": 1e400}', "not valid JSON: number is infinity"),
        (b'{"type": "ticket.created"', "not valid JSON:"),
        (b'{"a": 1}{"a": 2}', "not valid JSON: unexpected content after document"),
        (b"", "not valid JSON:"),
        (b"   ", "not valid JSON:"),
        (b"{'type': 'ticket.created'}", "not valid JSON:"),
        (b"[" * 2000 + b"]" * 2000, "not valid JSON:"),
    ],
    ids=["latin-1", "bom16", "nan", "inf", "neg-inf", "overflow", "truncated", "two-docs",
         "empty", "blank", "single-quotes", "nested-2000"],
)  # fmt: skip
def test_decode__invalid_json(raw: bytes, detail: str) -> None:
    result = rejected(raw)
    assert (result.reason, result.detail[: len(detail)]) == (INVALID_JSON, detail)


def test_decode__accepts_nesting_up_to_max_depth(make_event: Make) -> None:
    # The event object is level 1, so MAX_DEPTH - 1 arrays inside it reach MAX_DEPTH.
    deepest = json.loads("[" * (MAX_DEPTH - 1) + "]" * (MAX_DEPTH - 1))
    assert isinstance(decode(encode(make_event(extra=deepest)), now_s=NOW_S), Decoded)


def test_decode__rejects_nesting_beyond_max_depth(make_event: Make) -> None:
    too_deep = json.loads("[" * MAX_DEPTH + "]" * MAX_DEPTH)
    assert rejected(encode(make_event(extra=too_deep))) == Rejected(
        SCHEMA_VIOLATION, "event: nests deeper than 32 levels (rule max_depth)"
    )


def test_decode__many_flat_brackets_are_not_deep(make_event: Make) -> None:
    event = make_event(tags=[[] for _ in range(100)], note="{[{[" * 50)
    assert isinstance(decode(encode(event), now_s=NOW_S), Decoded)


@pytest.mark.parametrize(
    ("raw", "detail"),
    [
        (b"[]", "event: must be a JSON object, got an array of 0 items"),
        (b'[{"type": "ticket.created"}]', "event: must be a JSON object, got an array of 1 items"),
        (b'"ticket.created"', "event: must be a JSON object, got 'ticket.created'"),
        (b"42", "event: must be a JSON object, got 42"),
        (b"null", "event: must be a JSON object, got null"),
        (b"true", "event: must be a JSON object, got true"),
        (b'{"event_id": "e-1"}', "type: required field is missing (rule required)"),
        (b'{"type": null}', "type: must be string (rule type), got null"),
        (b'{"type": 7}', "type: must be string (rule type), got 7"),
        (b'{"type": ["ticket.created"]}',
         "type: must be string (rule type), got an array of 1 items"),
    ],
)  # fmt: skip
def test_decode__not_an_object_or_no_string_type(raw: bytes, detail: str) -> None:
    assert rejected(raw) == Rejected(SCHEMA_VIOLATION, detail)


@pytest.mark.parametrize("event_type", ["ticket.deleted", "", "Ticket.Created", "ticket.created "])
def test_decode__unknown_type(event_type: str, make_event: Make) -> None:
    result = rejected(encode(make_event(type=event_type)))
    assert result.reason == UNKNOWN_TYPE
    assert result.detail.startswith(f"type: {event_type!r} is not a known event type (")


def test_decode__unknown_type_is_checked_before_the_schema() -> None:
    assert rejected(b'{"type": "ticket.deleted"}').reason == UNKNOWN_TYPE


@pytest.mark.parametrize(
    ("event_type", "fields", "detail"),
    [
        ("ticket.created", {"queue": 5}, "queue: must be string (rule type), got 5"),
        ("ticket.created", {"ticket_id": ["T-1"]},
         "ticket_id: must be string (rule type), got an array of 1 items"),
        ("ticket.created", {"priority": "asap"},
         "priority: must be one of ['low', 'normal', 'high', 'urgent'] (rule enum), got 'asap'"),
        ("ticket.message", {"public": "yes"}, "public: must be boolean (rule type), got 'yes'"),
        ("survey.csat", {"score": "5"}, "score: must be integer (rule type), got '5'"),
        ("survey.csat", {"score": True}, "score: must be integer (rule type), got true"),
        ("interaction.completed", {"talk_seconds": -0.5},
         "talk_seconds: must be bigger than or equal to 0 (rule minimum), got -0.5"),
        ("agent.presence", {"queues": [1]}, "queues[0]: must be string (rule type), got 1"),
    ],
)  # fmt: skip
def test_decode__wrong_field_types(
    event_type: str, fields: dict[str, Any], detail: str, make_event: Make
) -> None:
    assert rejected(encode(make_event(event_type, **fields))) == Rejected(SCHEMA_VIOLATION, detail)


@pytest.mark.parametrize(
    "event_type", [t for t in EVENT_TYPES if t not in ("agent.presence", "survey.nps")]
)
def test_decode__missing_ticket_id(event_type: str, make_event: Make) -> None:
    assert rejected(encode(make_event(event_type, ticket_id=...))) == Rejected(
        SCHEMA_VIOLATION, "ticket_id: required field is missing (rule required)"
    )


def test_decode__ticket_id_is_optional_for_presence_and_queue_level_nps(make_event: Make) -> None:
    presence = make_event("agent.presence", ticket_id=...)
    nps = make_event("survey.nps", ticket_id=..., queue="billing")
    assert isinstance(decode(encode(presence), now_s=NOW_S), Decoded)
    assert isinstance(decode(encode(nps), now_s=NOW_S), Decoded)


def test_decode__nps_needs_a_ticket_or_a_queue(make_event: Make) -> None:
    nps = make_event("survey.nps", ticket_id=..., queue=...)
    assert rejected(encode(nps)) == Rejected(
        SCHEMA_VIOLATION, "queue: required field is missing (rule required)"
    )


@pytest.mark.parametrize(
    "occurred_at",
    [
        "2024-05-14T09:12:03",  # naive: no offset
        "2024-05-14 09:12:03Z",  # space instead of T
        "2024-05-14T09:12Z",  # no seconds
        "2024-05-14",  # date only
        "2024-05-14T09:12:03+0200",  # offset without colon
        "2024-05-14T09:12:03+02",  # offset without minutes
        "2024-05-14T09:12:03.1234567890Z",  # 10 fraction digits
        "2024-05-14T09:12:03Z\n",  # trailing newline
        "2024-05-14T09:12:60Z",  # leap second
        "2024-13-14T09:12:03Z",  # month 13
        "2024-05-14T24:00:00Z",  # hour 24
        "\u0662\u0660\u0662\u0664-05-14T09:12:03Z",  # Arabic-Indic digits
        "Tue, 14 May 2024 09:12:03 GMT",  # RFC 2822
    ],
)
def test_decode__rejects_malformed_or_naive_timestamps(occurred_at: str, make_event: Make) -> None:
    result = rejected(encode(make_event(occurred_at=occurred_at)))
    assert result.reason == SCHEMA_VIOLATION
    assert result.detail.startswith("occurred_at: must be an RFC 3339 timestamp with an explicit")


@pytest.mark.parametrize("occurred_at", [1_715_677_923, None])
def test_decode__rejects_non_string_timestamps(occurred_at: Any, make_event: Make) -> None:
    result = rejected(encode(make_event(occurred_at=occurred_at)))
    assert (result.reason, result.detail[:29]) == (
        SCHEMA_VIOLATION,
        "occurred_at: must be string (",
    )


@pytest.mark.parametrize(
    ("occurred_at", "why"),
    [
        ("2024-02-30T09:12:03Z", "day is out of range for month"),
        ("2023-02-29T09:12:03Z", "day is out of range for month"),
        ("0000-01-01T00:00:00Z", "year 0 is out of range"),
    ],
)
def test_decode__rejects_impossible_dates(occurred_at: str, why: str, make_event: Make) -> None:
    assert rejected(encode(make_event(occurred_at=occurred_at))) == Rejected(
        SCHEMA_VIOLATION, f"occurred_at: {occurred_at!r} is not a real date and time ({why})"
    )


@pytest.mark.parametrize(
    "occurred_at",
    [
        "2024-05-14T09:12:03Z",
        "2024-05-14T11:12:03+02:00",
        "2024-05-14T04:42:03-04:30",
        "2024-05-14t09:12:03z",
        "2024-05-14T09:12:03.000000000Z",
        "2024-05-14T09:12:03-00:00",
    ],
)
def test_decode__occurred_at_s_is_epoch_seconds_of_any_offset(
    occurred_at: str, make_event: Make
) -> None:
    result = decode(encode(make_event(occurred_at=occurred_at)), now_s=NOW_S)
    assert isinstance(result, Decoded)
    assert result.occurred_at_s == OCCURRED_AT_S
    assert result.event["occurred_at"] == occurred_at


def test_decode__occurred_at_s_keeps_fractions(make_event: Make) -> None:
    result = decode(encode(make_event(occurred_at="2024-05-14T09:12:03.25Z")), now_s=NOW_S)
    assert isinstance(result, Decoded)
    assert result.occurred_at_s == OCCURRED_AT_S + 0.25


def test_decode__future_timestamp_beyond_the_skew_only(make_event: Make) -> None:
    raw = encode(make_event())
    assert isinstance(decode(raw, now_s=OCCURRED_AT_S - 300), Decoded)
    assert rejected(raw, now_s=OCCURRED_AT_S - 301) == Rejected(
        FUTURE_TIMESTAMP,
        "occurred_at: 2024-05-14T09:12:03Z is 301 s ahead of the clock, "
        "more than the allowed 300 s (rule max_future_skew)",
    )
    assert isinstance(decode(raw, now_s=OCCURRED_AT_S - 301, max_future_skew_s=600), Decoded)
    assert rejected(raw, now_s=OCCURRED_AT_S - 1.5, max_future_skew_s=1).reason == FUTURE_TIMESTAMP


def test_decode__old_events_are_never_too_old(make_event: Make) -> None:
    raw = encode(make_event(occurred_at="2001-01-01T00:00:00Z"))
    assert isinstance(decode(raw, now_s=NOW_S), Decoded)


def test_decode__schema_violation_is_checked_before_future_timestamp(make_event: Make) -> None:
    raw = encode(make_event(queue=..., occurred_at="2999-01-01T00:00:00Z"))
    assert rejected(raw).reason == SCHEMA_VIOLATION


def test_decode__detail_is_one_short_line_without_the_value(make_event: Make) -> None:
    huge = "line one\nline two " + "q" * 60_000
    result = rejected(encode(make_event(queue=huge)))
    assert result == Rejected(
        SCHEMA_VIOLATION,
        "queue: must be shorter than or equal to 64 characters (rule maxLength), "
        "got a string of 60018 characters",
    )
    unknown = rejected(encode(make_event(type="x\n" * 1000)))
    assert "\n" not in unknown.detail
    assert len(unknown.detail) <= 300


def test_results__are_frozen_and_slotted() -> None:
    result = Rejected(TOO_LARGE, "message is 2 bytes, over the limit of 1")
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.reason = INVALID_JSON  # type: ignore[misc]
    assert not hasattr(result, "__dict__")
    assert not hasattr(Decoded({}, 0.0), "__dict__")


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**64 - 1)  # orjson's range
    | st.floats(allow_nan=False)
    | st.text(max_size=80),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=8,
)
# These tests check that bad input never raises, not speed; on a busy machine Hypothesis's
# timing checks would make them flaky.
robustness = settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])


@robustness
@given(raw=st.binary(max_size=300))
def test_decode__never_raises_on_arbitrary_bytes(raw: bytes) -> None:
    result = decode(raw, now_s=NOW_S)
    assert isinstance(result, Decoded) or result.reason in REASONS


@robustness
@given(
    event_type=st.sampled_from(EVENT_TYPES),
    fields=st.dictionaries(
        st.sampled_from(["ticket_id", "queue", "priority", "score", "queues", "occurred_at"]),
        json_values,
    ),
)
def test_decode__never_raises_on_arbitrary_field_values(
    event_type: str, fields: dict[str, Any]
) -> None:
    event = {"event_id": "e-1", "type": event_type, "occurred_at": OCCURRED_AT, **fields}
    result = decode(orjson.dumps(event), now_s=NOW_S)
    assert isinstance(result, Decoded) or (
        result.reason == SCHEMA_VIOLATION and "\n" not in result.detail
    )
