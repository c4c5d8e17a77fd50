"""ansible-deploy:restore <app> <backup> [--force]"""

from __future__ import annotations

import sys

from ansible_dokku_deploy import backups, output
from ansible_dokku_deploy.dokku import Dokku
from ansible_dokku_deploy.errors import DeployError, UsageError
from ansible_dokku_deploy.lock import dokku_deploy_lock

USAGE = "<app> <backup> [--force]"
DESCRIPTION = "Restores the app's database and storage folders from a backup after taking a safety backup"


def main(args: list[str]) -> None:
    force = "--force" in args or "-f" in args
    rest = [a for a in args if a not in ("--force", "-f")]
    if len(rest) != 2:  # noqa: PLR2004
        raise UsageError("Please specify an app and a backup", hint=f"Usage: dokku ansible-deploy:restore {USAGE}")
    dokku = Dokku.from_environ()
    app = dokku.require_app(rest[0])
    backup = backups.find(dokku, app, rest[1])
    if not force:
        output.warn("WARNING: Potentially Destructive Action")
        output.warn(f"This command replaces {app}'s database tables and storage folders by those of {backup.id}.")
        output.warn(f'To proceed, type "{app}"')
        answer = sys.stdin.readline().strip()
        if answer != app:
            raise DeployError(f"Confirmation did not match {app}. Aborted.")
    with dokku_deploy_lock(dokku.deploy_lock(app), app):
        backups.restore(dokku, app, backup.id)
