"""The staffing file (TOML): Erlang C targets and assumptions, per queue and by default."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Final

from stream.adapters.toml_checker import (
    ConfigFileError,
    TomlChecker,
    load_toml,
    read_config_text,
)
from stream.adapters.toml_lines import KeyPath, TomlLines
from stream.domain.staffing import QueueTarget, StaffingConfig

_TOP_KEYS: Final = ("defaults", "queues")
# key in the file -> (field of StaffingConfig, kind)
_DEFAULT_KEYS: Final = {
    "service_level": ("service_level", "share"),
    "realtime_answer": ("realtime_answer_s", "duration"),
    "deferred_answer": ("deferred_answer_s", "duration"),
    "max_occupancy": ("max_occupancy", "share"),
    "shrinkage": ("shrinkage", "share"),
    "fallback_aht": ("fallback_aht_s", "duration"),
    "min_interactions": ("min_interactions", "count"),
    "presence_timeout": ("presence_timeout_s", "duration"),
    "realtime_share": ("realtime_share", "share"),
}
_QUEUE_KEYS: Final = {
    "service_level": ("service_level", "share"),
    "answer": ("answer_s", "duration"),
    "kind": ("kind", "kind"),
    "fallback_aht": ("fallback_aht_s", "duration"),
    "max_occupancy": ("max_occupancy", "share"),
    "shrinkage": ("shrinkage", "share"),
}
_KINDS: Final = ("realtime", "deferred")
# Open or closed bounds of each share, and what the message says.
_SHARE_BOUNDS: Final = {
    "service_level": (0.0, 1.0, False, False, "between 0 and 1, e.g. 0.8 for 80%"),
    "max_occupancy": (0.0, 1.0, False, True, "above 0 and at most 1, e.g. 0.85"),
    "shrinkage": (0.0, 1.0, True, False, "from 0 up to (not including) 1, e.g. 0.3"),
    "realtime_share": (0.0, 1.0, False, True, "above 0 and at most 1, e.g. 0.5"),
}


class StaffingFileError(ConfigFileError):
    """A staffing file that cannot be used; the message reads `FILE:LINE: where: key: what`."""


def default_staffing_path() -> Path:
    """Return the staffing file shipped with the package.

    `stream/defaults/staffing.toml` is a symlink to `deploy/staffing/staffing.toml` in a
    checkout and a real file inside an installed wheel.
    """
    return Path(__file__).resolve().parent.parent / "defaults" / "staffing.toml"


def load_staffing_file(path: str | Path) -> StaffingConfig:
    """Read and check the staffing file at `path` (UTF-8 TOML).

    Raises:
        StaffingFileError: The file is unreadable or not a valid staffing file.
    """
    text = read_config_text(path, StaffingFileError, "staffing file")
    return parse_staffing_text(text, source=str(path))


def parse_staffing_text(text: str, source: str = "<staffing>") -> StaffingConfig:
    """Parse and check the text of a staffing file; `source` names it in error messages.

    Raises:
        StaffingFileError: The first problem found, located by line and key.
    """
    doc = load_toml(text, source, StaffingFileError)
    return _Reader(source, TomlLines(text)).read(doc)


class _Reader(TomlChecker):
    error = StaffingFileError

    def read(self, doc: dict[str, Any]) -> StaffingConfig:
        self.check_keys((), doc, _TOP_KEYS)
        defaults = doc.get("defaults", {})
        self.typed(("defaults",), defaults, dict, "a table [defaults]", "")
        values = self.section(("defaults",), defaults, _DEFAULT_KEYS, "[defaults]")
        queues_raw = doc.get("queues", {})
        self.typed(("queues",), queues_raw, dict, "tables [queues.NAME]", "")
        queues: dict[str, QueueTarget] = {}
        for name, raw in queues_raw.items():
            path: KeyPath = ("queues", name)
            where = f'queue "{name}"'
            self.typed(path, raw, dict, f'a table [queues."{name}"]', where)
            queues[name] = QueueTarget(**self.section(path, raw, _QUEUE_KEYS, where))
        return StaffingConfig(**values, queues=queues)

    def section(
        self, path: KeyPath, raw: dict[str, Any], keys: dict[str, tuple[str, str]], where: str
    ) -> dict[str, Any]:
        depth = len(path)
        if where:  # check_keys shows keys relative to a two-part section
            for key in raw:
                if key not in keys:
                    self.fail((*path, key), f"unknown key; allowed here: {', '.join(keys)}",
                              where=where, depth=depth)  # fmt: skip
        out: dict[str, Any] = {}
        for key, value in raw.items():
            name, kind = keys[key]
            out[name] = self.value((*path, key), key, value, kind, where, depth)
        return out

    def value(self, at: KeyPath, key: str, value: Any, kind: str, where: str, depth: int) -> Any:
        if kind == "duration":
            seconds = self.duration(at, value, where, depth)
            if seconds <= 0:
                self.fail(at, "must be longer than 0", where=where, depth=depth)
            return seconds
        if kind == "count":
            n = self.typed(at, value, int, "an integer", where, depth)
            if isinstance(n, bool) or n < 1:
                self.fail(at, "expected an integer of at least 1", where=where, depth=depth)
            return n
        if kind == "kind":
            text = self.typed(at, value, str, "a string", where, depth)
            if text not in _KINDS:
                self.fail(at, f"unknown kind {text!r}; known: {', '.join(_KINDS)}", where=where,
                          depth=depth)  # fmt: skip
            return text
        low, high, low_ok, high_ok, hint = _SHARE_BOUNDS[key]
        if isinstance(value, bool) or not isinstance(value, int | float):
            self.fail(at, f"expected a number {hint}", where=where, depth=depth)
        share = float(value)
        if not ((low <= share if low_ok else low < share) and
                (share <= high if high_ok else share < high)):  # fmt: skip
            self.fail(at, f"{share:g} is out of range: expected {hint}", where=where,
                      depth=depth)  # fmt: skip
        return share
