"""Input contract: one compiled JSON Schema validator per version-1 event type."""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from importlib.resources import files
from importlib.resources.abc import Traversable
from types import MappingProxyType
from typing import Any, Final

import fastjsonschema
import orjson

#: Base of every schema `$id`. `.example` is a reserved domain (RFC 2606): the ids are names,
#: never fetched; `$ref`s to them are served from the bundled files by `_local_handler`.
SCHEMA_BASE_URI: Final = "https://supportpulse.example/schemas/v1/"
ENVELOPE_SCHEMA: Final = "envelope.schema.json"

#: The event types of contract version 1, in the order the contract lists them.
EVENT_TYPES: Final[tuple[str, ...]] = (
    "ticket.created",
    "ticket.assigned",
    "ticket.queue_changed",
    "ticket.priority_changed",
    "ticket.status_changed",
    "ticket.message",
    "interaction.completed",
    "survey.csat",
    "survey.nps",
    "agent.presence",
)

# fastjsonschema picks its code generator from `$schema` and has none for 2020-12. The schema
# files keep to keywords that mean the same in draft 7 and 2020-12 (a test enforces the list),
# so compiling them as draft 7 gives exactly the 2020-12 meaning, in every fastjsonschema version.
_COMPILE_AS: Final = "http://json-schema.org/draft-07/schema#"

#: A compiled validator: returns the event with defaults filled in (in place), or raises
#: `SchemaViolation`.
Validator = Callable[[dict[str, Any]], dict[str, Any]]

#: Raised by a `Validator`; `describe_violation` turns it into a one-line detail.
SchemaViolation = fastjsonschema.JsonSchemaValueException

# Values longer than this are described by their size, never echoed (details go to logs and
# dead-letter headers).
_MAX_ECHO_CHARS: Final = 40


class SchemaLoadError(RuntimeError):
    """A schema file is missing, malformed, or refers to a schema outside the bundled set."""


def schema_dir() -> Traversable:
    """Return the directory of the bundled version-1 schema files.

    `stream/schemas` is a symlink to the repository's `schemas/` in a checkout (so an editable
    install reads the files being edited) and a real directory inside an installed wheel.
    """
    return files("stream") / "schemas" / "v1"


def schema_file_name(event_type: str) -> str:
    """Return the file name of the schema for `event_type`, e.g. `ticket.created.schema.json`."""
    return f"{event_type}.schema.json"


def load_schema(name: str, directory: Traversable | None = None) -> dict[str, Any]:
    """Load one schema file by name from `directory` (default: the bundled schemas).

    Raises:
        SchemaLoadError: the file is missing or not a JSON object; a broken install must fail
            at start-up, not on the first event.
    """
    path = (directory or schema_dir()) / name
    try:
        schema = orjson.loads(path.read_bytes())
    except (OSError, orjson.JSONDecodeError) as exc:
        raise SchemaLoadError(f"cannot load schema {name}: {exc}") from exc
    if not isinstance(schema, dict):
        raise SchemaLoadError(f"schema {name} is not a JSON object")
    return schema


def _local_handler(directory: Traversable | None) -> Callable[[str], dict[str, Any]]:
    """Return a fastjsonschema URI handler serving `$ref`s from local files, never the network."""

    def fetch(uri: str) -> dict[str, Any]:
        name = uri.removeprefix(SCHEMA_BASE_URI)
        if name == uri or "/" in name or not name.endswith(".schema.json"):
            raise SchemaLoadError(f"$ref to {uri} is outside the bundled schemas")
        return load_schema(name, directory)

    return fetch


def compile_validator(event_type: str, directory: Traversable | None = None) -> Validator:
    """Compile the validator of one event type, with defaults applied on success.

    Formats are off: the 2020-12 meaning of `format` is an annotation, and the contract says
    what it needs with `pattern` instead.
    """
    schema = load_schema(schema_file_name(event_type), directory)
    schema["$schema"] = _COMPILE_AS
    handler = _local_handler(directory)
    validate: Validator = fastjsonschema.compile(
        schema,
        handlers={"https": handler, "http": handler},
        use_default=True,
        use_formats=False,
    )
    return validate


@functools.cache
def validators() -> Mapping[str, Validator]:
    """Return the validator of every event type, compiled once per process.

    Compiling generates Python source for each schema, which takes milliseconds; validating
    with the result takes microseconds, so the hot path only ever looks validators up here.
    """
    return MappingProxyType({t: compile_validator(t) for t in EVENT_TYPES})


def brief(value: Any) -> str:
    """Describe `value` in a few characters: short scalars as JSON-ish repr, big ones by size."""
    if isinstance(value, str):
        if len(value) <= _MAX_ECHO_CHARS:
            return repr(value)
        return f"a string of {len(value)} characters"
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return f"an array of {len(value)} items"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    return repr(value)[:_MAX_ECHO_CHARS]


def describe_violation(exc: SchemaViolation) -> str:
    """Say which field broke which rule, in one line that never echoes a large value."""
    name = exc.name or "data"
    field = name.removeprefix("data").lstrip(".") or "event"
    rule = exc.rule or "schema"
    if rule == "required":
        present = exc.value if isinstance(exc.value, dict) else {}
        missing = [key for key in exc.rule_definition or () if key not in present]
        prefix = "" if field == "event" else f"{field}."
        fields = ", ".join(f"{prefix}{key}" for key in missing) or field
        return f"{fields}: required field is missing (rule required)"
    if rule == "pattern":
        definition = exc.definition if isinstance(exc.definition, dict) else {}
        expected = definition.get("title") or f"match the pattern {exc.rule_definition}"
        return f"{field}: must be {expected} (rule pattern), got {brief(exc.value)}"
    message = exc.message.removeprefix(name).strip()
    return f"{field}: {message} (rule {rule}), got {brief(exc.value)}"
