"""ansible-deploy:renew (<app>|--all)"""

from __future__ import annotations

from ansible_dokku_deploy import output
from ansible_dokku_deploy.dokku import Dokku
from ansible_dokku_deploy.errors import DeployError, UsageError
from ansible_dokku_deploy.phases import run_phase
from ansible_dokku_deploy.staging import Staging
from ansible_dokku_deploy.state import Phase

USAGE = "(<app>|--all)"
DESCRIPTION = "Renews the TLS certificates that are within acme-renew-days of expiry (the daily cron job runs --all)"


def main(args: list[str]) -> None:
    if len(args) != 1:
        raise UsageError("Please specify an app or --all", hint=f"Usage: dokku ansible-deploy:renew {USAGE}")
    dokku = Dokku.from_environ()
    apps = dokku.apps() if args[0] == "--all" else [dokku.require_app(args[0])]
    failed = []
    for app in apps:
        if Staging(dokku.data_dir(app)).current() is None:
            continue
        try:
            run_phase(dokku, app, Phase.RENEW, force=True)
        except DeployError as exc:  # one app's CA trouble must not stop the others' renewals
            output.warn(f"{app}: {exc.message}")
            failed.append(app)
    if failed:
        raise DeployError(f"renewal failed for {', '.join(failed)}", hint="See: dokku ansible-deploy:logs APP")
