"""Backups of an app's database and storage folders: taking, listing, pruning, restoring, and the restore drill.

Each backup is a folder BACKUP_DIR/APP/APP-YYYYMMDDTHHMMSSZ (0700) holding the database dump, the row counts at
dump time (database.json) and one archive per storage folder. It is written under a hidden `.partial-` name and
renamed when complete, so a failed backup never counts as one and never makes an older good one go.
"""

from __future__ import annotations

import itertools
import json
import os
import re
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ansible_dokku_deploy import monitoring, output
from ansible_dokku_deploy.dokku import Dokku
from ansible_dokku_deploy.errors import DeployError
from ansible_dokku_deploy.phases import run_phase
from ansible_dokku_deploy.resolve import packaging_for
from ansible_dokku_deploy.settings import GLOBAL, Store
from ansible_dokku_deploy.staging import Staging, secure_dir, write_private
from ansible_dokku_deploy.state import BACKUP, DRILL, RESTORE, State

DEFAULT_KEEP = 7
CRON = re.compile(r" *[0-9A-Za-z*,/-]+( +[0-9A-Za-z*,/-]+){4} *")  # as the packaging schema's $defs/cron
RECORD = "backups.json"  # in the app's data dir: the last backup and the last drill


@dataclass(frozen=True)
class Backup:
    id: str
    path: Path
    created: float
    size: int


def root(dokku: Dokku, app: str) -> Path:
    return Path(Store(dokku).get(GLOBAL, "backup-dir") or dokku.data_root / ".backups") / app


def listing(dokku: Dokku, app: str) -> list[Backup]:
    """Complete backups, newest first."""
    folder = root(dokku, app)
    if not folder.is_dir():
        return []
    found = []
    for path in folder.iterdir():
        if not path.name.startswith(".") and path.is_dir():  # named after the app when taken (renames keep ids)
            size = sum(f.stat().st_size for f in path.iterdir() if f.is_file())
            found.append(Backup(path.name, path, path.stat().st_mtime, size))
    return sorted(found, key=lambda b: b.id, reverse=True)


def find(dokku: Dokku, app: str, backup_id: str) -> Backup:
    for backup in listing(dokku, app):
        if backup.id == backup_id:
            return backup
    raise DeployError(f"{app} has no backup {backup_id}", hint=f"List them with: dokku ansible-deploy:backups {app}")


def _keep(dokku: Dokku, app: str) -> int:
    return int(State.load(dokku.data_dir(app)).backups.get("keep", DEFAULT_KEEP))


def records(dokku: Dokku, app: str) -> dict[str, Any]:
    try:
        return dict(json.loads((dokku.data_dir(app) / RECORD).read_text()))
    except (FileNotFoundError, ValueError):
        return {}


def _record(dokku: Dokku, app: str, key: str, value: dict[str, Any]) -> None:
    data = {**records(dokku, app), key: value}
    write_private(dokku.data_dir(app) / RECORD, json.dumps(data, sort_keys=True).encode())
    monitoring.write_metrics(dokku)


def _require_something(dokku: Dokku, app: str) -> None:
    release = Staging(dokku.data_dir(app)).current()
    if release is None:
        raise DeployError(f"{app} has no staged packaging", hint="Push the app with an env.yml first.")
    spec = packaging_for(dokku, app, release.path).spec
    if not spec.get("database") and not spec.get("storage"):
        raise DeployError(
            f"{app} has nothing to back up: its env.yml declares no database and no storage",
            hint="Add `database:` or `storage:` to env.yml.",
        )


def take(dokku: Dokku, app: str, *, prune: bool = True) -> Backup:
    """A new complete backup (or a DeployError, with nothing left behind); then keep only the newest `keep`."""
    _require_something(dokku, app)
    folder = root(dokku, app)
    secure_dir(folder)
    backup_id = f"{app}-{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())}"
    while (folder / backup_id).exists():  # two backups within a second
        time.sleep(1)
        backup_id = f"{app}-{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())}"
    partial = folder / f".partial-{backup_id}"
    partial.mkdir(mode=0o700)
    try:
        run_phase(dokku, app, BACKUP, force=True, inputs={"dir": str(partial)})
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    partial.rename(folder / backup_id)
    backup = find(dokku, app, backup_id)
    _record(dokku, app, "backup", {"id": backup.id, "time": backup.created, "size": backup.size})
    output.step(f"ansible-deploy: backup {backup.id} of {app} written ({human_size(backup.size)})")
    if prune:
        prune_old(dokku, app)
    return backup


