"""The alerts, their runbooks and promtool tests, and the Alertmanager example.

Checks what promtool cannot: every alert carries what the on-call person needs (severity,
summary, description, a runbook that exists), every alert has a promtool test that shows
it silent and one that shows it firing, multi-file rule tests fix the group order, and the
Alertmanager example is valid, routes each severity where it says and inhibits as it says
(a real `alertmanager` is started for that). Never skipped: `make deps` installs amtool and
alertmanager (Debian package `prometheus-alertmanager`).
"""

from __future__ import annotations

import re
import shutil
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import orjson
import pytest

from tests.deploy import rulefile

ROOT = Path(__file__).resolve().parents[2]
PROMETHEUS_DIR = ROOT / "deploy" / "prometheus"
RULE_FILES = sorted((PROMETHEUS_DIR / "rules").glob("*.yml"))
RUNBOOKS = ROOT / "deploy" / "runbooks"
ALERTMANAGER_CONFIG = ROOT / "deploy" / "alertmanager" / "alertmanager.yml"
RUNBOOK_BASE = "https://github.com/supportpulse/supportpulse/blob/main/deploy/runbooks/"
SEVERITIES = {"page", "ticket"}
ALERT_NAME = re.compile(r"^Support[A-Z][A-Za-z]+$")
MISSING = (
    "{} is not on PATH: run `make deps` (installs the Debian package "
    "`prometheus-alertmanager`, which provides amtool and alertmanager)"
)


def alerts() -> dict[str, tuple[Path, dict[str, rulefile.Node]]]:
    """Every alerting rule of deploy/prometheus/rules: name -> (file, rule)."""
    found: dict[str, tuple[Path, dict[str, rulefile.Node]]] = {}
    for path in RULE_FILES:
        for rule in rulefile.items(path.read_text(), "alert"):
            name = rulefile.text(rule["alert"])
            # Two rules may share a name in Prometheus; here each alert has one rule and
            # one runbook, which keeps the checks below simple.
            assert name not in found, f"alert {name} defined twice"
            found[name] = (path, rule)
    return found


def test_alert_names_are_support_camel_case() -> None:
    names = list(alerts())
    assert names, "no alerting rules under deploy/prometheus/rules"
    assert [n for n in names if not ALERT_NAME.match(n)] == []


@pytest.mark.parametrize("name", sorted(alerts()))
def test_alert__has_severity_summary_description_and_an_existing_runbook(name: str) -> None:
    path, rule = alerts()[name]
    labels = rulefile.mapping(rule["labels"])
    assert labels.get("severity") in SEVERITIES, f"{name}: severity must be page or ticket"
    annotations = rulefile.mapping(rule["annotations"])
    assert annotations.get("summary"), f"{name}: no summary"
    assert annotations.get("description"), f"{name}: no description"
    assert annotations.get("runbook_url") == f"{RUNBOOK_BASE}{name}.md"
    assert (RUNBOOKS / f"{name}.md").is_file(), f"deploy/runbooks/{name}.md is missing"
    assert RUNBOOK_BASE in path.read_text().split("groups:", 1)[0], (
        f"the runbook base URL is not stated in the header comment of {path.name}"
    )


def test_runbooks__one_per_alert_each_listed_in_the_index() -> None:
    pages = {p.stem for p in RUNBOOKS.glob("*.md")} - {"README"}
    assert pages == set(alerts()), "runbooks without an alert, or alerts without a runbook"
    index = (RUNBOOKS / "README.md").read_text()
    assert [n for n in alerts() if f"]({n}.md)" not in index] == []
    for name in alerts():
        page = (RUNBOOKS / f"{name}.md").read_text()
        assert page.startswith(f"# {name}\n"), f"{name}.md must start with its title"
        severity = rulefile.mapping(alerts()[name][1]["labels"])["severity"]
        assert f"**Severity: {severity}" in page, f"{name}.md does not state its severity"


