"""ansible-deploy:backup <app> [--drill]"""

from __future__ import annotations

from ansible_dokku_deploy import backups
from ansible_dokku_deploy.dokku import Dokku
from ansible_dokku_deploy.errors import DeployError, UsageError

USAGE = "<app> [--drill]"
DESCRIPTION = "Backs up the app's database and storage folders now (--drill: then prove the backup restores)"


def main(args: list[str]) -> None:
    drill = "--drill" in args
    rest = [a for a in args if a != "--drill"]
    if len(rest) != 1:
        raise UsageError("Please specify one app", hint=f"Usage: dokku ansible-deploy:backup {USAGE}")
    dokku = Dokku.from_environ()
    app = dokku.require_app(rest[0])
    backup = backups.take(dokku, app)
    if drill and not backups.drill(dokku, app, backup.id, taken=backup):
        raise DeployError(
            f"the backup {backup.id} was written, but its restore drill failed",
            hint=f"See: dokku ansible-deploy:logs {app}",
        )
