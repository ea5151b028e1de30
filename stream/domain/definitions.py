"""Metric definitions shared by the aggregates and the exporter: names, buckets, defaults."""

from __future__ import annotations

from typing import Final

# Histogram bucket upper bounds (seconds). They follow the targets support teams set:
# first replies are promised in minutes to a day, resolutions in hours to weeks, and one
# interaction's handle time runs from half a minute to an hour.
FIRST_REPLY_BUCKETS_S: Final = (
    60.0, 300.0, 900.0, 1800.0, 3600.0, 7200.0, 14400.0, 28800.0, 86400.0, 172800.0, 604800.0,
)  # fmt: skip
RESOLUTION_BUCKETS_S: Final = (
    300.0, 1800.0, 3600.0, 14400.0, 28800.0, 86400.0, 172800.0, 432000.0, 604800.0,
    1209600.0, 2592000.0,
)  # fmt: skip
HANDLE_BUCKETS_S: Final = (
    30.0, 60.0, 120.0, 180.0, 300.0, 480.0, 600.0, 900.0, 1200.0, 1800.0, 3600.0,
)  # fmt: skip

HISTOGRAM_BUCKETS: Final = {
    "first_reply": FIRST_REPLY_BUCKETS_S,
    "resolution": RESOLUTION_BUCKETS_S,
    "handle": HANDLE_BUCKETS_S,
}

# Windowed measures, by the suffix of their exported `support_window_*` gauge.
WINDOW_METRICS: Final = (
    "created_tickets",
    "solved_tickets",
    "reopened_tickets",
    "first_reply_seconds_sum",
    "first_reply_seconds_count",
    "resolution_seconds_sum",
    "resolution_seconds_count",
    "first_reply_business_seconds_sum",
    "resolution_business_seconds_sum",
    "fcr_tickets",
    "fcr_eligible_tickets",
    "csat_satisfied",
    "csat_responses",
    "csat_score_sum",
    "nps_promoters",
    "nps_detractors",
    "nps_responses",
    "severity_sum",
)
# Windowed SLA outcomes, labelled by the clock (`sla`) instead of a channel.
SLA_WINDOW_METRICS: Final = ("sla_breached", "sla_achieved")
# SLA outcome counters (`support_sla_<outcome>_total`), keyed like other counted facts.
SLA_COUNTERS: Final = ("sla_breached", "sla_achieved", "sla_cancelled")
# Horizons of the breach forecast `support_sla_due_tickets{within=...}`: the next quarter
# hour (act now), the next hour (plan the hour), the next four hours (plan the shift).
DUE_HORIZONS_S: Final = {"15m": 900.0, "1h": 3600.0, "4h": 14400.0}

# Windowed measures that are also labelled by channel.
CHANNEL_WINDOW_METRICS: Final = ("handle_seconds_sum", "interactions")

DEFAULT_BACKLOG_AGE_S: Final = 24 * 3600.0
DEFAULT_MAX_QUEUES: Final = 500
DEFAULT_ORPHAN_TIMEOUT_S: Final = 600.0
DEFAULT_MAX_FUTURE_SKEW_S: Final = 300.0
# A ticket's state is one changelog record, and a Kafka topic takes 1 MiB per record by
# default: about 170 bytes per kept event, and the raw bytes of each held one (escaped, up to
# twice that). Beyond these a ticket's further events are dead-lettered as too large, so a
# runaway producer cannot grow one record past what the broker accepts.
DEFAULT_MAX_TICKET_EVENTS: Final = 2000
DEFAULT_MAX_HELD_BYTES: Final = 256 * 1024
# Closed tickets are forgotten once their window contributions have expired (48 h) plus an
# hour of grace; solved ones once no reopen can change FCR any more (7 days) plus a day.
DEFAULT_CLOSED_RETENTION_S: Final = 49 * 3600.0
DEFAULT_SOLVED_RETENTION_S: Final = 8 * 86400.0
