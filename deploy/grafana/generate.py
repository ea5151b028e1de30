"""Generate the supportpulse Grafana dashboards from code (grafana-foundation-sdk).

    python deploy/grafana/generate.py [--out DIR]      # or: make dashboards

writes ``support-wall.json`` (the office TV: every queue at once, no scrolling at 1920x1080
in kiosk mode) and ``support-detail.json`` (the drill-down: chosen queues, every measure)
into ``deploy/grafana/dashboards/`` (or DIR). The JSON files are committed and provisioned
as they are (``deploy/grafana/provisioning/``); this script is their source: edit it, run
it, commit both. tests/deploy/test_grafana_dashboards.py fails when the committed files
differ from what this script writes, and tests/e2e/test_grafana_panels.py runs every query
against a real Prometheus fed by a real worker.

Why code and not JSON edited in Grafana: the queries must follow the recording rules
(deploy/prometheus/rules/*.yml) and the colours the alert rules, and tests check both; a
4,000-line JSON cannot be reviewed, this file can.

Conventions (the tests assert them):

- every panel and query names the provisioned datasource by uid (``DATASOURCE_UID``);
- panels read the recording rules (``queue:...``, ``queue_window:...``, ``queue_sla...``);
  a raw metric query appears only where no rule exists, with a comment saying so;
- a queue-level stat panel aggregates ``by (queue)``: one tile per queue whatever else the
  series carry, so a new queue appears on the wall by itself, without a variable;
- colours mean what the alerts mean: ``RED`` where a `severity: page` alert fires, ``AMBER``
  where a `severity: ticket` one does, ``GREEN`` below; a measure no alert watches is shown
  in the neutral text colour, so a coloured tile always means an alert. Each threshold
  names the alert it mirrors in a comment and in the panel's description;
- the output is deterministic (sorted keys, ids in layout order, trailing newline).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from grafana_foundation_sdk.builders import bargauge, common, dashboard, prometheus, stat
from grafana_foundation_sdk.builders import timeseries as ts
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.models import common as cm
from grafana_foundation_sdk.models import dashboard as dm

HERE = Path(__file__).resolve().parent
DASHBOARDS_DIR = HERE / "dashboards"

#: The datasource of deploy/grafana/provisioning/datasources/supportpulse.yml.
DATASOURCE_UID = "supportpulse-prometheus"
DATASOURCE = dm.DataSourceRef(type_val="prometheus", uid=DATASOURCE_UID)
REFRESH = "30s"
WALL_UID, WALL_FILE = "supportpulse-wall", "support-wall.json"
DETAIL_UID, DETAIL_FILE = "supportpulse-detail", "support-detail.json"

#: Grafana's grid has 24 columns; a unit of height is 30 px, plus 8 px between units.
GRID_COLUMNS = 24
#: Rows of the wall: five rows of stat panels, then the trends. 5 * 4 + 7 = 27 units =
#: 27 * 30 + 26 * 8 = 1018 px, which leaves 62 px of a 1080 px screen for kiosk mode's page
#: padding; 28 units (1056 px) would not leave enough.
WALL_STAT_HEIGHT, WALL_TREND_HEIGHT = 4, 7

# Threshold colours, Grafana's named palette. See the module docstring.
GREEN, AMBER, RED, NEUTRAL = "green", "orange", "red", "text"
DASHED = {"dash": [10, 10], "fill": "dash"}

#: `queue:support_sla_next_breach_seconds:min` is +Inf when no clock of the queue runs;
#: a value above a year is shown as this text instead of "Infinity".
NO_CLOCK_RUNNING = "none due"
NO_CLOCK_TEXT = (
    dm.RangeMap(
        options=dm.DashboardRangeMapOptions(
            from_val=365 * 86400.0,
            to=None,  # no upper bound: +Inf included
            result=dm.ValueMappingResult(text=NO_CLOCK_RUNNING, color=GREEN, index=0),
        )
    ),
)
#: queue:support_staffing_overloaded:max is 0 or 1.
OVERLOADED_TEXT = (
    dm.ValueMap(
        options={
            "0": dm.ValueMappingResult(text="no", color=GREEN, index=0),
            "1": dm.ValueMappingResult(text="OVERLOADED", color=RED, index=1),
        }
    ),
)


@dataclass(frozen=True)
class Threshold:
    """One threshold step: from ``value`` up (None: the base colour), in ``color``."""

    value: float | None
    color: str


# Thresholds mirroring an alert of deploy/prometheus/rules/ (support-alerts.yml,
# support-staffing.yml): each value is the alert's threshold constant, and the colour its
# severity (Grafana colours from a step's value up, >=; tests/deploy checks the constants).
T = Threshold
#: SupportSLATicketsAtRisk: queue_sla:support_sla_at_risk_tickets:sum >= 1
#: (SLA_AT_RISK_MIN_TICKETS), severity ticket.
AT_RISK_STEPS = (T(None, GREEN), T(1, AMBER))
#: SupportSLABreached: increase(support_sla_breaches_total[10m]) > 0 (any breach), severity
#: page.
BREACH_STEPS = (T(None, GREEN), T(1, RED))
#: SupportSLATicketsAtRisk again, on the time left: a clock is at risk within its policy's
#: at_risk_within, 15m unless the policy sets another (deploy/sla/policies.toml).
NEXT_BREACH_STEPS = (T(None, AMBER), T(900, GREEN))
#: SupportOldestTicketTooOld: queue:support_oldest_unsolved_age_seconds:max > 259200
#: (OLDEST_UNSOLVED_MAX_AGE_S, 3 days), severity ticket.
OLDEST_STEPS = (T(None, GREEN), T(259200, AMBER))
#: SupportQueueUnderstaffed (support-staffing.yml): queue:support_staffing_gap_agents:max
#: > 0 (STAFFING_GAP_MAX) for 10m, severity ticket. Agents are whole: amber from 1.
GAP_STEPS = (T(None, GREEN), T(1, AMBER))
#: SupportQueueOverloaded (support-staffing.yml): queue:support_staffing_overloaded:max == 1
#: for 5m, severity page. The paging staffing alert is not a value of the gap (it compares
#: the offered load with the agents available), hence a tile of its own.
OVERLOADED_STEPS = (T(None, GREEN), T(1, RED))
#: The SLA objectives of support-sla.yml (sla:support_sla_attainment_objective:ratio) that
#: SupportSLAErrorBudgetBurnFast/Slow measure the error budget against: 90 % by default,
#: 95 % for first_reply (an override by series name, below).
OBJECTIVE_STEPS = (T(None, RED), T(0.90, GREEN))
FIRST_REPLY_OBJECTIVE = {
    "mode": "absolute",
    "steps": [{"color": RED, "value": None}, {"color": GREEN, "value": 0.95}],
}
#: SupportSLAErrorBudgetBurnFast: burn rate > 6 (SLA_BURN_FAST_6H) on the 6h window and
#: > 14.4 (SLA_BURN_FAST_1H) on the 1h window, severity page. Both lines page, but the panel
#: draws both windows against both: the line at 6 is amber because only the 6h series pages
#: there.
BURN_STEPS = (T(None, GREEN), T(6, AMBER), T(14.4, RED))
#: SupportWorkerDown: up{job="supportpulse"} == 0 for 2m, severity page.
UP_STEPS = (T(None, RED), T(1, GREEN))
#: SupportEventsUnaccounted: job:support_events_unaccounted:sum != 0 for 15m, severity
#: ticket: amber below and above 0.
UNACCOUNTED_STEPS = (T(None, AMBER), T(0, GREEN), T(1, AMBER))
#: SupportDeadLetterRate: dead-lettered / consumed over 10m > 0.01 (DEAD_LETTER_MAX_RATIO)
#: for 5m, severity ticket.
DEAD_LETTER_RATIO_STEPS = (T(None, GREEN), T(0.01, AMBER))
NEUTRAL_STEPS = (T(None, NEUTRAL),)


# --- A small declarative layer over the SDK -------------------------------------------------


@dataclass(frozen=True)
class Query:
    """One PromQL target: ``instant`` for stat and bar panels (one value per series)."""

    expr: str
    legend: str = "{{queue}}"
    instant: bool = False


@dataclass(frozen=True)
class Panel:
    """What a panel shows; ``layout`` gives it its place (x, y, w, h) on the grid."""

    kind: Literal["stat", "timeseries", "bargauge"]
    title: str
    queries: tuple[Query, ...]
    description: str = ""
    unit: str = "none"
    thresholds: tuple[Threshold, ...] = NEUTRAL_STEPS
    decimals: int | None = None
    min: float | None = None
    max: float | None = None
    mappings: tuple[dm.RangeMap | dm.ValueMap, ...] = ()
    #: Series whose display name matches the regex get these field properties.
    overrides: tuple[tuple[str, str, object], ...] = ()
    threshold_lines: bool = False
    link_to_detail: bool = False
    x: int = 0
    y: int = 0
    w: int = 0
    h: int = 0


def stat_panel(title: str, expr: str, description: str, legend: str = "{{queue}}",
               **kw: Any) -> Panel:  # fmt: skip
    """A stat panel: one tile per series of an instant query (per queue on the wall)."""
    return Panel("stat", title, (Query(expr, legend, instant=True),), description, **kw)


def bars(title: str, expr: str, legend: str, description: str, **kw: Any) -> Panel:
    """A horizontal bar gauge: one bar per series of an instant query."""
    return Panel("bargauge", title, (Query(expr, legend, instant=True),), description, **kw)


def trend(title: str, *queries: Query, description: str = "", **kw: Any) -> Panel:
    """A time series panel over the dashboard's time range."""
    return Panel("timeseries", title, queries, description, **kw)


