"""ansible-deploy:drill <app> [<backup>]"""

from __future__ import annotations

from ansible_dokku_deploy import backups
from ansible_dokku_deploy.dokku import Dokku
from ansible_dokku_deploy.errors import DeployError, UsageError

USAGE = "<app> [<backup>]"
DESCRIPTION = "Restores a backup (the newest by default) into a scratch database to check it and then drops the copy"


def main(args: list[str]) -> None:
    if len(args) not in (1, 2):
        raise UsageError("Please specify an app", hint=f"Usage: dokku ansible-deploy:drill {USAGE}")
    dokku = Dokku.from_environ()
    app = dokku.require_app(args[0])
    if not backups.drill(dokku, app, args[1] if len(args) == 2 else ""):  # noqa: PLR2004
        raise DeployError("the restore drill failed", hint=f"See: dokku ansible-deploy:logs {app}")
