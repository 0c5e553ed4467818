"""config/monitoring as Prometheus, Alertmanager and Grafana read it: promtool and amtool
accept the files, the rule unit tests pass (and catch a wrong threshold), the dashboard
JSON is what the code generates, every metric the rules and panels name is exported,
and the rendered configs of ``fw monitor up`` keep everything but targets and URLs."""

from __future__ import annotations

import json
import re
import shutil
import subprocess

import pytest
import yaml

from framework.monitoring.catalog import SESSION_METRICS, VENUE_METRICS
from framework.monitoring.dashboards import DASHBOARDS, build_dashboard, panel_queries
from framework.monitoring.stack import (
    CONFIG_DIR,
    MonitorError,
    parse_targets,
    render_alertmanager,
    render_prometheus,
)

PROM = CONFIG_DIR / "prometheus"
AM = CONFIG_DIR / "alertmanager"
GRAFANA = CONFIG_DIR / "grafana"


def _run(argv, cwd=None) -> subprocess.CompletedProcess:
    return subprocess.run(argv, cwd=cwd, capture_output=True, text=True, timeout=120)


def _exported_names() -> set[str]:
    """Every series name the exporters produce (histograms: _bucket/_count/_sum)."""
    out = {"up"}
    for s in SESSION_METRICS + VENUE_METRICS:
        out.add(s.name)
        if s.kind == "histogram":
            out |= {s.name + "_bucket", s.name + "_count", s.name + "_sum"}
    return out


def _metric_names(expr: str) -> set[str]:
    return set(re.findall(r"\b((?:fw_|up\b)[a-z_]*)(?=\s*[{\[)]|\s|$)", expr))


def test_promtool_accepts_the_config_and_rules(prom_tools):
    r = _run([prom_tools["promtool"], "check", "config", "prometheus.yml"], cwd=PROM)
    assert r.returncode == 0, r.stdout + r.stderr
    r = _run([prom_tools["promtool"], "check", "rules", "alerts.yml"], cwd=PROM)
    assert r.returncode == 0 and "SUCCESS: 11 rules found" in r.stdout, r.stdout + r.stderr


def test_rule_unit_tests_pass_and_catch_a_wrong_threshold(prom_tools, tmp_path):
    tests = sorted(p.name for p in PROM.glob("*test*.yml"))
    assert tests == ["alerts_test.yml"]
    r = _run([prom_tools["promtool"], "test", "rules", *tests], cwd=PROM)
    assert r.returncode == 0, r.stdout + r.stderr
    # every alert has a firing case (exp_alerts non-empty) and at least two empty ones
    spec = yaml.safe_load((PROM / "alerts_test.yml").read_text())
    rules = yaml.safe_load((PROM / "alerts.yml").read_text())
    names = [r["alert"] for g in rules["groups"] for r in g["rules"]]
    cases = [c for t in spec["tests"] for c in t["alert_rule_test"]]
    for name in names:
        mine = [c for c in cases if c["alertname"] == name]
        assert any(c["exp_alerts"] for c in mine), f"{name}: no firing case"
        assert sum(not c["exp_alerts"] for c in mine) >= 2, f"{name}: no pending/quiet case"
    # the same tests fail on a rule whose threshold or `for:` is wrong
    for wrong in (("for: 5s", "for: 10s", 1), ("> 0.5", "> 1.0", 1)):
        shutil.copy(PROM / "alerts_test.yml", tmp_path)
        text = (PROM / "alerts.yml").read_text().replace(wrong[0], wrong[1], wrong[2])
        (tmp_path / "alerts.yml").write_text(text)
        bad = _run([prom_tools["promtool"], "test", "rules", "alerts_test.yml"], cwd=tmp_path)
        assert bad.returncode != 0 and "FAILED" in bad.stdout + bad.stderr, wrong


