"""Boundary adapters: schema validation, codecs, the Prometheus exporter (no Faust here)."""
