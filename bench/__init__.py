"""`make bench`: throughput, freshness, memory and scale-out of supportpulse, measured."""
