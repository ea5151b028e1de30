"""Source lines of TOML keys and tables, since `tomllib` keeps none for error messages."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Final

#: A key path into the parsed document: table and key names, and indexes into arrays of
#: tables, e.g. `("policy", 2, "targets", "first_reply")`.
KeyPath = tuple[str | int, ...]

_PART: Final = re.compile(r"""\s*(?:"((?:[^"\\]|\\.)*)"|'([^']*)'|([A-Za-z0-9_-]+))\s*""")


@dataclass(slots=True)
class _Table:
    """One table header and the key lines up to the next header."""

    path: KeyPath
    line: int | None
    keys: dict[tuple[str, ...], int] = field(default_factory=dict)


class TomlLines:
    """Finds the line where a key path of a TOML text is written, by a plain scan.

    Good enough for hand-written configuration: it understands `[table]`, `[[array]]`,
    `key = ...` and dotted or quoted keys, and ignores what it cannot read (a line inside
    a multi-line string may fool it; the answer then is merely a nearby line).
    """

    def __init__(self, text: str) -> None:
        root = _Table((), None)
        self._tables: dict[KeyPath, _Table] = {(): root}
        counts: dict[tuple[str, ...], int] = {}
        current = root
        for number, raw in enumerate(text.splitlines(), start=1):
            line = raw.strip()
            if line.startswith("["):
                header = _header(line)
                if header is None:
                    continue
                names, is_array = header
                if is_array:
                    counts[names] = counts.get(names, -1) + 1
                path = _concrete(names, counts)
                current = self._tables.setdefault(path, _Table(path, number))
                continue
            key = _key(line)
            if key is not None:
                current.keys.setdefault(key, number)

    def line_of(self, path: KeyPath) -> int | None:
        """Return the line of `path`, else of its nearest written ancestor, else None.

        A key is looked for in the innermost table that has a header, then as a dotted
        key in each enclosing one (`targets.first_reply = ...`, or an inline table
        `targets = {...}` when the ancestor itself is asked for). A table that is only
        written through what it contains (`[queue.vip]` creates `queue`) is at the first
        line that writes into it.
        """
        for end in range(len(path), 0, -1):
            target = path[:end]
            table = self._tables.get(target)
            if table is not None and table.line is not None:
                return table.line
            for split in range(end - 1, -1, -1):
                outer, rest = self._tables.get(target[:split]), target[split:]
                if outer is not None and all(isinstance(p, str) for p in rest):
                    line = outer.keys.get(tuple(str(p) for p in rest))
                    if line is not None:
                        return line
        if path:
            inside = [line for written, line in self._written() if written[: len(path)] == path]
            if inside:
                return min(inside)
        return None

    def _written(self) -> list[tuple[KeyPath, int]]:
        """Every table header and key with its line, as full paths."""
        out: list[tuple[KeyPath, int]] = []
        for table in self._tables.values():
            if table.line is not None:
                out.append((table.path, table.line))
            out.extend(((*table.path, *key), line) for key, line in table.keys.items())
        return out


def _concrete(names: tuple[str, ...], counts: dict[tuple[str, ...], int]) -> KeyPath:
    """Insert the current element index after each array-of-tables prefix of `names`."""
    path: list[str | int] = []
    for end in range(1, len(names) + 1):
        path.append(names[end - 1])
        index = counts.get(names[:end])
        if index is not None:
            path.append(index)
    return tuple(path)


def _header(line: str) -> tuple[tuple[str, ...], bool] | None:
    """Parse `[a.b]` or `[[a.b]]` (a comment may follow) into names and "is an array"."""
    is_array = line.startswith("[[")
    inner = line[2:] if is_array else line[1:]
    names, rest = _dotted(inner)
    closing = "]]" if is_array else "]"
    if names is None or not rest.startswith(closing):
        return None
    tail = rest[len(closing) :].strip()
    return (names, is_array) if not tail or tail.startswith("#") else None


def _key(line: str) -> tuple[str, ...] | None:
    """Parse the key of a `key = value` line, or return None for any other line."""
    names, rest = _dotted(line)
    return names if names is not None and rest.startswith("=") else None


def _dotted(text: str) -> tuple[tuple[str, ...] | None, str]:
    """Read a dotted key from the start of `text`; return it and the text after it."""
    names: list[str] = []
    pos = 0
    while True:
        match = _PART.match(text, pos)
        if match is None or match.end() == pos:
            return None, text
        names.append(next(g for g in match.groups() if g is not None))
        pos = match.end()
        if not text.startswith(".", pos):
            return tuple(names), text[pos:]
        pos += 1


def describe_path(path: Sequence[str | int]) -> str:
    """Render a key path as written in TOML, e.g. `hours.mon-fri` or `policy[2].name`."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            bare = re.fullmatch(r"[A-Za-z0-9_-]+", part) is not None
            out += ("." if out else "") + (part if bare else f'"{part}"')
    return out
