"""`supportpulse validate FILE`: check a JSON-lines file of events against the input contract."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Final, TextIO

from stream.adapters.codec import Rejected, decode

EXIT_ALL_VALID: Final = 0
EXIT_SOME_INVALID: Final = 1
EXIT_UNREADABLE: Final = 2


def validate_file(path: Path, out: TextIO, *, now_s: float | None = None) -> int:
    """Check every event of a JSON-lines file exactly as the worker would decode it.

    Uses the worker's own `decode`, so a file that passes here is accepted by the worker
    (including the size limit and the future-timestamp check against `now_s`). The file is
    streamed, so recordings larger than memory can be checked.

    Args:
        path: File with one JSON event per line; blank lines are ignored.
        out: Where to write one `FILE:LINENO: reason: detail` line per invalid event, then the
            summary `N events, V valid, I invalid`.
        now_s: Wall-clock time in epoch seconds for the future-timestamp check (default: now).

    Returns:
        0 when every event is valid, 1 when any is invalid, 2 when the file cannot be read.
    """
    clock_s = time.time() if now_s is None else now_s
    events = valid = 0
    try:
        with path.open("rb") as lines:
            for lineno, line in enumerate(lines, start=1):
                # The line ending is framing, not part of the event (nor of its size).
                raw = line.rstrip(b"\r\n")
                if not raw.strip():
                    continue
                events += 1
                result = decode(raw, now_s=clock_s)
                if isinstance(result, Rejected):
                    out.write(f"{path}:{lineno}: {result.reason}: {result.detail}\n")
                else:
                    valid += 1
    except OSError as exc:
        out.write(f"{path}: cannot read: {exc.strerror or exc}\n")
        return EXIT_UNREADABLE
    invalid = events - valid
    out.write(f"{events} events, {valid} valid, {invalid} invalid\n")
    return EXIT_SOME_INVALID if invalid else EXIT_ALL_VALID
