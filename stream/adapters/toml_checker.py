"""Checks shared by the hand-written TOML files: errors that name the file, line and key."""

from __future__ import annotations

import re
import tomllib
from datetime import date
from pathlib import Path
from typing import Any, ClassVar, Final, NoReturn

from stream.adapters.toml_lines import KeyPath, TomlLines, describe_path
from stream.domain.durations import parse_duration

# bool before int: a boolean is an int to isinstance, and must be named as a boolean.
_TOML_TYPES: Final = {
    str: "a string", bool: "a boolean", int: "an integer", float: "a float",
    list: "an array", dict: "a table", date: "a date",
}  # fmt: skip


class ConfigFileError(ValueError):
    """A configuration file that cannot be used; the message reads `FILE:LINE: where: key: what`.

    Attributes:
        source: The file (or the name given to the parser).
        line: The 1-based line the problem is located at, when it could be found.
        key: The offending key, relative to its section (e.g. `targets.first_reply`).
        detail: What is wrong and what would be accepted.
    """

    def __init__(self, source: str, line: int | None, where: str, key: str, detail: str) -> None:
        self.source, self.line, self.key, self.detail = source, line, key, detail
        place = source if line is None else f"{source}:{line}"
        super().__init__(": ".join(part for part in (place, where, key, detail) if part))


def read_config_text(path: str | Path, error: type[ConfigFileError], what: str) -> str:
    """The UTF-8 text of a configuration file; an unreadable one is an `error` naming it."""
    try:
        return Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise error(str(path), None, "", "", f"cannot read the {what}: {exc}") from exc


def load_toml(text: str, source: str, error: type[ConfigFileError]) -> dict[str, Any]:
    """Parse TOML, re-wording tomllib's "... (at line 3, column 7)" as `FILE:3: ...`."""
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        message = str(exc)
        found = re.search(r"\s*\(at line (\d+), column (\d+)\)$", message)
        if found is None:
            raise error(source, None, "", "", f"not valid TOML: {message}") from None
        reason = message[: found.start()]
        line, column = int(found[1]), int(found[2])
        raise error(source, line, "", "", f"not valid TOML: {reason} (column {column})") from None


class TomlChecker:
    """Reads a parsed document, raising `error` at the first problem, located by line."""

    error: ClassVar[type[ConfigFileError]] = ConfigFileError

    def __init__(self, source: str, lines: TomlLines) -> None:
        self._source, self._lines = source, lines

    def fail(self, path: KeyPath, detail: str, *, where: str = "", depth: int = 0) -> NoReturn:
        """Raise for `path`; the key shown is the part of it after the first `depth` parts."""
        key = describe_path(path[depth:])
        raise self.error(self._source, self._lines.line_of(path), where, key, detail)

    def check_keys(
        self, path: KeyPath, table: dict[str, Any], allowed: tuple[str, ...], where: str = ""
    ) -> None:
        """Reject a key not in `allowed`: a typo would otherwise be ignored silently."""
        depth = 2 if where else 0
        for key in table:
            if key not in allowed:
                choices = ", ".join(allowed)
                self.fail((*path, key), f"unknown key; allowed here: {choices}", where=where,
                          depth=depth)  # fmt: skip

    def typed(
        self, path: KeyPath, value: Any, kind: type, what: str, where: str, depth: int = 2
    ) -> Any:
        """Return `value` if it is of `kind`, else fail saying what was expected.

        The key shown leaves out the first `depth` parts of `path` (the section `where`
        names).
        """
        if isinstance(value, kind) and not (kind is int and isinstance(value, bool)):
            return value
        got = next((name for t, name in _TOML_TYPES.items() if isinstance(value, t)), "a value")
        self.fail(path, f"expected {what}, got {got}", where=where, depth=depth)

    def duration(self, path: KeyPath, value: Any, where: str, depth: int = 2) -> float:
        """A duration string such as "15m", in seconds."""
        text = self.typed(path, value, str, 'a duration such as "15m"', where, depth)
        try:
            return parse_duration(text)
        except ValueError as exc:
            self.fail(path, str(exc), where=where, depth=depth)
