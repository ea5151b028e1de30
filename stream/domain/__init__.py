"""Pure domain core: ticket facts, windows, aggregates. Stdlib only; time is always an argument."""
