"""The alert rules (deploy/k8s/base/alerts.yaml) and the Grafana dashboard
(deploy/grafana/punch-path.json) against the metrics the code really exports.

The PrometheusRule's spec.groups is what Prometheus reads as a rule file: it is checked with
`promtool check rules` and unit-tested with `promtool test rules` (tests/unit/deploy/
alerts-test.yaml: each alert fires on a series that should trigger it and stays silent on one
that should not). promtool is Debian's `prometheus` package (scripts/promtool, `make promtool`).
Every metric an alert or a dashboard panel names must be one a service registers with
prometheus_client (found in libs/kit/src and services/*/src), so a renamed metric fails here
instead of leaving an alert that can never fire."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[3]
RULE = REPO / "deploy" / "k8s" / "base" / "alerts.yaml"
RULE_TESTS = Path(__file__).with_name("alerts-test.yaml")
DASHBOARD = REPO / "deploy" / "grafana" / "punch-path.json"
PROMTOOL = REPO / "scripts" / "promtool"

_DECLARED = re.compile(r"\b(Counter|Gauge|Histogram|Summary)\(\s*\"([a-zA-Z_:][a-zA-Z0-9_:]*)\"")
# The series each kind of metric exposes (prometheus_client adds _total to a counter's name
# when it lacks it; a counter also exposes _created, as do histograms and summaries).
_SUFFIXES = {
    "Counter": ("_total",),
    "Gauge": ("",),
    "Histogram": ("_bucket", "_sum", "_count"),
    "Summary": ("", "_sum", "_count"),
}
# PromQL words that are not metric names.
_PROMQL_WORDS = {
    "by", "without", "on", "ignoring", "group_left", "group_right", "bool", "and", "or",
    "unless", "offset", "sum", "min", "max", "avg", "count", "stddev", "stdvar", "topk",
    "bottomk", "quantile", "count_values", "group", "inf", "nan",
}  # fmt: skip


def exported_metrics() -> set[str]:
    names: set[str] = set()
    sources = [REPO / "libs" / "kit" / "src", *sorted((REPO / "services").glob("*/src"))]
    for root in sources:
        for path in root.rglob("*.py"):
            for kind, name in _DECLARED.findall(path.read_text()):
                base = name.removesuffix("_total") if kind == "Counter" else name
                names.update(base + suffix for suffix in _SUFFIXES[kind])
    return names


def metric_names(expr: str) -> set[str]:
    """The metric names a PromQL expression selects (not its functions, labels or keywords)."""
    text = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)  # string literals
    text = re.sub(r"\{[^}]*\}", "", text)  # label matchers
    text = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", "", text)
    text = re.sub(r"\[[^\]]*\]", "", text)  # ranges and subqueries
    text = re.sub(r"\$\{?\w+\}?", "", text)  # Grafana variables ($__rate_interval)
    found = set()
    for match in re.finditer(r"(?<![\w.])([a-zA-Z_:][a-zA-Z0-9_:]*)\b(\s*\()?", text):
        word, call = match.group(1), match.group(2)
        if call or word.lower() in _PROMQL_WORDS or re.fullmatch(r"\d+\w*", word):
            continue
        found.add(word)
    return found


def rule_groups() -> list[dict]:
    doc = yaml.safe_load(RULE.read_text())
    assert doc["apiVersion"] == "monitoring.coreos.com/v1"
    assert doc["kind"] == "PrometheusRule"
    return doc["spec"]["groups"]


def alerts() -> list[dict]:
    return [rule for group in rule_groups() for rule in group["rules"] if "alert" in rule]


def dashboard_exprs() -> list[str]:
    board = json.loads(DASHBOARD.read_text())
    panels = []
    stack = list(board["panels"])
    while stack:
        panel = stack.pop()
        panels.append(panel)
        stack.extend(panel.get("panels", []))
    return [t["expr"] for p in panels for t in p.get("targets", []) if t.get("expr")]


def test_the_metric_name_parser_sees_names_and_nothing_else() -> None:
    expr = (
        'sum by (group) (rate(punchcard_consumed_total{outcome="dead_lettered"}[5m]))'
        " / ignoring(status) sum(rate(punchcard_kiosk_answers_total[$__rate_interval])) > 0.05"
        " or histogram_quantile(0.99, sum by (le) (rate(face_stage_seconds_bucket[5m])))"
    )
    assert metric_names(expr) == {
        "punchcard_consumed_total",
        "punchcard_kiosk_answers_total",
        "face_stage_seconds_bucket",
    }


def test_the_exported_metrics_are_found_in_the_code() -> None:
    names = exported_metrics()
    # One of each kind, from the kit and from services.
    assert "punchcard_consumed_total" in names
    assert "punchcard_consumer_batch_seconds_bucket" in names
    assert "punch_parked_oldest_seconds" in names
    assert "punchcard_kiosk_answers_total" in names
    assert "punchcard_kiosk_answers" not in names


def test_the_rule_is_in_the_base_kustomization() -> None:
    kustomization = yaml.safe_load((RULE.parent / "kustomization.yaml").read_text())
    assert RULE.name in kustomization["resources"]


def test_every_alert_uses_only_exported_metrics_and_bounded_labels() -> None:
    exported = exported_metrics()
    rules = alerts()
    assert rules
    for rule in rules:
        used = metric_names(rule["expr"])
        assert used, rule["alert"]
        assert used <= exported, (rule["alert"], used - exported)
        assert rule["labels"]["severity"] in {"warning", "critical"}
        assert rule["annotations"]["summary"] and rule["annotations"]["description"]
        # Grouped only by bounded labels: never by tenant, worker, clock or instance ids.
        for grouped in re.findall(r"\bby\s*\(([^)]*)\)", rule["expr"]):
            labels = {label.strip() for label in grouped.split(",")}
            assert labels <= {"group", "service", "status", "outcome", "protocol", "le"}, rule[
                "alert"
            ]


def test_every_alert_has_a_firing_and_a_silent_promtool_case() -> None:
    cases = yaml.safe_load(RULE_TESTS.read_text())["tests"]
    fires: set[str] = set()
    silent: set[str] = set()
    for case in cases:
        for check in case["alert_rule_test"]:
            (fires if check["exp_alerts"] else silent).add(check["alertname"])
    names = {rule["alert"] for rule in alerts()}
    assert fires == names
    assert silent == names


@pytest.fixture(scope="module")
def promtool() -> Path:
    if subprocess.run([PROMTOOL, "--install"], capture_output=True).returncode != 0:
        pytest.fail("promtool is missing: run `make promtool` (Debian's prometheus package)")
    return PROMTOOL


def _write_rules(directory: Path, *, annotations: bool) -> Path:
    groups = rule_groups()
    if not annotations:
        groups = [
            {**g, "rules": [{k: v for k, v in r.items() if k != "annotations"} for r in g["rules"]]}
            for g in groups
        ]
    path = directory / "rules.yaml"
    path.write_text(yaml.safe_dump({"groups": groups}, sort_keys=False))
    return path


def test_promtool_checks_the_rules(promtool: Path, tmp_path: Path) -> None:
    rules = _write_rules(tmp_path, annotations=True)
    result = subprocess.run([promtool, "check", "rules", rules], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"SUCCESS: {len(alerts())} rules found" in result.stdout + result.stderr


def test_promtool_unit_tests_pass(promtool: Path, tmp_path: Path) -> None:
    _write_rules(tmp_path, annotations=False)
    shutil.copy(RULE_TESTS, tmp_path / RULE_TESTS.name)
    result = subprocess.run(
        [promtool, "test", "rules", RULE_TESTS.name],
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout + result.stderr


def test_promtool_fails_a_broken_expectation(promtool: Path, tmp_path: Path) -> None:
    """The harness can fail: an alert expected where the series should keep it silent."""
    _write_rules(tmp_path, annotations=False)
    cases = yaml.safe_load(RULE_TESTS.read_text())
    silent = next(
        check
        for case in cases["tests"]
        for check in case["alert_rule_test"]
        if not check["exp_alerts"]
    )
    silent["exp_alerts"] = [{"exp_labels": {"severity": "warning"}}]
    (tmp_path / "broken.yaml").write_text(yaml.safe_dump(cases, sort_keys=False))
    result = subprocess.run(
        [promtool, "test", "rules", "broken.yaml"], cwd=tmp_path, capture_output=True, text=True
    )
    assert result.returncode != 0
    assert silent["alertname"] in result.stdout + result.stderr


def test_every_dashboard_query_uses_only_exported_metrics() -> None:
    exported = exported_metrics()
    exprs = dashboard_exprs()
    assert len(exprs) >= 10
    used: set[str] = set()
    for expr in exprs:
        names = metric_names(expr)
        assert names, expr
        assert names <= exported, (expr, names - exported)
        used |= names
    # The punch path, the fleet and the pipelines each have their panels.
    assert "punchcard_kiosk_wait_seconds_bucket" in used
    assert any(name.startswith("device_sync_") for name in used)
    assert "punchcard_consumed_total" in used
    assert "punchcard_outbox_published_total" in used
    # Per route, per partition, the outbox's age, the fleet's status.
    assert "punchcard_http_request_seconds_bucket" in used
    assert "punchcard_consumer_lag" in used
    assert "punchcard_outbox_oldest_age_seconds" in used
    assert "device_sync_clocks" in used


def test_every_dashboard_query_parses(promtool: Path, tmp_path: Path) -> None:
    """Each panel's PromQL, as a recording rule, through `promtool check rules` (its parser);
    Grafana's $__rate_interval stands in as 5m."""
    exprs = [e.replace("$__rate_interval", "5m") for e in dashboard_exprs()]
    rules = [{"record": f"dashboard:query{i}", "expr": e} for i, e in enumerate(exprs)]
    path = tmp_path / "dashboard.yaml"
    path.write_text(yaml.safe_dump({"groups": [{"name": "dashboard", "rules": rules}]}))
    result = subprocess.run([promtool, "check", "rules", path], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"SUCCESS: {len(exprs)} rules found" in result.stdout + result.stderr
