"""Compact duration strings ("30m", "8h", "1h30m") as people write SLA targets."""

from __future__ import annotations

import math
import re
from typing import Final

#: Seconds per unit. A day is 24 hours of *counted* time: on a business-hours calendar
#: "2d" is 48 business hours, not two working days.
UNIT_SECONDS: Final = {"w": 7 * 86400.0, "d": 86400.0, "h": 3600.0, "m": 60.0, "s": 1.0}

_PART: Final = r"(\d+(?:\.\d+)?)([smhdw])"
_WHOLE: Final = re.compile(f"(?:{_PART})+")
_PARTS: Final = re.compile(_PART)
_HINT: Final = "use a number and a unit s, m, h, d or w, e.g. 30m, 8h, 2d, 1h30m"


def parse_duration(text: str) -> float:
    """Return the seconds that `text` stands for.

    Units may be combined ("1d12h"), each at most once and largest first, so that a typo
    such as "30m1h" is caught rather than silently summed.

    Raises:
        ValueError: `text` is not such a duration; the message says what is accepted.
    """
    if not isinstance(text, str) or _WHOLE.fullmatch(text) is None:
        raise ValueError(f"bad duration {text!r}: {_HINT}")
    order = list(UNIT_SECONDS)
    last = -1
    total = 0.0
    for number, unit in _PARTS.findall(text):
        rank = order.index(unit)
        if rank <= last:
            raise ValueError(f"bad duration {text!r}: units go largest first, each once; {_HINT}")
        last = rank
        total += float(number) * UNIT_SECONDS[unit]
    return total


def format_duration(seconds: float) -> str:
    """Return the shortest string `parse_duration` reads back as `seconds` (to the millisecond).

    Used in error messages and logs, where "1h30m" reads better than 5400.

    Raises:
        ValueError: `seconds` is negative or not finite.
    """
    if not math.isfinite(seconds) or seconds < 0:
        raise ValueError(f"cannot format {seconds!r} as a duration: need a finite number >= 0")
    millis = round(seconds * 1000)
    whole, frac = divmod(millis, 1000)
    parts = []
    for unit, size in UNIT_SECONDS.items():
        count, whole = divmod(whole, int(size))
        if unit == "s" and (count or frac):
            number = f"{count}.{frac:03d}".rstrip("0").rstrip(".") if frac else str(count)
            parts.append(f"{number}s")
        elif count and unit != "s":
            parts.append(f"{count}{unit}")
    return "".join(parts) or "0s"
