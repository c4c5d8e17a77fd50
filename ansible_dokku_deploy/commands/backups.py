"""ansible-deploy:backups <app> [--format stdout|json]"""

from __future__ import annotations

import json
import time

from ansible_dokku_deploy import backups, output
from ansible_dokku_deploy.commands import take_format
from ansible_dokku_deploy.dokku import Dokku
from ansible_dokku_deploy.errors import UsageError

USAGE = "<app> [--format stdout|json]"
DESCRIPTION = "Lists the app's backups in the repository (newest first) with their size and age and release"


def age(seconds: float) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{int(seconds // size)}{unit}"
    return f"{int(seconds)}s"


def main(args: list[str]) -> None:
    fmt, args = take_format(args)
    if len(args) != 1:
        raise UsageError("Please specify one app", hint=f"Usage: dokku ansible-deploy:backups {USAGE}")
    dokku = Dokku.from_environ()
    app = dokku.require_app(args[0])
    if fmt == "json":
        output.progress_to_stderr()  # a move of older backups into the repository says so, off the document
    repo = backups.repository(dokku, app)
    found = backups.listing(dokku, app, repo)
    if fmt == "json":
        output.plain(
            json.dumps([
                {"id": b.id, "created": b.created, "size": b.size, "release": b.release, "snapshots": b.snapshots,
                 "repository": repo.location}
                for b in found
            ])
        )  # fmt: skip
        return
    output.header(f"{app} backups in {repo.location}")
    if not found:
        output.plain("       (none)")
        return
    now = time.time()
    width = max(len(b.id) for b in found)
    output.plain(f"{'backup'.ljust(width)}  {'size':>9}  {'age':>4}  release")
    for b in found:
        size = backups.human_size(b.size) if b.size else "?"
        output.plain(f"{b.id.ljust(width)}  {size:>9}  {age(now - b.created):>4}  {b.release}")
