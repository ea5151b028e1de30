"""Read the block-style YAML of deploy/prometheus and deploy/alertmanager without a YAML library.

The project has no YAML dependency, and these files use a small subset: block mappings and
lists, quoted or plain scalars, `|` / `>-` block scalars and one-line flow mappings
(`{sla: first_reply}`). `items(text, "alert")` finds every list item whose first key is
`alert` and returns its mapping; `text(node)` gives a scalar's value; `mapping(node)` a
nested mapping's. Anything outside the subset fails loudly rather than parsing wrongly.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

KEY = re.compile(r"^(?P<indent> *)(?P<key>[A-Za-z_][\w.-]*):(?:[ \t]+(?P<value>.*?))?[ \t]*$")


@dataclass
class Node:
    """A key's inline value (after `key:`) and the more-indented lines that follow it."""

    value: str
    body: list[str] = field(default_factory=list)


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


def _significant(line: str) -> bool:
    stripped = line.strip()
    return bool(stripped) and not stripped.startswith("#")


def mapping_of(lines: list[str]) -> dict[str, Node]:
    """The mapping at the indentation of the first significant line of ``lines``."""
    first = next((ln for ln in lines if _significant(ln)), None)
    if first is None:
        return {}
    indent = _indent(first)
    out: dict[str, Node] = {}
    current: Node | None = None
    for line in lines:
        if not line.strip():
            if current is not None:
                current.body.append(line)
            continue
        if _indent(line) > indent:
            assert current is not None, f"indented line before any key: {line!r}"
            current.body.append(line)
            continue
        assert _indent(line) == indent, f"line outside the mapping: {line!r}"
        if line.lstrip().startswith("#"):
            continue
        match = KEY.match(line)
        assert match is not None, f"not a `key: value` line: {line!r}"
        current = out[match["key"]] = Node(match["value"] or "")
    return out


def items(text_: str, first_key: str) -> list[dict[str, Node]]:
    """Every list item (`- first_key: ...`) of ``text_``, as a mapping."""
    lines = text_.splitlines()
    found: list[dict[str, Node]] = []
    start = re.compile(rf"^(?P<indent> *)- {re.escape(first_key)}:(?:[ \t]|$)")
    for i, line in enumerate(lines):
        match = start.match(line)
        if match is None:
            continue
        dash = len(match["indent"])
        block = [" " * (dash + 2) + line[dash + 2 :]]
        for following in lines[i + 1 :]:
            if following.strip() and _indent(following) <= dash:
                break
            block.append(following)
        found.append(mapping_of(block))
    return found


def text(node: Node) -> str:
    """A scalar's value: plain, quoted, or a `|` / `>` block scalar."""
    value = node.value
    if value in ("|", "|-", ">", ">-"):
        content = [ln.strip() for ln in node.body if ln.strip()]
        return ("\n" if value.startswith("|") else " ").join(content)
    assert not [ln for ln in node.body if _significant(ln)], f"nested value under {value!r}"
    if value.startswith('"'):
        return str(json.loads(value))
    if value.startswith("'"):
        assert value.endswith("'"), value
        return value[1:-1].replace("''", "'")
    return value.split(" #", 1)[0].strip()


def mapping(node: Node) -> dict[str, str]:
    """A nested mapping of scalars: a block under the key, or a one-line `{k: v, ...}`."""
    if node.value.startswith("{"):
        assert node.value.endswith("}"), node.value
        pairs = [p.split(":", 1) for p in node.value[1:-1].split(",") if p.strip()]
        return {k.strip(): v.strip().strip("'\"") for k, v in pairs}
    assert node.value == "", f"not a mapping: {node.value!r}"
    return {k: text(v) for k, v in mapping_of(node.body).items()}


def sequence(node: Node) -> list[str]:
    """A list of scalars: `[a, b]` inline, or `- a` lines under the key."""
    if node.value.startswith("["):
        assert node.value.endswith("]"), node.value
        return [v.strip().strip("'\"") for v in node.value[1:-1].split(",") if v.strip()]
    assert node.value == "", f"not a list: {node.value!r}"
    return [ln.strip()[2:].strip().strip("'\"") for ln in node.body
            if _significant(ln)]  # fmt: skip
