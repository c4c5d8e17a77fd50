"""ansible-deploy:history <app> [--format stdout|json]"""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Any

from ansible_dokku_deploy import output
from ansible_dokku_deploy.commands import take_format
from ansible_dokku_deploy.dokku import Dokku
from ansible_dokku_deploy.errors import UsageError
from ansible_dokku_deploy.history import History, Run

USAGE = "<app> [--format stdout|json]"
DESCRIPTION = "Lists the app's past runs: id phase rev release start duration status and changed count"
COLUMNS = ("id", "phase", "rev", "release", "started", "duration", "status", "changed")


def document(run: Run) -> dict[str, Any]:
    """A run as `--format json` gives it: its record, the failure message redacted like every output."""
    return {**asdict(run), "duration": round(run.duration, 3), "message": output.redact(run.message)}


def main(args: list[str]) -> None:
    fmt, args = take_format(args)
    if len(args) != 1:
        raise UsageError("Please specify one app", hint=f"Usage: dokku ansible-deploy:history {USAGE}")
    dokku = Dokku.from_environ()
    app = dokku.require_app(args[0])
    runs = History(dokku.data_dir(app)).runs()
    if fmt == "json":
        output.plain(json.dumps([document(r) for r in runs]))
        return
    output.header(f"{app} ansible-deploy runs")
    rows = [COLUMNS] + [
        (
            r.id,
            r.phase + (" (check)" if r.check else ""),
            r.rev[:12] or "-",
            r.release or "-",
            r.started_iso,
            f"{r.duration:.1f}s",
            r.status,
            str(r.changed),
        )
        for r in runs
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(len(COLUMNS))]
    for row in rows:
        output.detail("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())
    if not runs:
        output.detail("no runs yet")
