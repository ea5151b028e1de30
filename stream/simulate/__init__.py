"""Deterministic synthetic ticket traffic."""
