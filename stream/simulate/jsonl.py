"""JSON Lines output of event streams: one compact JSON object per line, UTF-8."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, BinaryIO

import orjson

# Lines are joined and written in batches: one `write` per event costs more than encoding
# it when `out` is unbuffered (a pipe or socket wrapper), and a batch of this size is small.
_BATCH = 1024


def write_jsonl(events: Iterable[dict[str, Any]], out: BinaryIO) -> int:
    """Write each event as one line of compact JSON; return how many were written.

    The whole stream is not held in memory, so arbitrarily long histories can be written.
    """
    dumps, option = orjson.dumps, orjson.OPT_APPEND_NEWLINE
    batch: list[bytes] = []
    count = 0
    for event in events:
        batch.append(dumps(event, option=option))
        if len(batch) == _BATCH:
            out.write(b"".join(batch))
            count += len(batch)
            batch.clear()
    if batch:
        out.write(b"".join(batch))
        count += len(batch)
    return count