def prune_old(dokku: Dokku, app: str, *, protect: str = "") -> None:
    """Keep the newest `keep` complete backups (and the one being restored); remove leftovers of failed ones."""
    keep = _keep(dokku, app)
    for backup in listing(dokku, app)[keep:]:
        if backup.id != protect:
            shutil.rmtree(backup.path)
            output.step(f"ansible-deploy: removed backup {backup.id} (keeping the newest {keep})")
    for partial in root(dokku, app).glob(".partial-*"):
        shutil.rmtree(partial, ignore_errors=True)


def restore(dokku: Dokku, app: str, backup_id: str) -> None:
    backup = find(dokku, app, backup_id)
    output.step(f"ansible-deploy: taking a safety backup of {app} before the restore")
    safety = take(dokku, app, prune=False)
    run_phase(dokku, app, RESTORE, force=True, inputs={"dir": str(backup.path)})
    output.step(f"ansible-deploy: {app} restored from {backup.id} (the state before is in {safety.id})")
    prune_old(dokku, app, protect=backup.id)


def drill(dokku: Dokku, app: str, backup_id: str = "") -> bool:
    """Restore a backup (the newest by default) into a scratch copy and compare; record and return the result."""
    backups = listing(dokku, app)
    if not backups:
        raise DeployError(f"{app} has no backup to drill", hint=f"Take one: dokku ansible-deploy:backup {app}")
    backup = find(dokku, app, backup_id) if backup_id else backups[0]
    started = time.time()
    try:
        run_phase(dokku, app, DRILL, force=True, inputs={"dir": str(backup.path)})
    except DeployError as exc:
        _record(dokku, app, "drill", {"backup": backup.id, "time": started, "result": "failed", "message": exc.message})
        output.warn(f"The restore drill of {backup.id} failed: {exc.message}")
        return False
    _record(dokku, app, "drill", {"backup": backup.id, "time": started, "result": "succeeded"})
    output.step(f"ansible-deploy: restore drill of {backup.id} succeeded")
    return True


def human_size(size: int) -> str:
    value = float(size)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":  # noqa: PLR2004
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{size} B"


def cron_lines(dokku: Dokku) -> list[str]:
    """`SCHEDULE;COMMAND;LOGFILE` for each app whose env.yml asks for scheduled backups (Dokku's cron-entries)."""
    logs = os.environ.get("DOKKU_LOGS_DIR", "/var/log/dokku")
    lines = []
    store = Store(dokku)
    for app in dokku.apps():
        schedule = State.load(dokku.data_dir(app)).backups.get("schedule")
        if schedule and CRON.fullmatch(schedule):  # validated at push; checked again: it goes into a crontab
            drill_flag = " --drill" if store.computed(app, "backup-drill") == "true" else ""
            lines.append(f"{schedule};dokku ansible-deploy:backup {app}{drill_flag};{logs}/ansible-deploy-backup.log")
    return lines


def max_age(schedule: str) -> int:
    """Seconds a backup may be old before the next scheduled one is overdue: the schedule's longest gap + 1 h."""
    minute, hour, dom, month, dow = schedule.split()
    if dom != "*" or month != "*":
        gap = 31 * 86400
    elif dow != "*":
        gap = 7 * 86400
    elif hour != "*":
        gap = _longest_gap(hour, 24) * 3600
    else:
        gap = _longest_gap(minute, 60) * 60
    return gap + 3600


def _longest_gap(field: str, period: int) -> int:
    """The longest wait between two runs in one cron field (e.g. '*/15' in minutes: 15; '3' in hours: 24)."""
    values: set[int] = set()
    for part in field.split(","):
        rng, _, step = part.partition("/")
        if rng == "*":
            lo, hi = 0, period - 1
        elif re.fullmatch(r"\d+-\d+", rng):
            lo, hi = (int(x) for x in rng.split("-", 1))
        elif rng.isdigit():
            lo = hi = int(rng)
            if step:
                hi = period - 1
        else:
            return period
        if step and (not step.isdigit() or int(step) == 0):
            return period
        values.update(range(lo, hi + 1, int(step) if step else 1))
    ordered = sorted(v for v in values if 0 <= v < period) or [0]
    gaps = [b - a for a, b in itertools.pairwise(ordered)] + [ordered[0] + period - ordered[-1]]
    return max(gaps)
