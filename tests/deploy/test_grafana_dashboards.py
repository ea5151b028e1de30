"""The generated Grafana dashboards: current, wired, on the rules, coloured like the alerts.

Current: byte-identical to what deploy/grafana/generate.py writes. Wired: every panel names
the provisioned datasource, and the provisioning files point at the right uid and folder.
On the rules: every recorded series a panel reads has a `record:` in deploy/prometheus/rules,
and the thresholds are the alert rules' constants. And the wall fits a 1080 px TV in kiosk
mode without scrolling. These checks read the committed JSON (what Grafana loads), so a hand
edit or a stale file fails here; whether every query has data is the job of
tests/e2e/test_grafana_panels.py.
"""

from __future__ import annotations

import importlib.util
import json
import re
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from tests.deploy import rulefile

ROOT = Path(__file__).resolve().parents[2]
GRAFANA_DIR = ROOT / "deploy" / "grafana"
DASHBOARDS_DIR = GRAFANA_DIR / "dashboards"
PROVISIONING_DIR = GRAFANA_DIR / "provisioning"
RULES_DIR = ROOT / "deploy" / "prometheus" / "rules"
WALL, DETAIL = "support-wall.json", "support-detail.json"

# Grafana's dashboard grid: a unit of height is 30 px, with 8 px between two units; kiosk
# mode keeps some page padding above and below the grid (allowance: 2 x 16 px).
GRID_ROW_PX, GRID_MARGIN_PX, KIOSK_PADDING_PX, SCREEN_PX = 30, 8, 32, 1080
# level:metric:operations, e.g. queue_window:support_first_reply_seconds:avg
RULE_NAME = re.compile(r"\b[a-z][a-z_]*:[a-z][a-z0-9_]*:[a-z0-9_]+\b")
RECORD = re.compile(r"^\s*- record:\s*(\S+)\s*$", re.MULTILINE)


def load_generator() -> ModuleType:
    """deploy/grafana/generate.py, imported by path (deploy/ is not a package)."""
    spec = importlib.util.spec_from_file_location("supportpulse_grafana_generate",
                                                  GRAFANA_DIR / "generate.py")  # fmt: skip
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while it executes
    spec.loader.exec_module(module)
    return module


