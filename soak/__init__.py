"""Long-running reliability runs: `make soak` (see README, "Reliability")."""
