"""Contract checks shared by the source-mapping tests."""

from __future__ import annotations

from typing import Any

import orjson

from stream.adapters.codec import Decoded, decode


def assert_valid_events(events: list[dict[str, Any]], now_s: float) -> None:
    """Every event passes the worker's own validation, unchanged, at processing time ``now_s``."""
    for event in events:
        result = decode(orjson.dumps(event), now_s=now_s, max_bytes=65536, max_future_skew_s=300)
        assert isinstance(result, Decoded), (event, result)
