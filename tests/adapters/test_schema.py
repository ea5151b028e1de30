"""Contract tests: the JSON Schema files, their examples and the compiled validators agree."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import fastjsonschema
import pytest
from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from stream.adapters.codec import SCHEMA_VIOLATION, UNKNOWN_TYPE, Decoded, Rejected, decode
from stream.adapters.schema import (
    ENVELOPE_SCHEMA,
    EVENT_TYPES,
    SCHEMA_BASE_URI,
    SchemaLoadError,
    SchemaViolation,
    compile_validator,
    describe_violation,
    schema_dir,
    schema_file_name,
    validators,
)

SCHEMAS = Path(__file__).resolve().parents[2] / "schemas" / "v1"
EXAMPLES = SCHEMAS / "examples"
DRAFT_2020_12 = "https://json-schema.org/draft/2020-12/schema"
NOW_S = 1_716_000_000.0  # 2024-05-18T02:40:00Z, after every example

# Keywords whose meaning is the same in draft 7 and draft 2020-12, so that compiling the files
# as draft 7 (fastjsonschema has no 2020-12 generator) keeps their 2020-12 meaning. Notably
# absent: array-form `items`/`prefixItems`, `dependentRequired`, `unevaluated*`, `$anchor`,
# `format` (validated in draft 7 by fastjsonschema, an annotation in 2020-12).
SHARED_KEYWORDS = {
    "$schema", "$id", "$ref", "$defs", "title", "description", "default",
    "type", "enum", "const", "properties", "required", "allOf", "anyOf",
    "if", "then", "not", "minLength", "maxLength", "pattern", "minimum", "maximum", "items",
}  # fmt: skip
SUBSCHEMA_KEYWORDS = {"not", "if", "then", "items"}
SUBSCHEMA_LIST_KEYWORDS = {"allOf", "anyOf"}
SUBSCHEMA_MAP_KEYWORDS = {"properties", "$defs"}


def load_json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def schema_paths() -> list[Path]:
    return sorted(SCHEMAS.glob("*.schema.json"))


def example(event_type: str) -> dict[str, Any]:
    event: dict[str, Any] = load_json(EXAMPLES / f"{event_type}.json")
    return event


def subschemas(schema: dict[str, Any], where: str) -> Iterator[tuple[str, dict[str, Any]]]:
    """Yield every schema object inside `schema` (itself included) with its JSON pointer."""
    yield where, schema
    for key, value in schema.items():
        if key in SUBSCHEMA_KEYWORDS:
            yield from subschemas(value, f"{where}/{key}")
        elif key in SUBSCHEMA_LIST_KEYWORDS:
            for index, item in enumerate(value):
                yield from subschemas(item, f"{where}/{key}/{index}")
        elif key in SUBSCHEMA_MAP_KEYWORDS:
            for name, item in value.items():
                yield from subschemas(item, f"{where}/{key}/{name}")


@pytest.fixture(scope="module")
def registry() -> Registry[Any]:
    """All schema files by `$id`; anything else is unresolvable, so nothing is fetched."""
    resources = [
        (schema["$id"], Resource.from_contents(schema, default_specification=DRAFT202012))
        for schema in map(load_json, schema_paths())
    ]
    return Registry().with_resources(resources)


def reference_validator(event_type: str, registry: Registry[Any]) -> Draft202012Validator:
    schema = load_json(SCHEMAS / schema_file_name(event_type))
    return Draft202012Validator(schema, registry=registry)


def test_schema_files__are_2020_12_schemas_with_stable_ids() -> None:
    for path in schema_paths():
        schema = load_json(path)
        Draft202012Validator.check_schema(schema)
        assert schema["$schema"] == DRAFT_2020_12, path.name
        assert schema["$id"] == SCHEMA_BASE_URI + path.name


def test_schema_files__are_the_envelope_and_one_per_event_type() -> None:
    expected = {ENVELOPE_SCHEMA} | {schema_file_name(t) for t in EVENT_TYPES}
    assert {path.name for path in schema_paths()} == expected
    assert load_json(SCHEMAS / ENVELOPE_SCHEMA)["properties"]["type"]["enum"] == list(EVENT_TYPES)
    for event_type in EVENT_TYPES:
        schema = load_json(SCHEMAS / schema_file_name(event_type))
        assert schema["title"] == event_type
        assert schema["properties"]["type"]["const"] == event_type
        assert schema["allOf"] == [{"$ref": ENVELOPE_SCHEMA}]


@pytest.mark.parametrize("path", schema_paths(), ids=lambda p: p.name)
def test_schema_files__use_only_keywords_shared_by_draft7_and_2020_12(path: Path) -> None:
    for where, schema in subschemas(load_json(path), path.name):
        assert set(schema) <= SHARED_KEYWORDS, f"{where}: {set(schema) - SHARED_KEYWORDS}"
        # Draft 7 ignores the siblings of `$ref`; 2020-12 does not. Wrap a $ref in allOf instead.
        assert "$ref" not in schema or set(schema) == {"$ref"}, where


@pytest.mark.parametrize("path", schema_paths(), ids=lambda p: p.name)
def test_schema_files__describe_every_property(path: Path) -> None:
    for where, schema in subschemas(load_json(path), path.name):
        for name, prop in schema.get("properties", {}).items():
            assert prop.get("description"), f"{where}/properties/{name}"


def test_examples__one_per_event_type() -> None:
    assert sorted(p.name for p in EXAMPLES.glob("*.json")) == sorted(
        f"{t}.json" for t in EVENT_TYPES
    )


def test_schema_dir__is_the_repository_schema_directory() -> None:
    bundled = schema_dir()
    for path in schema_paths():
        assert (bundled / path.name).read_bytes() == path.read_bytes()


@pytest.mark.parametrize("event_type", EVENT_TYPES)
def test_example__is_valid_for_the_adapter_and_the_reference_validator(
    event_type: str, registry: Registry[Any]
) -> None:
    event = example(event_type)
    assert event["type"] == event_type
    reference_validator(event_type, registry).validate(copy.deepcopy(event))
    assert validators()[event_type](copy.deepcopy(event))["event_id"] == event["event_id"]
    assert isinstance(decode(json.dumps(event).encode(), now_s=NOW_S), Decoded)


MINIMAL_EVENTS: list[tuple[dict[str, Any], dict[str, Any]]] = [
    (
        {"type": "ticket.created", "ticket_id": "T-1", "queue": "billing"},
        {"priority": "normal", "channel": "other", "status": "new", "schema_version": 1},
    ),
    (
        {"type": "ticket.message", "ticket_id": "T-1", "author": "agent"},
        {"public": True, "schema_version": 1},
    ),
    (
        {"type": "interaction.completed", "ticket_id": "T-1"},
        {"talk_seconds": 0, "hold_seconds": 0, "wrap_seconds": 0, "schema_version": 1},
    ),
    ({"type": "ticket.assigned", "ticket_id": "T-1", "assignee": None}, {"schema_version": 1}),
    ({"type": "survey.nps", "queue": "billing", "score": 0}, {"schema_version": 1}),
]


@pytest.mark.parametrize(("given", "defaults"), MINIMAL_EVENTS, ids=lambda v: v.get("type"))
def test_validator__fills_in_defaults(given: dict[str, Any], defaults: dict[str, Any]) -> None:
    event = {"event_id": "e-1", "occurred_at": "2024-05-14T09:12:03Z", **given}
    assert validators()[given["type"]](dict(event)) == {**event, **defaults}


def test_validator__keeps_given_values_over_defaults() -> None:
    event = example("ticket.created") | {"priority": "low", "schema_version": 3}
    validated = validators()["ticket.created"](dict(event))
    assert (validated["priority"], validated["schema_version"]) == ("low", 3)


def change(event_type: str, **fields: Any) -> dict[str, Any]:
    """The example of `event_type` with `fields` set; a value of `...` removes the field."""
    event = example(event_type)
    for name, value in fields.items():
        if value is ...:
            event.pop(name, None)
        else:
            event[name] = value
    return event


# (case, event type, fields to set or (`...`) remove, start of the detail). The reference
# validator must reject every case too, so the adapter and the documented contract agree.
INVALID_CASES: list[tuple[str, str, dict[str, Any], str]] = [
    ("no event_id", "ticket.created", {"event_id": ...}, "event_id: required"),
    ("empty event_id", "ticket.created", {"event_id": ""}, "event_id: must be longer"),
    ("long event_id", "ticket.created", {"event_id": "e" * 129}, "event_id: must be shorter"),
    ("numeric event_id", "ticket.created", {"event_id": 7}, "event_id: must be string"),
    ("no occurred_at", "ticket.message", {"occurred_at": ...}, "occurred_at: required"),
    ("naive occurred_at", "ticket.message", {"occurred_at": "2024-05-14T09:12:03"},
     "occurred_at: must be an RFC 3339"),
    ("schema_version 0", "ticket.message", {"schema_version": 0},
     "schema_version: must be bigger than or equal to 1"),
    ("schema_version 1.5", "ticket.message", {"schema_version": 1.5},
     "schema_version: must be integer"),
    ("schema_version '1'", "ticket.message", {"schema_version": "1"},
     "schema_version: must be integer"),
    ("created without queue", "ticket.created", {"queue": ...}, "queue: required"),
    ("created empty queue", "ticket.created", {"queue": ""}, "queue: must be longer"),
    ("created long queue", "ticket.created", {"queue": "q" * 65},
     "queue: must be shorter than or equal to 64"),
    ("created bad priority", "ticket.created", {"priority": "asap"}, "priority: must be one of"),
    ("created bad channel", "ticket.created", {"channel": "fax"}, "channel: must be one of"),
    ("created bad status", "ticket.created", {"status": "deleted"}, "status: must be one of"),
    ("created numeric assignee", "ticket.created", {"assignee": 42},
     "assignee: must be string or null"),
    ("assigned no assignee", "ticket.assigned", {"assignee": ...}, "assignee: required"),
    ("assigned empty assignee", "ticket.assigned", {"assignee": ""}, "assignee: must be longer"),
    ("queue_changed null queue", "ticket.queue_changed", {"queue": None},
     "queue: must be string"),
    ("priority_changed no priority", "ticket.priority_changed", {"priority": ...},
     "priority: required"),
    ("status_changed bad status", "ticket.status_changed", {"status": "Solved"},
     "status: must be one of"),
    ("message bad author", "ticket.message", {"author": "bot"}, "author: must be one of"),
    ("message public 'false'", "ticket.message", {"public": "false"}, "public: must be boolean"),
    ("negative talk", "interaction.completed", {"talk_seconds": -1},
     "talk_seconds: must be bigger than or equal to 0"),
    ("hold as string", "interaction.completed", {"hold_seconds": "60"},
     "hold_seconds: must be number"),
    ("wrap as bool", "interaction.completed", {"wrap_seconds": True},
     "wrap_seconds: must be number"),
    ("csat 0", "survey.csat", {"score": 0}, "score: must be bigger than or equal to 1"),
    ("csat 6", "survey.csat", {"score": 6}, "score: must be smaller than or equal to 5"),
    ("csat 4.5", "survey.csat", {"score": 4.5}, "score: must be integer"),
    ("nps 11", "survey.nps", {"score": 11}, "score: must be smaller than or equal to 10"),
    ("nps -1", "survey.nps", {"score": -1}, "score: must be bigger than or equal to 0"),
    ("nps without ticket or queue", "survey.nps", {"queue": ...}, "queue: required"),
    ("presence bad status", "agent.presence", {"status": "busy"}, "status: must be one of"),
    ("presence no queues", "agent.presence", {"queues": ...}, "queues: required"),
    ("presence queues string", "agent.presence", {"queues": "billing"},
     "queues: must be array"),
    ("presence empty queue name", "agent.presence", {"queues": ["billing", ""]},
     "queues[1]: must be longer"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("event_type", "fields", "detail"),
    [case[1:] for case in INVALID_CASES],
    ids=[case[0] for case in INVALID_CASES],
)
def test_decode__rejects_contract_violations_as_schema_violation(
    event_type: str, fields: dict[str, Any], detail: str, registry: Registry[Any]
) -> None:
    event = change(event_type, **fields)
    result = decode(json.dumps(event).encode(), now_s=NOW_S)
    assert isinstance(result, Rejected)
    assert (result.reason, result.detail[: len(detail)]) == (SCHEMA_VIOLATION, detail)
    assert not reference_validator(event_type, registry).is_valid(event)


def test_decode__rejects_unknown_type_before_any_schema() -> None:
    result = decode(
        json.dumps(change("ticket.message", type="ticket.deleted")).encode(), now_s=NOW_S
    )
    assert isinstance(result, Rejected)
    assert result.reason == UNKNOWN_TYPE
    assert result.detail.startswith("type: 'ticket.deleted' is not a known event type (")


VALID_EDGE_CASES: list[tuple[str, str, dict[str, Any]]] = [
    ("extra fields", "ticket.created", {"x_source": "zd", "meta": {"tags": ["vip"]}}),
    ("future schema_version", "ticket.created", {"schema_version": 2}),
    ("assignee null", "ticket.assigned", {"assignee": None}),
    ("created minimal", "ticket.created",
     {"priority": ..., "channel": ..., "status": ..., "assignee": ...}),
    ("csat 4.0 is an integer", "survey.csat", {"score": 4.0}),
    ("nps with ticket, no queue", "survey.nps", {"ticket_id": "T-1", "queue": ...}),
    ("nps with ticket and queue", "survey.nps", {"ticket_id": "T-1"}),
    ("presence with ticket_id", "agent.presence", {"ticket_id": "T-1"}),
    ("presence with no queues", "agent.presence", {"status": "offline", "queues": []}),
    ("interaction without agent", "interaction.completed", {"agent": ...}),
    ("fraction of 9 digits", "ticket.message", {"occurred_at": "2024-05-14T09:12:03.123456789Z"}),
    ("negative offset", "ticket.message", {"occurred_at": "2024-05-14T05:12:03-04:00"}),
    ("lowercase t and z", "ticket.message", {"occurred_at": "2024-05-14t09:12:03z"}),
    ("ids of 128 chars", "ticket.message", {"event_id": "e" * 128, "ticket_id": "t" * 128}),
    ("queue of 64 chars", "ticket.queue_changed", {"queue": "q" * 64}),
]  # fmt: skip


@pytest.mark.parametrize(
    ("event_type", "fields"),
    [case[1:] for case in VALID_EDGE_CASES],
    ids=[case[0] for case in VALID_EDGE_CASES],
)
def test_validators__accept_edge_cases_like_the_reference_validator(
    event_type: str, fields: dict[str, Any], registry: Registry[Any]
) -> None:
    event = change(event_type, **fields)
    reference_validator(event_type, registry).validate(copy.deepcopy(event))
    result = decode(json.dumps(event).encode(), now_s=NOW_S)
    assert isinstance(result, Decoded), result
    assert {k: result.event[k] for k in event} == event


def test_describe_violation__names_field_and_rule_without_echoing_large_values() -> None:
    with pytest.raises(SchemaViolation) as caught:
        validators()["ticket.created"](change("ticket.created", queue="q" * 10_000))
    assert describe_violation(caught.value) == (
        "queue: must be shorter than or equal to 64 characters (rule maxLength), "
        "got a string of 10000 characters"
    )


def test_compile_validator__refuses_refs_outside_the_bundled_schemas(tmp_path: Path) -> None:
    schema = {
        "$schema": DRAFT_2020_12,
        "$id": SCHEMA_BASE_URI + "ticket.created.schema.json",
        "allOf": [{"$ref": "https://json-schema.org/draft/2020-12/schema"}],
    }
    (tmp_path / "ticket.created.schema.json").write_text(json.dumps(schema))
    with pytest.raises(SchemaLoadError, match=r"outside the bundled schemas"):
        compile_validator("ticket.created", tmp_path)


def test_compile_validator__fails_loudly_on_a_missing_schema(tmp_path: Path) -> None:
    with pytest.raises(SchemaLoadError, match=r"cannot load schema ticket\.created\.schema\.json"):
        compile_validator("ticket.created", tmp_path)


def test_fastjsonschema__applies_a_default_beside_allof_ref() -> None:
    # Pins the fastjsonschema behaviour the defaults rely on: `default` is read from the
    # property itself, even when its constraints come from an `allOf` + `$ref`.
    validate = fastjsonschema.compile(
        {
            "$schema": "http://json-schema.org/draft-07/schema#",
            "properties": {"p": {"default": "normal", "allOf": [{"$ref": "#/definitions/p"}]}},
            "definitions": {"p": {"enum": ["low", "normal"]}},
        }
    )
    assert validate({}) == {"p": "normal"}
