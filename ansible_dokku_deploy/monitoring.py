"""Prometheus files the plugin owns outside Ansible runs: the apps' metrics (textfile collector), renames, removals.

Target files: $monitoring-targets-dir/ansible-deploy-(probe|metrics)-APP.json (written by the monitoring role).
Metrics: $monitoring-textfile-dir/ansible-deploy.prom, rewritten atomically after every run and health check.
"""

from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path

from ansible_dokku_deploy import cron, health
from ansible_dokku_deploy.dokku import Dokku
from ansible_dokku_deploy.history import SUCCEEDED, History, backup_records
from ansible_dokku_deploy.settings import GLOBAL, Store
from ansible_dokku_deploy.state import State

KINDS = ("probe", "metrics")
METRICS = {
    "ansible_deploy_last_run_success": "1 if the app's last ansible-deploy run succeeded, 0 if it failed.",
    "ansible_deploy_last_run_timestamp_seconds": "When the app's last ansible-deploy run started.",
    "ansible_deploy_last_run_duration_seconds": "How long the app's last ansible-deploy run took.",
    "ansible_deploy_health_success": "1 if the app's last post-deploy health check passed, 0 if it failed.",
    "ansible_deploy_certificate_expiry_timestamp_seconds": "When the app's TLS certificate expires.",
    "ansible_deploy_last_backup_timestamp_seconds": "When the app's last complete backup was taken.",
    "ansible_deploy_last_backup_size_bytes": "How much the app's last complete backup restores.",
    "ansible_deploy_last_backup_success": "1 if the app's last backup attempt succeeded, 0 if it failed.",
    "ansible_deploy_backup_max_age_seconds": "How old the last backup may be before the schedule is overdue.",
    "ansible_deploy_last_drill_success": "1 if the app's last restore drill succeeded, 0 if it failed.",
    "ansible_deploy_last_drill_timestamp_seconds": "When the app's last restore drill ran.",
}


def target_files(dokku: Dokku, app: str) -> list[Path]:
    folder = Store(dokku).get(GLOBAL, "monitoring-targets-dir")
    return [Path(folder) / f"ansible-deploy-{kind}-{app}.json" for kind in KINDS] if folder else []


def forget(dokku: Dokku, app: str) -> None:
    """apps:destroy: Prometheus stops probing the app."""
    for path in target_files(dokku, app):
        path.unlink(missing_ok=True)
    write_metrics(dokku, skip=app)


def rename(dokku: Dokku, old: str, new: str) -> None:
    """apps:rename: the same targets under the new name, labelled with it."""
    for old_path, new_path in zip(target_files(dokku, old), target_files(dokku, new), strict=True):
        if old_path.exists():
            groups = json.loads(old_path.read_text())
            for group in groups:
                group.setdefault("labels", {})["app"] = new
            _write(new_path, json.dumps(groups, indent=2, sort_keys=True) + "\n")
            old_path.unlink()


def _write(path: Path, text: str) -> None:
    """Atomically (Prometheus never reads half a file), and only when the content changes."""
    if path.exists() and path.read_text() == text:
        return
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text)
    tmp.chmod(0o644)  # read by Prometheus and node_exporter
    tmp.replace(path)


def _certificate_expiry(dokku: Dokku, app: str) -> float | None:
    """The certificate's notAfter, remembered beside it per version of the file (parsing it imports a library
    that costs a deploy hook more than everything else it does)."""
    path = dokku.data_dir(app) / "tls" / "server.crt"
    try:
        seen = path.stat()
    except FileNotFoundError:
        return None
    memo, version = path.with_name(".server.crt.expiry"), f"{seen.st_mtime_ns}:{seen.st_size}"
    with contextlib.suppress(OSError, ValueError):
        remembered, _, value = memo.read_text().partition(" ")
        if remembered == version:
            return float(value)
    from cryptography import x509  # noqa: PLC0415  # see above

    expiry = x509.load_pem_x509_certificate(path.read_bytes()).not_valid_after_utc.timestamp()
    with contextlib.suppress(OSError):  # a reader without write access just parses it again next time
        memo.write_text(f"{version} {expiry}")
    return expiry


def _backup_samples(dokku: Dokku, app: str) -> dict[str, str]:
    done = backup_records(dokku.data_dir(app))
    samples = {}
    if "backup" in done:
        samples["ansible_deploy_last_backup_timestamp_seconds"] = f"{done['backup']['time']:.0f}"
        samples["ansible_deploy_last_backup_size_bytes"] = str(done["backup"]["size"])
    if "attempt" in done:
        samples["ansible_deploy_last_backup_success"] = str(int(done["attempt"]["result"] == "succeeded"))
    schedule = State.load(dokku.data_dir(app)).backups.get("schedule")
    if schedule:
        samples["ansible_deploy_backup_max_age_seconds"] = str(cron.max_age(schedule))
    if "drill" in done:
        samples["ansible_deploy_last_drill_success"] = str(int(done["drill"]["result"] == "succeeded"))
        samples["ansible_deploy_last_drill_timestamp_seconds"] = f"{done['drill']['time']:.0f}"
    return samples


def write_metrics(dokku: Dokku, *, skip: str = "") -> None:
    """Every app's last run, health, certificate, backup and drill as node_exporter textfile metrics (when a dir
    is configured)."""
    folder = Store(dokku).get(GLOBAL, "monitoring-textfile-dir")
    if not folder:
        return
    samples: dict[str, list[str]] = {name: [] for name in METRICS}
    for app in dokku.apps():
        if app == skip or not dokku.data_dir(app).exists():
            continue
        label = f'app="{app}"'
        run = History(dokku.data_dir(app)).last()
        if run is not None:
            samples["ansible_deploy_last_run_success"].append(
                f'{{{label},phase="{run.phase}"}} {int(run.status == SUCCEEDED)}'
            )
            samples["ansible_deploy_last_run_timestamp_seconds"].append(f"{{{label}}} {run.started_at:.0f}")
            samples["ansible_deploy_last_run_duration_seconds"].append(f"{{{label}}} {run.duration:.3f}")
        checked = health.last(dokku, app)
        if checked:
            samples["ansible_deploy_health_success"].append(f"{{{label}}} {int(checked['result'] == 'succeeded')}")
        expiry = _certificate_expiry(dokku, app)
        if expiry is not None:
            samples["ansible_deploy_certificate_expiry_timestamp_seconds"].append(f"{{{label}}} {expiry:.0f}")
        for name, value in _backup_samples(dokku, app).items():
            samples[name].append(f"{{{label}}} {value}")
    lines = []
    for name, help_text in METRICS.items():
        lines += [f"# HELP {name} {help_text}", f"# TYPE {name} gauge", *(f"{name}{s}" for s in samples[name])]
    _write(Path(folder) / "ansible-deploy.prom", "\n".join(lines) + "\n")
