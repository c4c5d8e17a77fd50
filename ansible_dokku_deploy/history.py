"""One record (JSON) and one log per run, under $DATA/APP/runs/, pruned to keep-runs; and the app's backup
results (the last backup, attempt and drill, the sizes known), in $DATA/APP/backups.json."""

from __future__ import annotations

import json
import os
import secrets
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from ansible_dokku_deploy.outbox import OUTBOX
from ansible_dokku_deploy.staging import secure_dir, write_private

RUNNING, SUCCEEDED, FAILED = "running", "succeeded", "failed"
BACKUP_RECORDS = "backups.json"


@dataclass(frozen=True)
class Run:
    id: str
    app: str
    phase: str
    rev: str
    started_at: float
    status: str = RUNNING
    finished_at: float | None = None
    changed: int = 0
    check: bool = False
    failed_task: str = ""
    message: str = ""
    roles: list[str] = field(default_factory=list)
    release: str = ""  # the staged release the run applied
    timings: dict[str, float] = field(default_factory=dict)  # seconds (runner._Progress): ansible-start, role:NAME, ...

    @property
    def duration(self) -> float:
        return (self.finished_at or time.time()) - self.started_at

    @property
    def started_iso(self) -> str:
        return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(self.started_at))


@dataclass(frozen=True)
class History:
    data_dir: Path

    @property
    def runs_dir(self) -> Path:
        return self.data_dir / "runs"

    def log_path(self, run_id: str) -> Path:
        return self.runs_dir / f"{run_id}.log"

    def start(self, app: str, phase: str, rev: str, *, check: bool, roles: list[str], release: str = "") -> Run:
        secure_dir(self.runs_dir)
        now = time.time()
        run_id = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(now)) + "-" + secrets.token_hex(2)
        run = Run(id=run_id, app=app, phase=phase, rev=rev, started_at=now, check=check, roles=roles, release=release)
        self.save(run)
        return run

    def save(self, run: Run) -> None:
        write_private(self.runs_dir / f"{run.id}.json", json.dumps(asdict(run)).encode())

    def finish(
        self,
        run: Run,
        *,
        status: str,
        changed: int,
        failed_task: str = "",
        message: str = "",
        timings: dict[str, float] | None = None,
    ) -> Run:
        """The run's result, recorded and posted for the notifications."""
        done = replace(
            run,
            status=status,
            finished_at=time.time(),
            changed=changed,
            failed_task=failed_task,
            message=message,
            timings=timings or {},
        )
        self.save(done)
        OUTBOX.post_run(done)
        return done

    def runs(self) -> list[Run]:
        """All runs, oldest first."""
        if not self.runs_dir.is_dir():
            return []
        out = []
        for path in sorted(self.runs_dir.glob("*.json")):
            try:
                out.append(Run(**json.loads(path.read_text())))
            except (ValueError, TypeError):
                continue  # a record cut short by a crash is skipped, not fatal
        return out

    def get(self, run_id: str) -> Run | None:
        return next((r for r in self.runs() if r.id == run_id), None)

    def last(self, *, include_check: bool = False) -> Run | None:
        runs = [r for r in self.runs() if include_check or not r.check]
        return runs[-1] if runs else None

    def close_interrupted(self) -> bool:
        """Mark runs left 'running' by a killed process as failed (whether there were any); called with the app
        lock held."""
        interrupted = [run for run in self.runs() if run.status == RUNNING]
        for run in interrupted:
            # saved, not posted: the process that ran it was to tell, and the next run's result is what people hear
            message = "interrupted: the run's process was killed"
            self.save(replace(run, status=FAILED, finished_at=time.time(), message=message))
        return bool(interrupted)

    def prune(self, keep: int) -> None:
        for run in self.runs()[:-keep]:
            for path in (self.runs_dir / f"{run.id}.json", self.log_path(run.id)):
                path.unlink(missing_ok=True)

    def open_log(self, run_id: str) -> int:
        return os.open(self.log_path(run_id), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)


def backup_records(data_dir: Path) -> dict[str, Any]:
    try:
        return dict(json.loads((data_dir / BACKUP_RECORDS).read_text()))
    except (FileNotFoundError, ValueError):
        return {}


def record_backups(data_dir: Path, **values: Any) -> None:  # JSON values
    data = {**backup_records(data_dir), **values}
    write_private(data_dir / BACKUP_RECORDS, json.dumps(data, sort_keys=True).encode())
    OUTBOX.post_metrics()