def layout(rows: Sequence[tuple[int, Sequence[Panel]]], y: int = 0) -> list[Panel]:
    """Place each row's panels side by side in equal widths, ``h`` units high, from ``y``."""
    placed = []
    for h, panels in rows:
        w = GRID_COLUMNS // len(panels)
        placed += [dataclasses.replace(p, x=i * w, y=y, w=w, h=h) for i, p in enumerate(panels)]
        y += h
    return placed


def _target(query: Query, ref_id: str) -> prometheus.Dataquery:
    target = (
        prometheus.Dataquery()
        .expr(query.expr)
        .legend_format(query.legend)
        .ref_id(ref_id)
        .datasource(DATASOURCE)
    )
    return target.instant() if query.instant else target.range()


def _reduce_last() -> common.ReduceDataOptions:
    return common.ReduceDataOptions().calcs(["lastNotNull"]).values(False)


def build_panel(spec: Panel, panel_id: int) -> stat.Panel | ts.Panel | bargauge.Panel:
    """The SDK panel of ``spec``: datasource, targets (refIds A, B...), grid, field config."""
    coloured = any(step.color != NEUTRAL for step in spec.thresholds)
    builder: stat.Panel | ts.Panel | bargauge.Panel
    if spec.kind == "stat":
        builder = (
            stat.Panel()
            # A tile whose colour means an alert fills its background; a neutral one only
            # colours its number (in the text colour), so it never reads as "all is green".
            .color_mode(cm.BigValueColorMode.BACKGROUND if coloured else cm.BigValueColorMode.VALUE)
            .graph_mode(cm.BigValueGraphMode.NONE)
            .text_mode(cm.BigValueTextMode.VALUE_AND_NAME)
            .justify_mode(cm.BigValueJustifyMode.CENTER)
            .orientation(cm.VizOrientation.AUTO)
            .reduce_options(_reduce_last())
        )  # fmt: skip
    elif spec.kind == "bargauge":
        builder = (
            bargauge.Panel()
            .display_mode(cm.BarGaugeDisplayMode.BASIC)
            .orientation(cm.VizOrientation.HORIZONTAL)
            .value_mode(cm.BarGaugeValueMode.COLOR)
            .reduce_options(_reduce_last())
        )
    else:
        mode = cm.GraphThresholdsStyleMode.DASHED if spec.threshold_lines else "off"
        builder = (
            ts.Panel()
            .line_width(2)
            .fill_opacity(0)
            .legend(common.VizLegendOptions().display_mode(cm.LegendDisplayMode.LIST)
                    .placement(cm.LegendPlacement.BOTTOM).show_legend(True))
            .tooltip(common.VizTooltipOptions().mode(cm.TooltipDisplayMode.MULTI)
                     .sort(cm.SortOrder.DESCENDING))
            .thresholds_style(common.GraphThresholdsStyleConfig()
                              .mode(cm.GraphThresholdsStyleMode(mode)))
        )  # fmt: skip
    colour = dm.FieldColorModeId.PALETTE_CLASSIC if spec.kind == "timeseries" else "thresholds"
    builder = (
        builder.id(panel_id)
        .title(spec.title)
        .datasource(DATASOURCE)
        .grid_pos(dm.GridPos(h=spec.h, w=spec.w, x=spec.x, y=spec.y))
        .unit(spec.unit)
        .thresholds(dashboard.ThresholdsConfig().mode(dm.ThresholdsMode.ABSOLUTE)
                    .steps([dm.Threshold(value=t.value, color=t.color) for t in spec.thresholds]))
        .color_scheme(dashboard.FieldColor().mode(dm.FieldColorModeId(colour)))
        .targets([_target(q, chr(ord("A") + i)) for i, q in enumerate(spec.queries)])
    )  # fmt: skip
    if spec.description:
        builder = builder.description(spec.description)
    if spec.decimals is not None:
        builder = builder.decimals(spec.decimals)
    if spec.min is not None:
        builder = builder.min(spec.min)
    if spec.max is not None:
        builder = builder.max(spec.max)
    if spec.mappings:
        builder = builder.mappings(list(spec.mappings))
    for regex, prop, value in spec.overrides:
        builder = builder.override_by_regexp(regex, [dm.DynamicConfigValue(prop, value)])
    if spec.link_to_detail:
        url = (f"/d/{DETAIL_UID}/support-detail"
               "?var-queue=${__field.labels.queue}&${__url_time_range}")  # fmt: skip
        link = dashboard.DashboardLink("Queue ${__field.labels.queue} in detail").url(url)
        builder = builder.data_links([link])
    return builder


