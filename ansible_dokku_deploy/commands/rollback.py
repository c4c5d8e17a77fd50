"""ansible-deploy:rollback <app> [<run-id>]"""

from __future__ import annotations

from ansible_dokku_deploy import output, rollback
from ansible_dokku_deploy.dokku import Dokku
from ansible_dokku_deploy.errors import UsageError
from ansible_dokku_deploy.lock import dokku_deploy_lock

USAGE = "<app> [<run-id>]"
DESCRIPTION = "Re-applies the packaging of an earlier release (or of a successful run) without a push; not the data"


def main(args: list[str]) -> None:
    if len(args) not in (1, 2):
        raise UsageError("Please specify an app", hint=f"Usage: dokku ansible-deploy:rollback {USAGE}")
    dokku = Dokku.from_environ()
    app = dokku.require_app(args[0])
    release = rollback.chosen_release(dokku, app, args[1] if len(args) > 1 else None)
    output.step(f"ansible-deploy: rolling {app} back to release {release.id} (rev {release.rev[:12] or 'none'})")
    with dokku_deploy_lock(dokku.deploy_lock(app), app):
        rollback.reapply(dokku, app, release)
    dokku.release_and_deploy(app)  # the settings reach the containers; post-deploy and the health check run for them
    output.detail(rollback.NOT_THE_DATA.format(app=app))