def test_alertmanager_config_and_templates(prom_tools, tmp_path):
    r = _run([prom_tools["amtool"], "check-config", "alertmanager.yml"], cwd=AM)
    assert r.returncode == 0 and "3 receivers" in r.stdout, r.stdout + r.stderr
    data = {"receiver": "telegram", "status": "firing", "externalURL": "http://am",
            "groupLabels": {"alertname": "FwKillSwitchEngaged"},
            "commonLabels": {"alertname": "FwKillSwitchEngaged", "severity": "critical"},
            "commonAnnotations": {},
            "alerts": [{"status": "firing", "labels": {"alertname": "FwKillSwitchEngaged",
                                                       "severity": "critical"},
                        "annotations": {"summary": "s:9464: kill switch engaged",
                                        "description": "no new orders <now>"}}]}
    (tmp_path / "data.json").write_text(json.dumps(data))
    out = {}
    for name in ("fw.telegram.message", "fw.slack.title", "fw.slack.text"):
        r = _run([prom_tools["amtool"], "template", "render", "--template.glob",
                  str(AM / "templates" / "*.tmpl"), "--template.data", str(tmp_path / "data.json"),
                  "--template.text", '{{ template "' + name + '" . }}'])
        assert r.returncode == 0, r.stderr
        out[name] = r.stdout.strip()
    assert out["fw.slack.title"] == "[FIRING:1] FwKillSwitchEngaged"
    assert out["fw.slack.text"] == "*critical* s:9464: kill switch engaged\nno new orders <now>"
    assert out["fw.telegram.message"].startswith("<b>[FIRING:1] FwKillSwitchEngaged</b>")
    assert "no new orders &lt;now&gt;" in out["fw.telegram.message"]  # HTML-escaped


def test_dashboards_are_the_generated_ones():
    files = sorted(p.stem for p in GRAFANA.glob("*.json"))
    assert files == sorted(DASHBOARDS)
    uids = set()
    for uid in DASHBOARDS:
        on_disk = json.loads((GRAFANA / f"{uid}.json").read_text())
        assert on_disk == build_dashboard(uid), f"{uid}.json is stale: run fw monitor dashboards"
        assert on_disk["uid"] == uid and uid not in uids
        uids.add(uid)
        ids = [p["id"] for p in on_disk["panels"]]
        assert len(ids) == len(set(ids))
        names = {v["name"] for v in on_disk["templating"]["list"]}
        assert names == {"datasource", "instance"}
        for p in on_disk["panels"]:
            if p["type"] != "row":
                assert p["datasource"] == {"type": "prometheus", "uid": "${datasource}"}
                assert p["targets"] and all(t["datasource"] == p["datasource"]
                                            for t in p["targets"])


def test_rules_and_panels_name_only_exported_metrics():
    exported = _exported_names()
    used = set()
    for uid in DASHBOARDS:
        for title, expr in panel_queries(build_dashboard(uid)):
            names = _metric_names(expr)
            assert names, f"{uid} / {title}: no metric in {expr}"
            used |= names
    rules = yaml.safe_load((PROM / "alerts.yml").read_text())
    for g in rules["groups"]:
        for r in g["rules"]:
            used |= _metric_names(r["expr"])
    assert used <= exported, used - exported


def test_grafana_provisioning_points_at_the_dashboards():
    ds = yaml.safe_load((GRAFANA / "provisioning" / "datasources" / "fw-prometheus.yml").read_text())
    assert ds["datasources"][0]["type"] == "prometheus"
    assert ds["datasources"][0]["url"] == "http://127.0.0.1:9090"
    prov = yaml.safe_load((GRAFANA / "provisioning" / "dashboards" / "fw.yml").read_text())
    assert prov["providers"][0]["options"]["path"] == "${FW_GRAFANA_DASHBOARDS}"


def test_rendered_configs_keep_everything_but_targets(tmp_path, prom_tools):
    path = render_prometheus(tmp_path, parse_targets(["fw-live=127.0.0.1:1234",
                                                      "extra=127.0.0.1:99"]), "127.0.0.1:5")
    cfg = yaml.safe_load(path.read_text())
    src = yaml.safe_load((PROM / "prometheus.yml").read_text())
    assert cfg["global"] == src["global"]
    jobs = {j["job_name"]: j["static_configs"][0]["targets"] for j in cfg["scrape_configs"]}
    assert jobs == {"fw-live": ["127.0.0.1:1234"], "fw-venue": ["127.0.0.1:9465"],
                    "extra": ["127.0.0.1:99"]}
    assert cfg["rule_files"] == [str(PROM / "alerts.yml")]
    r = _run([prom_tools["promtool"], "check", "config", str(path)])
    assert r.returncode == 0, r.stdout + r.stderr
    am = yaml.safe_load(render_alertmanager(tmp_path, "http://127.0.0.1:7/x").read_text())
    assert am["receivers"][0]["webhook_configs"][0]["url"] == "http://127.0.0.1:7/x"
    assert am["route"] == yaml.safe_load((AM / "alertmanager.yml").read_text())["route"]
    for bad in ("fw-live", "fw-live=host", "=h:1", "j=h:port"):
        with pytest.raises(MonitorError, match="is not JOB=HOST:PORT"):
            parse_targets([bad])