def _annotations() -> dict[str, Any]:
    """Grafana's built-in annotations, and the firing supportpulse alerts from Prometheus.

    Written as plain JSON: the SDK's AnnotationQuery has `expr` but not the Prometheus
    annotation fields (`step`, `titleFormat`, `textFormat`, `tagKeys`, `useValueForTime`).
    """
    builtin = {
        "builtIn": 1,
        "datasource": {"type": "grafana", "uid": "-- Grafana --"},
        "enable": True,
        "hide": True,
        "iconColor": "rgba(0, 211, 255, 1)",
        "name": "Annotations & Alerts",
        "type": "dashboard",
    }
    alerts = {
        "datasource": {"type": "prometheus", "uid": DATASOURCE_UID},
        "enable": True,
        "expr": 'ALERTS{alertstate="firing", alertname=~"Support.*"}',
        "iconColor": RED,
        "name": "Firing supportpulse alerts",
        "step": "60s",
        "tagKeys": "severity,queue,sla",
        "textFormat": "{{queue}} {{sla}} {{instance}}",
        "titleFormat": "{{alertname}}",
        "useValueForTime": False,
    }
    return {"list": [builtin, alerts]}


Variable = dashboard.QueryVariable | dashboard.CustomVariable


def assemble(title: str, uid: str, sections: Sequence[Panel | str], *, time_from: str,
             description: str, link: tuple[str, str],
             variables: Sequence[Variable] = ()) -> str:  # fmt: skip
    """The rendered dashboard: sorted keys, 2-space indent, final newline.

    A ``str`` in ``sections`` is a row header, placed one unit above the next panel; panel
    ids follow the order of ``sections``, so they stay stable when nothing moves.
    """
    board = (
        dashboard.Dashboard(title)
        .uid(uid)
        .description(description)
        .tags(["supportpulse", "generated"])
        .refresh(REFRESH)
        .time(time_from, "now")
        .timezone("browser")
        .tooltip(dm.DashboardCursorSync.CROSSHAIR)
        .readonly()
        .link(dashboard.DashboardLink(link[0]).type(dm.DashboardLinkType.LINK).url(link[1])
              .keep_time(True))
    )  # fmt: skip
    for variable in variables:
        board = board.with_variable(variable)
    built = board.build()
    panels: list[dm.Panel | dm.RowPanel] = []
    for i, spec in enumerate(sections, start=1):
        if isinstance(spec, Panel):
            panels.append(build_panel(spec, i).build())
        else:
            below = next(s for s in sections[i:] if isinstance(s, Panel))
            grid = dm.GridPos(h=1, w=GRID_COLUMNS, x=0, y=below.y - 1)
            panels.append(dm.RowPanel(title=spec, id_val=i, datasource=DATASOURCE, grid_pos=grid))
    # Set directly rather than through `with_panel`, whose automatic placement rewrites the
    # position of any panel at x=0, y=0, as if it had none.
    built.panels = panels
    data = json.loads(JSONEncoder().encode(built))
    data["annotations"] = _annotations()
    data["templating"] = {"list": data.get("templating", {}).get("list", [])}
    return json.dumps(data, sort_keys=True, indent=2, ensure_ascii=False) + "\n"


