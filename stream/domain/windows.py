"""Event-time bucketing: 5-minute tumbling buckets and the trailing windows built from them."""

from __future__ import annotations

from typing import Final

BUCKET_SECONDS: Final = 300
# Buckets are kept for 48 hours so the 24h window can always be summed, with a day to spare
# for late events that correct yesterday's numbers.
RETENTION_SECONDS: Final = 48 * 3600
# Trailing windows exported as the `window` label, in seconds.
WINDOWS_SECONDS: Final = {"1h": 3600, "24h": 86400}


def bucket_of(ts_s: float) -> int:
    """Start (epoch seconds) of the bucket that holds instant ``ts_s``."""
    return int(ts_s // BUCKET_SECONDS) * BUCKET_SECONDS


def trailing_range(now_s: float, window_s: int) -> tuple[int, int]:
    """First and last bucket start (inclusive) of the trailing window at ``now_s``.

    The window is the ``window_s / 300`` buckets ending with the bucket that contains
    ``now_s``, so the 1h window holds 12 buckets and the 24h window 288.
    """
    last = bucket_of(now_s)
    return last - window_s + BUCKET_SECONDS, last


def retention_floor(now_s: float) -> int:
    """Oldest bucket start still kept at ``now_s``; older buckets may be dropped."""
    return bucket_of(now_s) - RETENTION_SECONDS
