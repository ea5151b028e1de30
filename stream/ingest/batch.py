"""A request body to validated lines: the same codec as the worker, all-or-nothing per request."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

from stream.adapters.codec import Decoded, decode
from stream.processing.routing import entity_key

__all__ = [
    "JSON",
    "MEDIA_TYPES",
    "NDJSON",
    "Batch",
    "RejectedLine",
    "UnsupportedMediaType",
    "ValidLine",
    "body_lines",
    "media_kind",
    "validate_lines",
]

JSON: Final = "application/json"
NDJSON: Final = "application/x-ndjson"
#: Accepted media types: one event, or one event per line (``application/jsonl`` is the
#: JSON Lines spelling of the same format).
MEDIA_TYPES: Final[dict[str, str]] = {JSON: "json", NDJSON: "ndjson", "application/jsonl": "ndjson"}
_WHITESPACE: Final = b" \t\r\n"


class UnsupportedMediaType(ValueError):
    """The body's media type or charset is not one the endpoint reads (HTTP 415)."""


@dataclass(frozen=True, slots=True)
class ValidLine:
    """A line that passed validation: produced unchanged under ``key``."""

    line: int
    raw: bytes
    event_id: str
    key: bytes | None


@dataclass(frozen=True, slots=True)
class RejectedLine:
    """A line the worker would dead-letter, with the codec's reason and detail."""

    line: int
    reason: str
    detail: str


@dataclass(frozen=True, slots=True)
class Batch:
    """Every non-blank line of one request, in body order, each valid or rejected."""

    lines: tuple[ValidLine | RejectedLine, ...]

    @property
    def valid(self) -> list[ValidLine]:
        """The valid lines, in body order (the order they are produced in)."""
        return [line for line in self.lines if isinstance(line, ValidLine)]

    @property
    def rejected(self) -> list[RejectedLine]:
        """The rejected lines; the request is produced only when there are none."""
        return [line for line in self.lines if isinstance(line, RejectedLine)]

    def rejection(self) -> dict[str, Any]:
        """The 400 answer: every line's verdict, so a client can fix exactly the bad ones."""
        results: list[dict[str, Any]] = []
        for line in self.lines:
            if isinstance(line, RejectedLine):
                results.append({"line": line.line, "status": "rejected", "reason": line.reason,
                                "detail": line.detail})  # fmt: skip
            else:
                results.append({"line": line.line, "status": "valid", "event_id": line.event_id})
        return {
            "error": "invalid_events",
            "detail": f"{len(self.rejected)} of {len(self.lines)} events are invalid; "
            "nothing was produced",
            "accepted": 0,
            "rejected": len(self.rejected),
            "results": results,
        }


def media_kind(mimetype: str, charset: str | None) -> str:
    """``"json"`` or ``"ndjson"`` for a request's media type (as aiohttp parsed it).

    Raises:
        UnsupportedMediaType: Another media type, or a charset other than UTF-8; the
            message lists what is accepted.
    """
    kind = MEDIA_TYPES.get(mimetype.lower())
    if kind is None:
        accepted = ", ".join(MEDIA_TYPES)
        raise UnsupportedMediaType(
            f"unsupported Content-Type {mimetype or '(none)'!r}: send {accepted}"
        )
    if charset is not None and charset.lower().replace("_", "-") not in ("utf-8", "utf8"):
        raise UnsupportedMediaType(f"unsupported charset {charset!r}: events are UTF-8")
    return kind


def body_lines(body: bytes, kind: str) -> list[tuple[int, bytes]]:
    """Split a body into ``(line number, bytes)`` events, skipping blank lines.

    A JSON body is one event (it may span lines) with its surrounding whitespace trimmed.
    NDJSON is split at line feeds, dropping a trailing carriage return (CRLF files); numbers
    count every physical line from 1, blank ones included, so they match the client's file.
    """
    if kind == "json":
        event = body.strip(_WHITESPACE)
        return [(1, event)] if event else []
    lines = []
    for number, line in enumerate(body.split(b"\n"), start=1):
        raw = line[:-1] if line.endswith(b"\r") else line
        if raw.strip(_WHITESPACE):
            lines.append((number, raw))
    return lines


def validate_lines(
    lines: list[tuple[int, bytes]], *, now_s: float, max_bytes: int, max_future_skew_s: float
) -> Batch:
    """Validate every line with the worker's codec (``stream.adapters.codec.decode``).

    Every line is checked, not just up to the first fault, so one answer lists them all.
    A valid line's key is ``entity_key`` of the decoded event: the key the worker routes by,
    so the worker never has to re-key what this endpoint produced.
    """
    verdicts: list[ValidLine | RejectedLine] = []
    for number, raw in lines:
        result = decode(raw, now_s=now_s, max_bytes=max_bytes, max_future_skew_s=max_future_skew_s)
        if isinstance(result, Decoded):
            key = entity_key(result.event)
            verdicts.append(ValidLine(number, raw, str(result.event["event_id"]),
                                      key.encode() if key is not None else None))  # fmt: skip
        else:
            verdicts.append(RejectedLine(number, result.reason, result.detail))
    return Batch(tuple(verdicts))