# --- The wall -----------------------------------------------------------------------------


def wall_panels() -> list[Panel]:
    """Five rows of stat panels (three per row, four for staffing), then the trends.

    A stat panel shows one tile per queue: at 1920 px a panel 8 columns wide is about
    620 x 144 px, so with the simulator's 5 queues a tile is about 120 x 95 px (90 px wide in
    the staffing row), and Grafana sizes the value to fill it (40-50 px high: legible from
    3 m; past about 8 queues, widen the panels or split the queues over two walls).

    The `sum by` / `max by` / `min by` change no value (each recorded series is
    already one per queue, or per queue and window); they pin the result to exactly the
    `queue` label, so a panel has one tile per queue and nothing else.
    """

    def tile(title: str, expr: str, description: str, **kw: Any) -> Panel:
        return stat_panel(title, expr, description, link_to_detail=True, **kw)

    seconds: dict[str, Any] = {"unit": "s"}
    count: dict[str, Any] = {"decimals": 0}
    ratio: dict[str, Any] = {"unit": "percentunit", "decimals": 0}
    workload = [
        tile("Unsolved tickets", "sum by (queue) (queue:support_tickets_unsolved:sum)",
             "Tickets in an unsolved status (new, open, pending, on hold). No alert watches "
             "this number: neutral colour.", **count),
        tile("Backlog (past resolution target)",
             "sum by (queue) (queue:support_backlog_tickets:sum)",
             "Unsolved tickets older than their policy's resolution target. "
             "SupportBacklogGrowing alerts on its growth (trend below), not on its level: "
             "neutral colour.", **count),
        tile("Tickets at SLA risk", "sum by (queue) (queue_sla:support_sla_at_risk_tickets:sum)",
             "Clocks within their policy's at_risk_within of breaching (a ticket at risk on "
             "two clocks counts twice). Amber from 1: SupportSLATicketsAtRisk.",
             thresholds=AT_RISK_STEPS, **count),
    ]  # fmt: skip
    sla = [
        tile("SLA breaches 24h",
             'sum by (queue) (queue_sla_window:support_sla_breached:sum{window="24h"})',
             "SLA clock cycles that breached in the trailing 24 hours, every clock. Red from "
             "1: each breach fires SupportSLABreached (severity page).",
             thresholds=BREACH_STEPS, **count),
        tile("Next SLA breach in", "min by (queue) (queue:support_sla_next_breach_seconds:min)",
             "Time to the queue's earliest running SLA deadline, any clock. Amber under 15 "
             f"minutes, the default at_risk_within (SupportSLATicketsAtRisk); '{NO_CLOCK_RUNNING}'"
             " when no clock runs.",
             thresholds=NEXT_BREACH_STEPS, mappings=NO_CLOCK_TEXT, **seconds),
        tile("Oldest unsolved ticket",
             "max by (queue) (queue:support_oldest_unsolved_age_seconds:max)",
             "Age of the queue's oldest unsolved ticket. Amber from 3 days: "
             "SupportOldestTicketTooOld.", thresholds=OLDEST_STEPS, **seconds),
    ]  # fmt: skip
    speed = [
        tile("First reply, avg 1h",
             'max by (queue) (queue_window:support_first_reply_seconds:avg{window="1h"})',
             "Average time to the first public agent reply, over the first replies of the "
             "last hour. The SLA clocks judge each ticket (at risk, breaches): neutral "
             "colour here.", **seconds),
        # Raw query: no recording rule computes quantiles. The histogram is per queue and
        # priority; summed by (queue, le) before histogram_quantile. `>= 0` drops the NaN of
        # a queue without first replies in the hour, as the recording rules give no sample.
        tile("First reply, p90 1h",
             "histogram_quantile(0.9, sum by (queue, le) "
             "(rate(support_first_reply_seconds_bucket[1h]))) >= 0",
             "90th percentile of the first reply times recorded in the last hour (histogram "
             "support_first_reply_seconds). No alert: neutral colour.", **seconds),
        tile("Handle time, avg 1h",
             'max by (queue) (queue_window:support_handle_seconds:avg{window="1h"})',
             "Average handle time (talk + hold + wrap) per interaction in the last hour, "
             "every channel. No alert: neutral colour.", **seconds),
    ]  # fmt: skip
    quality = [
        tile("First-contact resolution 24h",
             'max by (queue) (queue_window:support_fcr:ratio{window="24h"})',
             "Share of the tickets solved in 24 h with one agent touch and no reopen. No "
             "alert: neutral colour.", **ratio),
        tile("CSAT 24h", 'max by (queue) (queue_window:support_csat:ratio{window="24h"})',
             "Share of the satisfaction ratings of 24 h that scored 4 or 5. No alert: "
             "neutral colour.", **ratio),
        tile("NPS 24h", 'max by (queue) (queue_window:support_nps:score{window="24h"})',
             "Promoters minus detractors, in % of the NPS responses of 24 h (-100..100). No "
             "alert: neutral colour.", **count),
    ]  # fmt: skip
    staffing = [
        tile("Agents required", "max by (queue) (queue:support_staffing_required_agents:max)",
             "Agents needed now to meet the queue's answer target (Erlang C on the last "
             "hour's arrivals and handle time). No alert: neutral colour.", **count),
        tile("Agents available", "max by (queue) (queue:support_staffing_available_agents:max)",
             "Agents online for the queue now (agent presence). No alert: neutral colour.",
             **count),
        tile("Agent gap", "max by (queue) (queue:support_staffing_gap_agents:max)",
             "Agents required minus available: above 0 the queue is short. Amber from 1: "
             "SupportQueueUnderstaffed.", thresholds=GAP_STEPS, **count),
        tile("Overloaded", "max by (queue) (queue:support_staffing_overloaded:max)",
             "Work arrives faster than the available agents can handle it (offered load >= "
             "agents available). Red: SupportQueueOverloaded (severity page).",
             thresholds=OVERLOADED_STEPS, mappings=OVERLOADED_TEXT),
    ]  # fmt: skip
    trends = [
        trend("Created vs solved per hour",
              Query("sum by (queue) (queue:support_tickets_created:increase1h)",
                    "{{queue}} created"),
              Query("sum by (queue) (queue:support_tickets_solved:increase1h)",
                    "{{queue}} solved"),
              description="Tickets created (solid) and solved (dashed) in the trailing hour, "
              "per queue: a queue whose created line runs above its solved line is growing.",
              overrides=((" solved$", "custom.lineStyle", DASHED),), min=0.0),
        trend("Backlog trend", Query("sum by (queue) (queue:support_backlog_tickets:sum)"),
              description="Backlog per queue. SupportBacklogGrowing fires when it grew by "
              "more than 10 in an hour and is still growing.", min=0.0),
    ]  # fmt: skip
    stats = [workload, sla, speed, quality, staffing]
    return layout([*((WALL_STAT_HEIGHT, row) for row in stats), (WALL_TREND_HEIGHT, trends)])