def alert_cases(test_file: Path) -> list[tuple[str, bool]]:
    """(alertname, expects it firing) for every alert_rule_test item of a promtool test file."""
    cases = []
    for case in rulefile.items(test_file.read_text(), "eval_time"):
        if "alertname" not in case:
            continue
        exp = case.get("exp_alerts", rulefile.Node(""))
        firing = exp.value not in ("", "[]") or any(
            ln.strip() and not ln.strip().startswith("#") for ln in exp.body
        )
        cases.append((rulefile.text(case["alertname"]), firing))
    return cases


@pytest.mark.parametrize("name", sorted(alerts()))
def test_alert__has_a_promtool_case_silent_and_one_firing(name: str) -> None:
    path, _rule = alerts()[name]
    test_file = PROMETHEUS_DIR / "tests" / f"{path.stem}.test.yml"
    cases = [firing for alertname, firing in alert_cases(test_file) if alertname == name]
    assert True in cases, f"no case in {test_file.name} expects {name} firing"
    assert False in cases, f"no case in {test_file.name} shows {name} silent (not early)"


def test_rule_tests_loading_several_files__order_every_group() -> None:
    # promtool evaluates rule groups in a random order unless group_eval_order says
    # otherwise, and an unlisted group sorts with the first listed: a test whose alerts
    # read another file's recording rules would pass or fail by chance.
    for test_file in sorted((PROMETHEUS_DIR / "tests").glob("*.test.yml")):
        top = rulefile.mapping_of(test_file.read_text().splitlines())
        loaded = [test_file.parent / f for f in rulefile.sequence(top["rule_files"])]
        if len(loaded) < 2:
            continue
        groups = [rulefile.text(g["name"]) for f in loaded
                  for g in rulefile.items(f.read_text(), "name")]  # fmt: skip
        assert "group_eval_order" in top, f"{test_file.name} loads {len(loaded)} rule files"
        order = rulefile.sequence(top["group_eval_order"])
        assert sorted(order) == sorted(groups), f"{test_file.name}: group_eval_order"


# -- Alertmanager --------------------------------------------------------------------------