def board(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((DASHBOARDS_DIR / name).read_text())
    return data


def panels(name: str) -> list[dict[str, Any]]:
    """Every panel, rows' nested panels included (a collapsed row holds its own)."""
    out = []
    for panel in board(name)["panels"]:
        out += [panel, *panel.get("panels", [])]
    return out


def queries(name: str) -> list[tuple[str, str]]:
    """(where, expr) of every query: panel targets, annotations, query variables."""
    data = board(name)
    found = [(f"panel {p['title']!r}", t["expr"]) for p in panels(name)
             for t in p.get("targets", [])]  # fmt: skip
    found += [(f"annotation {a['name']!r}", a["expr"]) for a in data["annotations"]["list"]
              if "expr" in a]  # fmt: skip
    found += [(f"variable {v['name']!r}", v["query"]) for v in data["templating"]["list"]
              if v["type"] == "query"]  # fmt: skip
    return found


def by_title(name: str, title: str) -> dict[str, Any]:
    (panel,) = [p for p in panels(name) if p["title"] == title]
    return panel


def steps(panel: dict[str, Any]) -> list[tuple[float | None, str]]:
    return [(s["value"], s["color"])
            for s in panel["fieldConfig"]["defaults"]["thresholds"]["steps"]]  # fmt: skip


def alert_constant(name: str) -> float:
    """A threshold constant of the alert rules: the number on the line commented ``name``."""
    text = "".join(p.read_text() for p in sorted(RULES_DIR.glob("*.yml")))
    values = set(re.findall(rf"(\d+(?:\.\d+)?)\s+#\s*{name}\b", text))
    assert len(values) == 1, f"{name}: {values or 'not found'} in deploy/prometheus/rules"
    return float(values.pop())


def provisioning(kind: str, first_key: str) -> list[dict[str, rulefile.Node]]:
    """The list items (`- name: ...`) of provisioning/<kind>/supportpulse.yml."""
    text = (PROVISIONING_DIR / kind / "supportpulse.yml").read_text()
    top = rulefile.mapping_of(text.splitlines())
    assert rulefile.text(top["apiVersion"]) == "1", kind
    return rulefile.items(text, first_key)


def datasource_uid() -> str:
    (source,) = provisioning("datasources", "name")
    return rulefile.text(source["uid"])


def test_dashboards__committed_files_are_what_the_generator_writes(tmp_path: Path) -> None:
    generator = load_generator()
    written = {p.name: p.read_bytes() for p in generator.write(tmp_path)}
    committed = {p.name: p.read_bytes() for p in DASHBOARDS_DIR.glob("*.json")}
    stale = sorted(n for n in written.keys() | committed.keys()
                   if written.get(n) != committed.get(n))  # fmt: skip
    assert not stale, f"{stale} differ from deploy/grafana/generate.py: run `make dashboards`"
    assert sorted(written) == [DETAIL, WALL]


def test_dashboards__output_is_deterministic_and_portable() -> None:
    generator = load_generator()
    first, second = generator.dashboards(), generator.dashboards()
    assert first == second
    for name, text in first.items():
        assert text.endswith("}\n"), name
        assert text == json.dumps(json.loads(text), sort_keys=True, indent=2,
                                  ensure_ascii=False) + "\n", name  # fmt: skip
        assert str(ROOT) not in text, f"{name} holds a path of this machine"


@pytest.mark.parametrize("name", [WALL, DETAIL])
def test_dashboards__every_panel_and_query_uses_the_provisioned_datasource(name: str) -> None:
    uid = datasource_uid()
    for panel in panels(name):
        if panel["type"] == "row":
            continue
        assert panel["datasource"] == {"type": "prometheus", "uid": uid}, panel["title"]
        assert panel["targets"], f"{panel['title']!r} has no query"
        for target in panel["targets"]:
            assert target["datasource"] == {"type": "prometheus", "uid": uid}, panel["title"]
            assert target["refId"], f"{panel['title']!r}: a target without refId"
        ref_ids = [t["refId"] for t in panel["targets"]]
        assert len(set(ref_ids)) == len(ref_ids), panel["title"]
    data = board(name)
    alerts = [a for a in data["annotations"]["list"] if a.get("expr")]
    assert [a["datasource"]["uid"] for a in alerts] == [uid]
    for variable in data["templating"]["list"]:
        if variable["type"] == "query":
            assert variable["datasource"]["uid"] == uid, variable["name"]


@pytest.mark.parametrize("name", [WALL, DETAIL])
def test_dashboards__refresh_every_30s_with_stable_ids(name: str) -> None:
    data = board(name)
    assert data["refresh"] == "30s"
    assert data["uid"] in ("supportpulse-wall", "supportpulse-detail")
    ids = [p["id"] for p in panels(name)]
    assert ids == sorted(ids) and len(set(ids)) == len(ids), ids
    titles = [p["title"] for p in panels(name)]
    assert len(set(titles)) == len(titles), "panel titles must be unique (test ids use them)"


def test_wall__dark_tv_settings_and_alert_annotations() -> None:
    data = board(WALL)
    assert data["time"] == {"from": "now-6h", "to": "now"}
    assert data["templating"]["list"] == [], "every queue must show without a variable"
    (alerts,) = [a for a in data["annotations"]["list"] if a.get("expr")]
    assert alerts["expr"] == 'ALERTS{alertstate="firing", alertname=~"Support.*"}'
    assert alerts["enable"] is True


@pytest.mark.parametrize("name", [WALL, DETAIL])
def test_dashboards__panels_stay_on_the_grid_without_overlapping(name: str) -> None:
    taken: dict[tuple[int, int], str] = {}
    for panel in panels(name):
        g = panel["gridPos"]
        assert g["x"] >= 0 and g["w"] > 0 and g["x"] + g["w"] <= 24, panel["title"]
        for cell in ((x, y) for x in range(g["x"], g["x"] + g["w"])
                     for y in range(g["y"], g["y"] + g["h"])):  # fmt: skip
            assert cell not in taken, f"{panel['title']!r} overlaps {taken[cell]!r} at {cell}"
            taken[cell] = panel["title"]


def test_wall__fits_a_1080px_screen_in_kiosk_mode() -> None:
    bottom = max(p["gridPos"]["y"] + p["gridPos"]["h"] for p in panels(WALL))
    grid_px = bottom * GRID_ROW_PX + (bottom - 1) * GRID_MARGIN_PX
    assert grid_px + KIOSK_PADDING_PX <= SCREEN_PX, (
        f"the wall is {bottom} units = {grid_px} px high (+{KIOSK_PADDING_PX} px kiosk "
        f"padding): panels below the fold at {SCREEN_PX} px"
    )
    assert (bottom, grid_px) == (27, 1018)  # the layout the README describes
    assert not [p for p in panels(WALL) if p["type"] == "row"], "rows cost height on a wall"


def test_wall__each_stat_panel_has_one_tile_per_queue() -> None:
    stats = [p for p in panels(WALL) if p["type"] == "stat"]
    assert len(stats) == 16
    for panel in stats:
        (target,) = panel["targets"]
        assert re.search(r"\bby \(queue(, le)?\) ", target["expr"]), panel["title"]
        assert target["legendFormat"] == "{{queue}}", panel["title"]
        assert target["instant"] is True, panel["title"]
        assert panel["options"]["reduceOptions"]["calcs"] == ["lastNotNull"], panel["title"]


def test_detail__every_queue_level_stat_panel_groups_by_queue() -> None:
    for panel in panels(DETAIL):
        for target in panel.get("targets", []):
            if panel["type"] == "stat" and target["legendFormat"] == "{{queue}}":
                assert re.search(r"\bby \(queue\) ", target["expr"]), panel["title"]
            if "queue" in target["legendFormat"] and "job" not in target["expr"]:
                assert 'queue=~"$queue"' in target["expr"], panel["title"]


@pytest.mark.parametrize("name", [WALL, DETAIL])
def test_dashboards__every_recorded_series_queried_is_a_recording_rule(name: str) -> None:
    recorded = {n for p in RULES_DIR.glob("*.yml") for n in RECORD.findall(p.read_text())}
    unknown = [(where, rule) for where, expr in queries(name)
               for rule in RULE_NAME.findall(expr) if rule not in recorded]  # fmt: skip
    assert not unknown, f"{name}: no `record:` in deploy/prometheus/rules for {unknown}"


def test_wall__reads_recording_rules_except_where_none_exists() -> None:
    raw = [(p["title"], t["expr"]) for p in panels(WALL) for t in p["targets"]
           if not RULE_NAME.search(t["expr"])]  # fmt: skip
    # The only raw query: a quantile of the first reply histogram (no rule records one).
    assert [title for title, _ in raw] == ["First reply, p90 1h"], raw
    assert "support_first_reply_seconds_bucket" in raw[0][1]


def test_wall__windows_are_the_label_values_the_rules_expose() -> None:
    for panel in panels(WALL):
        for target in panel["targets"]:
            for window in re.findall(r'window="([^"]*)"', target["expr"]):
                assert window in ("1h", "24h"), (panel["title"], window)
    assert 'window="1h"' in by_title(WALL, "First reply, avg 1h")["targets"][0]["expr"]
    assert 'window="24h"' in by_title(WALL, "CSAT 24h")["targets"][0]["expr"]


def test_wall__threshold_colours_mirror_the_alert_rules() -> None:
    green, amber, red = "green", "orange", "red"
    at_risk = alert_constant("SLA_AT_RISK_MIN_TICKETS")
    assert steps(by_title(WALL, "Tickets at SLA risk")) == [(None, green), (at_risk, amber)]
    # SupportSLABreached fires on any new breach (`> 0`), severity page.
    assert steps(by_title(WALL, "SLA breaches 24h")) == [(None, green), (1, red)]
    oldest = alert_constant("OLDEST_UNSOLVED_MAX_AGE_S")
    assert steps(by_title(WALL, "Oldest unsolved ticket")) == [(None, green), (oldest, amber)]
    # SupportQueueUnderstaffed: gap > STAFFING_GAP_MAX (agents are whole: from max + 1).
    gap = alert_constant("STAFFING_GAP_MAX") + 1
    assert steps(by_title(WALL, "Agent gap")) == [(None, green), (gap, amber)]
    assert steps(by_title(WALL, "Overloaded")) == [(None, green), (1, red)]
    assert steps(by_title(WALL, "Next SLA breach in")) == [(None, amber), (900, green)]
    # Measures no alert watches stay in the text colour, so colour always means an alert.
    for title in ("Unsolved tickets", "First reply, avg 1h", "CSAT 24h", "NPS 24h"):
        assert steps(by_title(WALL, title)) == [(None, "text")], title


def test_detail__threshold_colours_mirror_the_alert_rules() -> None:
    ratio = alert_constant("DEAD_LETTER_MAX_RATIO")
    assert steps(by_title(DETAIL, "Dead-letter ratio (10m)"))[1] == (ratio, "orange")
    burn = [v for v, _ in steps(by_title(DETAIL, "Error budget burn rate"))[1:]]
    assert burn == [alert_constant("SLA_BURN_FAST_6H"), alert_constant("SLA_BURN_FAST_1H")]


def test_provisioning__datasource_is_the_prometheus_the_dashboards_name() -> None:
    (source,) = provisioning("datasources", "name")
    assert rulefile.text(source["type"]) == "prometheus"
    assert rulefile.text(source["uid"]) == load_generator().DATASOURCE_UID
    assert rulefile.text(source["url"]) == "http://127.0.0.1:9090"
    json_data = rulefile.mapping(source["jsonData"])
    # The scrape interval of deploy/prometheus/prometheus.yml ($__rate_interval's base).
    scrape = re.search(r"scrape_interval: (\S+)",
                       (ROOT / "deploy/prometheus/prometheus.yml").read_text())  # fmt: skip
    assert scrape and json_data["timeInterval"] == scrape[1]


def test_provisioning__file_provider_points_at_the_dashboards_folder() -> None:
    (provider,) = provisioning("dashboards", "name")
    assert rulefile.text(provider["type"]) == "file"
    path = rulefile.mapping(provider["options"])["path"]
    # Expanded by Grafana from its environment; here, the root of this checkout.
    assert path.startswith("${SUPPORTPULSE_REPO}/"), path
    folder = Path(path.replace("${SUPPORTPULSE_REPO}", str(ROOT)))
    assert folder.resolve() == DASHBOARDS_DIR.resolve()
    assert sorted(p.name for p in folder.glob("*.json")) == [DETAIL, WALL]