def wall() -> str:
    """The rendered wall dashboard."""
    return assemble(
        "Support wall", WALL_UID, wall_panels(), time_from="now-6h",
        description="Every support queue at once, for an office TV in kiosk mode (1920x1080, "
        "no scrolling). Generated by deploy/grafana/generate.py: edit that, not this.",
        link=("Queue detail", f"/d/{DETAIL_UID}/support-detail"),
    )  # fmt: skip


# --- The drill-down -----------------------------------------------------------------------

Q = 'queue=~"$queue"'
QW = 'queue=~"$queue", window="$window"'
BY_CLOCK = "{{queue}} · {{sla}}"


def detail_sections() -> list[Panel | str]:
    """Rows of the drill-down, for the queues of $queue and the window $window."""
    ratio: dict[str, Any] = {"unit": "percentunit", "min": 0.0}
    seconds: dict[str, Any] = {"unit": "s", "min": 0.0}
    now = [
        stat_panel("Unsolved", f"sum by (queue) (queue:support_tickets_unsolved:sum{{{Q}}})",
                   "Tickets in an unsolved status.", decimals=0),
        stat_panel("Unassigned", f"sum by (queue) (queue:support_tickets_unassigned:sum{{{Q}}})",
                   "Unsolved tickets nobody owns.", decimals=0),
        stat_panel("Backlog", f"sum by (queue) (queue:support_backlog_tickets:sum{{{Q}}})",
                   "Unsolved tickets past their policy's resolution target.", decimals=0),
        stat_panel("Oldest unsolved",
                   f"max by (queue) (queue:support_oldest_unsolved_age_seconds:max{{{Q}}})",
                   "Amber from 3 days: SupportOldestTicketTooOld.", unit="s",
                   thresholds=OLDEST_STEPS),
        stat_panel("Next SLA breach in",
                   f"min by (queue) (queue:support_sla_next_breach_seconds:min{{{Q}}})",
                   "Amber under 15 minutes: SupportSLATicketsAtRisk.", unit="s",
                   thresholds=NEXT_BREACH_STEPS, mappings=NO_CLOCK_TEXT),
        stat_panel("Severity avg ($window)",
                   f"max by (queue) (queue_window:support_severity:avg{{{QW}}})",
                   "Average severity of the tickets created in the window, low = 1 .. "
                   "urgent = 4.", decimals=2),
    ]  # fmt: skip
    sla_now = [
        bars("SLA attainment ($window)",
             f"sum by (queue, sla) (queue_sla_window:support_sla_attainment:ratio{{{QW}}})",
             BY_CLOCK, "Achieved / (achieved + breached) of the clock cycles that ended in the "
             "window; green from the objective of support-sla.yml (first reply 95 %, next "
             "reply and resolution 90 %).", unit="percentunit", min=0.0, max=1.0, decimals=1,
             thresholds=OBJECTIVE_STEPS,
             overrides=(("first_reply$", "thresholds", FIRST_REPLY_OBJECTIVE),)),
        bars("Tickets in breach now",
             f"sum by (queue, sla) (queue_sla:support_sla_breached_tickets:sum{{{Q}}})",
             BY_CLOCK, "Unsolved tickets in breach on the clock (do not add the clocks up). "
             "Red from 1: SupportSLABreached.", thresholds=BREACH_STEPS, decimals=0),
        bars("At risk now",
             f"sum by (queue, sla) (queue_sla:support_sla_at_risk_tickets:sum{{{Q}}})",
             BY_CLOCK, "Amber from 1: SupportSLATicketsAtRisk.", thresholds=AT_RISK_STEPS,
             decimals=0),
        bars("SLA breaches ($window)",
             f"sum by (queue, sla) (queue_sla_window:support_sla_breached:sum{{{QW}}})",
             BY_CLOCK, "Breaches whose instant is in the window. Red from 1: "
             "SupportSLABreached.", thresholds=BREACH_STEPS, decimals=0),
    ]  # fmt: skip
    burn = "/ on (queue, sla) (1 - queue_sla:support_sla_attainment_objective:ratio)"
    sla_trends = [
        trend("Error budget burn rate",
              Query(f"queue_sla:support_sla_errors:ratio_rate1h{{{Q}}} {burn}", f"{BY_CLOCK} 1h"),
              Query(f"queue_sla:support_sla_errors:ratio_rate6h{{{Q}}} {burn}", f"{BY_CLOCK} 6h"),
              description="Error ratio / error budget. Dashed lines at 6 (6h window) and 14.4 "
              "(1h window): SupportSLAErrorBudgetBurnFast.", thresholds=BURN_STEPS,
              threshold_lines=True, min=0.0),
        trend("Clocks due within 15m / 1h / 4h",
              Query(f"sum by (queue, within) (queue_sla_within:support_sla_due_tickets:sum{{{Q}}})",
                    "{{queue}} ≤ {{within}}"),
              description="Running SLA clocks that breach within 15 minutes, 1 hour, 4 hours "
              "(cumulative) if nobody acts.", min=0.0),
    ]  # fmt: skip
    speed = [
        trend("First reply time avg",
              Query(f"queue_window:support_first_reply_seconds:avg{{{QW}}}"),
              Query(f"queue_window:support_first_reply_business_seconds:avg{{{QW}}}",
                    "{{queue}} business"),
              description="Wall time (solid) and business time on the policy's calendar "
              "(dashed).", overrides=((" business$", "custom.lineStyle", DASHED),), **seconds),
        trend("Time to resolution avg",
              Query(f"queue_window:support_resolution_seconds:avg{{{QW}}}"),
              Query(f"queue_window:support_resolution_business_seconds:avg{{{QW}}}",
                    "{{queue}} business"),
              description="Wall time (solid) and business time on the policy's calendar "
              "(dashed).", overrides=((" business$", "custom.lineStyle", DASHED),), **seconds),
        # Raw queries: no recording rule computes quantiles of the histogram.
        trend("First reply time p50 / p90 (1h)",
              Query("histogram_quantile(0.5, sum by (queue, le) "
                    f"(rate(support_first_reply_seconds_bucket{{{Q}}}[1h])))", "{{queue}} p50"),
              Query("histogram_quantile(0.9, sum by (queue, le) "
                    f"(rate(support_first_reply_seconds_bucket{{{Q}}}[1h])))", "{{queue}} p90"),
              overrides=((" p50$", "custom.lineStyle", DASHED),), **seconds),
    ]  # fmt: skip
    handling = [
        trend("Handle time avg by channel",
              Query(f"queue_channel_window:support_handle_seconds:avg{{{QW}}}",
                    "{{queue}} · {{channel}}"), **seconds),
        trend("Created vs solved per hour",
              Query(f"sum by (queue) (queue:support_tickets_created:increase1h{{{Q}}})",
                    "{{queue}} created"),
              Query(f"sum by (queue) (queue:support_tickets_solved:increase1h{{{Q}}})",
                    "{{queue}} solved"),
              overrides=((" solved$", "custom.lineStyle", DASHED),), min=0.0),
    ]  # fmt: skip
    quality = [
        trend("First-contact resolution", Query(f"queue_window:support_fcr:ratio{{{QW}}}"),
              **ratio),
        trend("CSAT (share of 4 and 5)", Query(f"queue_window:support_csat:ratio{{{QW}}}"),
              **ratio),
        trend("CSAT score avg (1..5)", Query(f"queue_window:support_csat_score:avg{{{QW}}}"),
              min=1.0, max=5.0),
    ]  # fmt: skip
    quality_2 = [
        trend("NPS", Query(f"queue_window:support_nps:score{{{QW}}}"), min=-100.0, max=100.0),
        trend("Reopen rate", Query(f"queue_window:support_reopen:ratio{{{QW}}}"), **ratio),
        trend("Backlog trend", Query(f"sum by (queue) (queue:support_backlog_tickets:sum{{{Q}}})"),
              min=0.0),
    ]  # fmt: skip
    staffing = [
        trend("Agents required / available / scheduled",
              Query(f"max by (queue) (queue:support_staffing_required_agents:max{{{Q}}})",
                    "{{queue}} required"),
              Query(f"max by (queue) (queue:support_staffing_available_agents:max{{{Q}}})",
                    "{{queue}} available"),
              Query(f"max by (queue) (queue:support_staffing_scheduled_agents:max{{{Q}}})",
                    "{{queue}} scheduled"), min=0.0),
        trend("Agent gap", Query(f"max by (queue) (queue:support_staffing_gap_agents:max{{{Q}}})"),
              description="Required minus available. Dashed line at 1: SupportQueueUnderstaffed "
              "(gap > 0 for 10m).", thresholds=GAP_STEPS, threshold_lines=True),
        trend("Offered load (Erlangs)",
              Query(f"max by (queue) (queue:support_staffing_offered_load_erlangs:max{{{Q}}})"),
              description="Arrivals x handle time: the agents the work would keep busy all "
              "the time, before the answer target and occupancy.", min=0.0),
        trend("Expected service level",
              Query(f"min by (queue) (queue:support_staffing_service_level_expected:min{{{Q}}})"),
              description="Share of contacts expected to be answered within the answer target "
              "with the agents available (Erlang C).", unit="percentunit", min=0.0, max=1.0),
    ]  # fmt: skip
    # The pipeline is per worker and job, not per queue: most of it has no recording rule
    # (only job:support_events_unaccounted:sum), so these are raw queries.
    pipeline = [
        stat_panel("Workers up", 'up{job="supportpulse"}',
                   "Red at 0: SupportWorkerDown.", "{{instance}}", thresholds=UP_STEPS,
                   decimals=0),
        stat_panel("Events unaccounted for", "sum by (job) (job:support_events_unaccounted:sum)",
                   "Consumed - applied - duplicate - dead-lettered - held. Amber when not 0: "
                   "SupportEventsUnaccounted.", "{{job}}", thresholds=UNACCOUNTED_STEPS,
                   decimals=0),
        stat_panel("Events held", "sum by (instance) (support_events_held)",
                   "Events waiting for their ticket.created.", "{{instance}}", decimals=0),
        stat_panel("Dead letters in range",
                   "sum by (reason) (increase(support_events_dead_lettered_total[$__range]))",
                   "Messages dead-lettered in the dashboard's time range, by reason.",
                   "{{reason}}", decimals=0),
    ]  # fmt: skip
    pipeline_trends = [
        trend("Events consumed per second",
              Query("sum by (instance) (rate(support_events_consumed_total[$__rate_interval]))",
                    "{{instance}}"), unit="ops", min=0.0),
        # The expression of SupportDeadLetterRate without its comparison.
        trend("Dead-letter ratio (10m)",
              Query("sum by (job) (increase(support_events_dead_lettered_total[10m])) / "
                    "(sum by (job) (increase(support_events_consumed_total[10m])) > 0)",
                    "{{job}}"),
              description="Dashed line at 1 %: SupportDeadLetterRate.",
              thresholds=DEAD_LETTER_RATIO_STEPS, threshold_lines=True, **ratio),
        trend("Dead letters per minute by reason",
              Query("60 * sum by (reason) "
                    "(rate(support_events_dead_lettered_total[$__rate_interval]))", "{{reason}}"),
              unit="cpm", min=0.0),
    ]  # fmt: skip
    pipeline_state = [
        trend("Age of the last event",
              Query("time() - max by (instance) (support_last_event_timestamp_seconds)",
                    "{{instance}}"),
              description="Now minus the event time of the last event each worker applied.",
              unit="s"),
        trend("Partitions owned",
              Query("sum by (instance) (support_owned_partitions)", "{{instance}}"), min=0.0),
        trend("Tickets tracked",
              Query("sum by (instance) (support_tickets_tracked)", "{{instance}}"), min=0.0),
    ]  # fmt: skip
    sections: list[tuple[str, list[tuple[int, Sequence[Panel]]]]] = [
        ("Queue now", [(4, now)]),
        ("SLA per clock", [(8, sla_now), (7, sla_trends)]),
        ("Speed ($window)", [(7, speed), (7, handling)]),
        ("Quality ($window)", [(7, quality), (7, quality_2)]),
        ("Staffing (Erlang C, last hour)", [(7, staffing)]),
        ("Pipeline (all queues)", [(4, pipeline), (7, pipeline_trends), (7, pipeline_state)]),
    ]
    out: list[Panel | str] = []
    y = 0
    for title, rows in sections:
        placed = layout(rows, y + 1)
        out += [title, *placed]
        y = max(p.y + p.h for p in placed)
    return out


