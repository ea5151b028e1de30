"""Building blocks of the traffic profile: weighted mixes and log-normal durations."""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

#: Relative weights over names (they need not sum to 1; zero-weight entries are allowed).
Mix = tuple[tuple[str, float], ...]
#: Relative weights over survey scores.
ScoreMix = tuple[tuple[int, float], ...]


@dataclass(frozen=True, slots=True)
class LogNormal:
    """A positive, right-skewed duration given by its median and its spread in log space.

    Why log-normal: reply, handling and waiting times in support are positive, most are
    near a typical value and a few are many times longer; the log-normal is the usual fit
    for such times, and its median is what an operations lead can tell you off-hand.
    """

    median_s: float
    sigma: float
    max_s: float = math.inf

    def __post_init__(self) -> None:
        if not (self.median_s > 0 and self.sigma >= 0 and self.max_s > 0):
            raise ValueError(f"bad log-normal {self}: median and max must be > 0, sigma >= 0")

    @property
    def mean_s(self) -> float:
        """Mean of the uncapped distribution (larger than the median by exp(sigma^2 / 2))."""
        return self.median_s * math.exp(self.sigma**2 / 2)

    def sample(self, rng: random.Random) -> float:
        """Draw one duration in seconds, capped at `max_s`."""
        return min(self.max_s, self.median_s * math.exp(self.sigma * rng.gauss()))
