"""The SLA policy file (TOML): calendars and policies, checked with errors that point at lines."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final

from stream.adapters.calendar_spec import CALENDAR_KEYS, CalendarSpecError, build_calendar
from stream.adapters.toml_checker import (
    ConfigFileError,
    TomlChecker,
    load_toml,
    read_config_text,
)
from stream.adapters.toml_lines import KeyPath, TomlLines
from stream.domain.calendars import AlwaysOpen, Calendar
from stream.domain.policies import CLOCKS, DEFAULT_AT_RISK_WITHIN_S, PolicySet, SlaPolicy
from stream.domain.vocabulary import CHANNELS, PRIORITIES

#: The built-in calendar: every second counts.
ALWAYS_OPEN: Final = "24x7"

_TOP_KEYS: Final = ("calendars", "policy")
_POLICY_KEYS: Final = ("name", "calendar", "at_risk_within", "match", "targets")
_REQUIRED: Final = {
    "name": "a name, unique in the file",
    "calendar": '"24x7" or the NAME of a [calendars.NAME]',
    "targets": "a [policy.targets] table with at least one of " + ", ".join(CLOCKS),
}
_MATCH_VOCABULARY: Final[Mapping[str, tuple[str, ...] | None]] = {
    "priorities": PRIORITIES,
    "queues": None,
    "channels": CHANNELS,
}


class PolicyFileError(ConfigFileError):
    """A policy file that cannot be used; the message reads `FILE:LINE: where: key: what`."""


def default_policy_path() -> Path:
    """Return the SLA policy file shipped with the package.

    `stream/defaults/policies.toml` is a symlink to `deploy/sla/policies.toml` in a checkout
    (one file to edit) and a real file inside an installed wheel.
    """
    return Path(__file__).resolve().parent.parent / "defaults" / "policies.toml"


def load_policy_file(path: str | Path) -> PolicySet:
    """Read and check the policy file at `path` (UTF-8 TOML).

    Raises:
        PolicyFileError: The file is unreadable or not a valid policy file.
    """
    text = read_config_text(path, PolicyFileError, "policy file")
    return parse_policy_text(text, source=str(path))


def parse_policy_text(text: str, source: str = "<policies>") -> PolicySet:
    """Parse and check the text of a policy file; `source` names it in error messages.

    Every problem is an error rather than a warning: a mistyped key or an unreachable
    policy would otherwise silently measure tickets against the wrong targets.

    Raises:
        PolicyFileError: The first problem found, located by line and key.
    """
    doc = load_toml(text, source, PolicyFileError)
    return _Reader(source, TomlLines(text)).read(doc)


class _Reader(TomlChecker):
    """Turns the parsed document into a `PolicySet`, raising at the first problem."""

    error = PolicyFileError

    def read(self, doc: dict[str, Any]) -> PolicySet:
        self.check_keys((), doc, _TOP_KEYS)
        calendars = self.calendars(doc.get("calendars", {}))
        raw = doc.get("policy", [])
        if not isinstance(raw, list) or not all(isinstance(p, dict) for p in raw):
            self.fail(("policy",), "expected [[policy]] tables (an array of tables)")
        if not raw:
            self.fail((), "no policy: the file defines no [[policy]]")
        policies = [self.policy(i, p, calendars) for i, p in enumerate(raw)]
        self.check_order(policies)
        return PolicySet(policies)

    # -- calendars ---------------------------------------------------------------------

    def calendars(self, raw: Any) -> dict[str, Calendar]:
        calendars: dict[str, Calendar] = {ALWAYS_OPEN: AlwaysOpen(ALWAYS_OPEN)}
        if not isinstance(raw, dict):
            self.fail(("calendars",), "expected tables [calendars.NAME]")
        for name, spec in raw.items():
            path: KeyPath = ("calendars", name)
            where = f'calendar "{name}"'
            if name == ALWAYS_OPEN:
                self.fail(path, f'"{ALWAYS_OPEN}" is built in and cannot be redefined')
            self.typed(path, spec, dict, f"a table [calendars.{name}]", where)
            self.check_keys(path, spec, CALENDAR_KEYS, where)
            try:
                calendars[name] = build_calendar(name, spec)
            except CalendarSpecError as exc:
                self.fail((*path, *exc.key), exc.detail, where=where, depth=2)
        return calendars

    # -- policies ----------------------------------------------------------------------

    def policy(self, index: int, raw: dict[str, Any], calendars: dict[str, Calendar]) -> SlaPolicy:
        path: KeyPath = ("policy", index)
        name = raw.get("name")
        where = f'policy "{name}"' if isinstance(name, str) and name else f"policy #{index + 1}"
        self.check_keys(path, raw, _POLICY_KEYS, where)
        for required, hint in _REQUIRED.items():
            if required not in raw:
                self.fail((*path, required), f"missing (required): {hint}", where=where, depth=2)
        self.typed((*path, "name"), name, str, "a string", where)
        if not name:
            self.fail((*path, "name"), "must not be empty", where=where, depth=2)
        calendar_name = self.typed((*path, "calendar"), raw["calendar"], str, "a string", where)
        if calendar_name not in calendars:
            known = ", ".join(f'"{c}"' for c in calendars)
            self.fail((*path, "calendar"), f'unknown calendar "{calendar_name}"; defined: {known}',
                      where=where, depth=2)  # fmt: skip
        at_risk = DEFAULT_AT_RISK_WITHIN_S
        if "at_risk_within" in raw:
            at_risk = self.duration((*path, "at_risk_within"), raw["at_risk_within"], where)
        return SlaPolicy(
            name=name,
            calendar=calendars[calendar_name],
            targets=self.targets(path, raw["targets"], where),
            at_risk_within_s=at_risk,
            **self.match(path, raw.get("match", {}), where),
        )

    def targets(self, path: KeyPath, raw: Any, where: str) -> dict[str, float]:
        path = (*path, "targets")
        self.typed(path, raw, dict, "a table [policy.targets]", where)
        self.check_keys(path, raw, CLOCKS, where)
        if not raw:
            self.fail(path, f"no targets: set at least one of {', '.join(CLOCKS)}", where=where,
                      depth=2)  # fmt: skip
        targets = {}
        for clock, value in raw.items():
            targets[clock] = seconds = self.duration((*path, clock), value, where)
            if seconds <= 0:
                self.fail((*path, clock), "a target must be longer than 0", where=where, depth=2)
        return targets

    def match(self, path: KeyPath, raw: Any, where: str) -> dict[str, frozenset[str] | None]:
        path = (*path, "match")
        self.typed(path, raw, dict, "a table [policy.match]", where)
        self.check_keys(path, raw, tuple(_MATCH_VOCABULARY), where)
        out: dict[str, frozenset[str] | None] = dict.fromkeys(_MATCH_VOCABULARY)
        for key, vocabulary in _MATCH_VOCABULARY.items():
            if key not in raw:
                continue
            at = (*path, key)
            values = self.typed(at, raw[key], list, "an array of strings", where)
            if not values:
                self.fail(at, "an empty list matches nothing; omit the key to match any",
                          where=where, depth=2)  # fmt: skip
            for value in values:
                self.typed(at, value, str, "an array of strings", where)
                if vocabulary is not None and value not in vocabulary:
                    self.fail(at, f"unknown value {value!r}; known: {', '.join(vocabulary)}",
                              where=where, depth=2)  # fmt: skip
            out[key] = frozenset(values)
        return out

    def check_order(self, policies: list[SlaPolicy]) -> None:
        """Reject duplicate names, and any policy an earlier one leaves no ticket to."""
        first: dict[str, int] = {}
        for index, policy in enumerate(policies):
            where = f'policy "{policy.name}"'
            earlier = first.setdefault(policy.name, index)
            if earlier != index:
                line = self._lines.line_of(("policy", earlier))
                self.fail(("policy", index, "name"),
                          f"duplicate: policy #{earlier + 1} (line {line}) has this name too",
                          where=where, depth=2)  # fmt: skip
            for before, other in enumerate(policies[:index]):
                if other.covers(policy):
                    line = self._lines.line_of(("policy", before))
                    self.fail(("policy", index, "match"),
                              f'never applies: policy "{other.name}" (line {line}) comes first '
                              "and matches every ticket this one would; put the narrower "
                              "policy first", where=where, depth=2)  # fmt: skip