def detail() -> str:
    """The rendered drill-down dashboard."""
    queue = (
        dashboard.QueryVariable("queue")
        .label("Queue")
        .datasource(DATASOURCE)
        .query("label_values(queue:support_tickets_unsolved:sum, queue)")
        .refresh(dm.VariableRefresh.ON_DASHBOARD_LOAD)
        .sort(dm.VariableSort.ALPHABETICAL_ASC)
        .multi(True)
        .include_all(True)
        .all_value(".+")
        .current(dm.VariableOption(selected=True, text="All", value="$__all"))
    )
    window = (
        dashboard.CustomVariable("window")
        .label("Window")
        .values("1h,24h")
        .current(dm.VariableOption(selected=True, text="24h", value="24h"))
        .options([dm.VariableOption(selected=v == "24h", text=v, value=v) for v in ("1h", "24h")])
    )
    return assemble(
        "Support detail", DETAIL_UID, detail_sections(), time_from="now-24h",
        description="Chosen queues in detail: SLA per clock, speed, quality, staffing and the "
        "pipeline. Generated by deploy/grafana/generate.py: edit that, not this.",
        link=("Support wall", f"/d/{WALL_UID}/support-wall"), variables=[queue, window],
    )  # fmt: skip


def dashboards() -> dict[str, str]:
    """File name -> rendered JSON, for every dashboard."""
    return {WALL_FILE: wall(), DETAIL_FILE: detail()}


def write(out: Path) -> list[Path]:
    """Write every dashboard into ``out`` (created if missing); returns the paths."""
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, text in dashboards().items():
        path = out / name
        path.write_text(text, encoding="utf-8")
        paths.append(path)
    return paths


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: write the dashboards and print their paths."""
    parser = argparse.ArgumentParser(description="Generate the supportpulse dashboards.")
    parser.add_argument("--out", type=Path, default=DASHBOARDS_DIR,
                        help="directory to write to (default: the committed one)")  # fmt: skip
    for path in write(parser.parse_args(argv).out):
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
