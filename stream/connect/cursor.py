"""A connector's position in a source's export, kept in a small state file.

The file is replaced atomically (a temporary file, fsync, ``os.replace``), so a crash
leaves either the old position or the new one, never a torn file.
"""

from __future__ import annotations

import json
import os
from pathlib import Path


class CursorFile:
    """An export position (Zendesk's ``end_time``: epoch seconds) in a JSON file.

    Args:
        path: The state file, or None to keep the position in memory only.
        source: Written into the file, so that a reader knows what the number is.
    """

    def __init__(self, path: Path | None, source: str = "zendesk ticket_events") -> None:
        self.path = path
        self.source = source

    def load(self) -> int | None:
        """The saved position, or None when there is no state file yet.

        Raises:
            ValueError: The file exists but holds no integer ``end_time``.
        """
        if self.path is None or not self.path.exists():
            return None
        state = json.loads(self.path.read_text())
        cursor = state.get("end_time") if isinstance(state, dict) else None
        if not isinstance(cursor, int) or isinstance(cursor, bool):
            raise ValueError(f"state file {self.path}: no integer end_time in {state!r}")
        return cursor

    def save(self, end_time: int) -> None:
        """Write the position: a temporary file, fsync, then ``os.replace`` over the old one."""
        if self.path is None:
            return
        tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        with tmp.open("w") as f:
            json.dump({"source": self.source, "end_time": end_time}, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, self.path)
