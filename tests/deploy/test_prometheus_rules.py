"""`promtool` checks of deploy/prometheus: config, rule syntax, rule unit tests, rule names.

Never skipped: `make test` installs promtool first (`make deps`), so a missing promtool is a
broken setup and fails here with the command that fixes it.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.deploy import rulefile

ROOT = Path(__file__).resolve().parents[2]
PROMETHEUS_DIR = ROOT / "deploy" / "prometheus"
RULE_FILES = sorted((PROMETHEUS_DIR / "rules").glob("*.yml"))
TEST_FILES = sorted((PROMETHEUS_DIR / "tests").glob("*.test.yml"))
# level:metric:operations, e.g. queue_window:support_first_reply_seconds:avg
RULE_NAME = re.compile(r"^[a-z]+(?:_[a-z]+)*:support_[a-z0-9_]+:[a-z0-9_]+$")
MISSING = (
    "promtool is not on PATH: run `make deps` (installs the Debian packages `prometheus`, "
    "which provides promtool and prometheus, and `prometheus-alertmanager`)"
)
RECORD = re.compile(r"^\s*- record:\s*(\S+)\s*$", re.MULTILINE)


def promtool(*args: str) -> subprocess.CompletedProcess[str]:
    """Run promtool from the repository root (short paths in its output)."""
    binary = shutil.which("promtool")
    if binary is None:
        pytest.fail(MISSING, pytrace=False)
    return subprocess.run([binary, *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=60, check=False)  # fmt: skip


def relative(paths: list[Path]) -> list[str]:
    return [str(p.relative_to(ROOT)) for p in paths]


def output(done: subprocess.CompletedProcess[str]) -> str:
    return f"exit {done.returncode}\n--- stdout\n{done.stdout}\n--- stderr\n{done.stderr}"


def test_prometheus_config__passes_promtool_check_config() -> None:
    done = promtool("check", "config", "deploy/prometheus/prometheus.yml")
    assert done.returncode == 0, output(done)
    assert f"SUCCESS: {len(RULE_FILES)} rule files found" in done.stdout, output(done)


def test_rule_files__pass_promtool_check_rules() -> None:
    assert RULE_FILES, "no rule files under deploy/prometheus/rules"
    done = promtool("check", "rules", *relative(RULE_FILES))
    assert done.returncode == 0, output(done)


def test_rule_files__pass_their_promtool_unit_tests() -> None:
    assert TEST_FILES, "no *.test.yml under deploy/prometheus/tests"
    done = promtool("test", "rules", *relative(TEST_FILES))
    assert done.returncode == 0, output(done)
    assert done.stdout.count("SUCCESS") == len(TEST_FILES), output(done)


def test_rule_files__each_has_exactly_one_test_file() -> None:
    expected = sorted(f"{p.stem}.test.yml" for p in RULE_FILES)
    assert sorted(p.name for p in TEST_FILES) == expected
    for rules in RULE_FILES:
        test_file = PROMETHEUS_DIR / "tests" / f"{rules.stem}.test.yml"
        assert f"- ../rules/{rules.name}\n" in test_file.read_text(), test_file


def test_rule_files__each_holds_rules() -> None:
    for rules in RULE_FILES:
        text = rules.read_text()
        assert rulefile.items(text, "record") or rulefile.items(text, "alert"), rules


def test_recording_rules__are_named_level_metric_operations_and_each_is_tested() -> None:
    for rules in RULE_FILES:
        records = rulefile.items(rules.read_text(), "record")
        names = [rulefile.text(r["record"]) for r in records]
        assert names == RECORD.findall(rules.read_text()), f"unparsed rules in {rules.name}"
        # A name may be recorded more than once with different static labels (the SLA
        # objective: one rule per clock, plus per-queue overrides); never twice the same.
        keyed = [(rulefile.text(r["record"]),
                  tuple(sorted(rulefile.mapping(r["labels"]).items())) if "labels" in r
                  else ())
                 for r in records]  # fmt: skip
        assert len(keyed) == len(set(keyed)), f"duplicate rules in {rules}"
        assert [n for n in names if not RULE_NAME.match(n)] == []
        tests = (PROMETHEUS_DIR / "tests" / f"{rules.stem}.test.yml").read_text()
        untested = [n for n in set(names)
                    if not re.search(rf"expr: '?{re.escape(n)}\b", tests)]  # fmt: skip
        assert untested == [], f"recording rules without a promtool test in {rules.name}"


def test_staffing_gauges__are_never_summed_over_workers() -> None:
    # Every worker exports the staffing of the WHOLE queue (the same value), so a `sum` over
    # workers would count each queue once per worker: max or min only.
    found = []
    for rules in RULE_FILES:
        text = rules.read_text()
        for rule in rulefile.items(text, "record") + rulefile.items(text, "alert"):
            expr = rulefile.text(rule["expr"])
            if "support_staffing_" in expr:
                found.append(expr)
                assert not re.search(r"\b(sum|count|avg)\b", expr), expr
    assert found, "no rule reads the support_staffing_* gauges"
