"""Prometheus probes each app through its route, from files the plugin writes; the alerts fire on matching data."""

from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path

import services
from conftest import EXAMPLE, Sandbox, edit_env, output, services_facts


def make_app(tmp_path: Path, name: str, domains: list[str]) -> Path:
    src = tmp_path / name
    shutil.copytree(EXAMPLE, src)
    edit_env(src, domains=domains)
    return src


def folder(box: Sandbox, name: str) -> Path:
    return Path(str(services_facts(box)["prometheus"]["folder"])) / name


def wait_for_probes(box: Sandbox, app: str, count: int) -> list[dict[str, object]]:
    prometheus = services_facts(box)["prometheus"]
    results: list[dict[str, object]] = []
    for _ in range(120):
        results = services.query(prometheus, f'probe_success{{app="{app}"}}')
        if len(results) == count and all(r["value"][1] == "1" for r in results):  # type: ignore[index]
            return results
        time.sleep(0.5)
    raise AssertionError(f"Prometheus never saw {app} up: {results}")


def test_prometheus_probes_every_domain_through_the_apps_route(served: Sandbox, tmp_path: Path) -> None:
    result = served.push("mon", make_app(tmp_path, "mon", ["mon.example.test", "www.mon.example.test"]))
    assert result.returncode == 0, output(result)
    results = wait_for_probes(served, "mon", 2)
    assert sorted(r["metric"]["domain"] for r in results) == ["mon.example.test", "www.mon.example.test"]  # type: ignore[index]
    assert (folder(served, "targets") / "ansible-deploy-probe-mon.json").stat().st_mode & 0o777 == 0o644
    metrics = (folder(served, "textfile") / "ansible-deploy.prom").read_text()
    assert 'ansible_deploy_last_run_success{app="mon",phase="post-deploy"} 1' in metrics
    assert 'ansible_deploy_health_success{app="mon"} 1' in metrics
    assert 'ansible_deploy_certificate_expiry_timestamp_seconds{app="mon"}' in metrics


def test_a_second_push_leaves_every_generated_file_unchanged(served: Sandbox, tmp_path: Path) -> None:
    src = make_app(tmp_path, "still", ["still.example.test"])
    assert served.push("still", src).returncode == 0
    files = [
        *folder(served, "targets").glob("*still*"),
        *folder(served, "rules").iterdir(),
        *folder(served, "textfile").iterdir(),
    ]
    before = {p: (p.stat().st_mtime_ns, p.read_bytes()) for p in files}
    (src / "app.py").write_text((src / "app.py").read_text() + "\n# code only\n")
    assert served.push("still", src).returncode == 0
    assert {p: (p.stat().st_mtime_ns, p.read_bytes()) for p in files} == before


def test_the_metrics_path_becomes_a_scrape_target(served: Sandbox, tmp_path: Path) -> None:
    src = make_app(tmp_path, "scraped", ["scraped.example.test"])
    edit_env(src, monitoring={"healthcheck": "/healthz", "metrics": "/metrics"})
    assert served.push("scraped", src).returncode == 0
    targets = (folder(served, "targets") / "ansible-deploy-metrics-scraped.json").read_text()
    assert '"__metrics_path__": "/metrics"' in targets and '"scraped.example.test:443"' in targets


def test_rename_moves_the_targets_and_destroy_removes_them(served: Sandbox, tmp_path: Path) -> None:
    assert served.push("old", make_app(tmp_path, "old", ["old.example.test"])).returncode == 0
    result = served.dokku("apps:rename", "--skip-deploy", "old", "new")
    assert result.returncode == 0, output(result)
    assert not (folder(served, "targets") / "ansible-deploy-probe-old.json").exists()
    moved = folder(served, "targets") / "ansible-deploy-probe-new.json"
    assert '"app": "new"' in moved.read_text()
    assert served.dokku("--force", "apps:destroy", "new").returncode == 0
    assert not moved.exists()
    assert 'app="new"' not in (folder(served, "textfile") / "ansible-deploy.prom").read_text()


RULE_TESTS = """rule_files: ["{rules}"]
evaluation_interval: 1m
tests:
  - interval: 1m
    input_series:
      - series: 'ansible_deploy_certificate_expiry_timestamp_seconds{{app="web"}}'
        values: '{soon}x10'
      - series: 'ansible_deploy_last_backup_timestamp_seconds{{app="db"}}'
        values: '0x10'
      - series: 'ansible_deploy_backup_max_age_seconds{{app="db"}}'
        values: '60x10'
      - series: 'probe_success{{app="down",domain="down.example.test"}}'
        values: '0x10'
    alert_rule_test:
      - eval_time: 5m
        alertname: AnsibleDeployCertificateExpiring
        exp_alerts:
          - exp_labels: {{severity: warning, app: web}}
            exp_annotations: {{summary: "The certificate of web expires within 14 days"}}
      - eval_time: 5m
        alertname: AnsibleDeployBackupStale
        exp_alerts:
          - exp_labels: {{severity: warning, app: db}}
            exp_annotations: {{summary: "The last backup of db is older than its schedule allows"}}
      - eval_time: 5m
        alertname: AnsibleDeployProbeFailing
        exp_alerts:
          - exp_labels: {{severity: critical, app: down, domain: down.example.test}}
            exp_annotations: {{summary: "down does not answer its health check on down.example.test"}}
"""


def test_the_alert_rules_fire_on_matching_metrics(served: Sandbox, tmp_path: Path) -> None:
    rules = folder(served, "rules") / "ansible-deploy.rules.yml"
    if not rules.exists():
        assert served.push("rules", make_app(tmp_path, "rules", ["rules.example.test"])).returncode == 0
    test_file = tmp_path / "rules-test.yml"
    test_file.write_text(RULE_TESTS.format(rules=rules, soon=86400 * 3))
    result = subprocess.run(["promtool", "test", "rules", str(test_file)], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