def binary(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        pytest.fail(MISSING.format(name), pytrace=False)
    return found


def amtool(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([binary("amtool"), *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=60, check=False)  # fmt: skip


def test_alertmanager_example__passes_amtool_check_config() -> None:
    done = amtool("check-config", str(ALERTMANAGER_CONFIG.relative_to(ROOT)))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "SUCCESS" in done.stdout


def receivers_for(**labels: str) -> set[str]:
    done = amtool("config", "routes", "test", f"--config.file={ALERTMANAGER_CONFIG}",
                  *(f"{k}={v}" for k, v in labels.items()))  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    return set(done.stdout.strip().split(","))


@pytest.mark.parametrize("name", sorted(alerts()))
def test_alertmanager_example__sends_pages_to_the_pager_and_tickets_to_the_chat(name: str) -> None:
    severity = rulefile.mapping(alerts()[name][1]["labels"])["severity"]
    got = receivers_for(alertname=name, severity=severity, queue="billing", sla="first_reply")
    expected = {"support-pager", "support-chat"} if severity == "page" else {"support-chat"}
    assert got == expected


def test_alertmanager_example__inhibit_rules_name_existing_alerts() -> None:
    text = ALERTMANAGER_CONFIG.read_text()
    named = set(re.findall(r"alertname=\"(\w+)\"", text))
    assert named, "no inhibit rule names an alert"
    assert named <= set(alerts()), f"unknown alerts in {ALERTMANAGER_CONFIG.name}"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def running_alertmanager(tmp_path: Path) -> Iterator[str]:
    """The example config in a real alertmanager on 127.0.0.1; receivers point nowhere."""
    config = re.sub(r"https://[\w.-]+\.example\.invalid/\S*", "http://127.0.0.1:9/",
                    ALERTMANAGER_CONFIG.read_text())  # fmt: skip
    (tmp_path / "alertmanager.yml").write_text(config)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log = (tmp_path / "alertmanager.log").open("wb")
    proc = subprocess.Popen(
        [binary("prometheus-alertmanager"), f"--config.file={tmp_path / 'alertmanager.yml'}",
         f"--storage.path={tmp_path / 'data'}", f"--web.listen-address=127.0.0.1:{port}",
         "--cluster.listen-address="],
        stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 20
        while not ready(base):
            assert proc.poll() is None, f"alertmanager exited, see {tmp_path / 'alertmanager.log'}"
            assert time.monotonic() < deadline, f"alertmanager not ready after 20 s ({tmp_path})"
            time.sleep(0.1)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def ready(base: str) -> bool:
    try:
        with urllib.request.urlopen(f"{base}/-/ready", timeout=2) as response:
            return bool(response.status == 200)
    except OSError:
        return False


def post_alerts(base: str, *label_sets: dict[str, str]) -> None:
    body = orjson.dumps([{"labels": labels} for labels in label_sets])
    request = urllib.request.Request(f"{base}/api/v2/alerts", data=body, method="POST",
                                     headers={"Content-Type": "application/json"})  # fmt: skip
    with urllib.request.urlopen(request, timeout=5) as response:
        assert response.status == 200


def alert_states(base: str) -> dict[tuple[str, str, str], str]:
    """(alertname, queue, sla) -> state (active, suppressed) of every alert held."""
    with urllib.request.urlopen(f"{base}/api/v2/alerts", timeout=5) as response:
        held = orjson.loads(response.read())
    return {(a["labels"]["alertname"], a["labels"].get("queue", ""),
             a["labels"].get("sla", "")): a["status"]["state"] for a in held}  # fmt: skip


def test_alertmanager_example__mutes_at_risk_while_breached_for_the_same_queue_and_sla(
    tmp_path: Path,
) -> None:
    breached = {"alertname": "SupportSLABreached", "severity": "page", "queue": "billing",
                "priority": "urgent", "sla": "first_reply"}  # fmt: skip

    def at_risk(queue: str, sla: str) -> dict[str, str]:
        return {"alertname": "SupportSLATicketsAtRisk", "severity": "ticket",
                "queue": queue, "sla": sla}  # fmt: skip

    with running_alertmanager(tmp_path) as base:
        post_alerts(base, breached, at_risk("billing", "first_reply"),
                    at_risk("billing", "next_reply"), at_risk("sales", "first_reply"))  # fmt: skip
        expected = {
            ("SupportSLABreached", "billing", "first_reply"): "active",
            ("SupportSLATicketsAtRisk", "billing", "first_reply"): "suppressed",
            ("SupportSLATicketsAtRisk", "billing", "next_reply"): "active",
            ("SupportSLATicketsAtRisk", "sales", "first_reply"): "active",
        }
        assert settled_states(base, expected) == expected


def test_alertmanager_example__mutes_understaffed_while_overloaded_for_the_same_queue(
    tmp_path: Path,
) -> None:
    overloaded = {"alertname": "SupportQueueOverloaded", "severity": "page", "queue": "billing"}

    def understaffed(queue: str) -> dict[str, str]:
        return {"alertname": "SupportQueueUnderstaffed", "severity": "ticket", "queue": queue}

    with running_alertmanager(tmp_path) as base:
        post_alerts(base, overloaded, understaffed("billing"), understaffed("sales"))
        expected = {
            ("SupportQueueOverloaded", "billing", ""): "active",
            ("SupportQueueUnderstaffed", "billing", ""): "suppressed",
            ("SupportQueueUnderstaffed", "sales", ""): "active",
        }
        assert settled_states(base, expected) == expected


def settled_states(
    base: str, expected: dict[tuple[str, str, str], str]
) -> dict[tuple[str, str, str], str]:
    """The alert states once they equal ``expected``, or as they are after 10 s."""
    deadline = time.monotonic() + 10
    while alert_states(base) != expected and time.monotonic() < deadline:
        time.sleep(0.1)
    return alert_states(base)
