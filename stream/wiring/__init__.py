"""Faust wiring: app factory, topics, tables, agents, timers and web views."""
