"""ansible-deploy:run <app> [--check] [--phase pre-deploy|post-deploy]"""

from __future__ import annotations

from ansible_dokku_deploy import output
from ansible_dokku_deploy.dokku import Dokku
from ansible_dokku_deploy.errors import DeployError, UsageError
from ansible_dokku_deploy.lock import dokku_deploy_lock
from ansible_dokku_deploy.phases import run_phase
from ansible_dokku_deploy.plan import PHASES
from ansible_dokku_deploy.staging import Staging

USAGE = "<app> [--check] [--phase pre-deploy|post-deploy]"
DESCRIPTION = "Provision an app again from its staged packaging, without a push (--check: show what would change)"


def main(args: list[str]) -> None:
    check = "--check" in args
    rest = [a for a in args if a != "--check"]
    phases: tuple[str, ...] = PHASES
    if "--phase" in rest:
        i = rest.index("--phase")
        if i + 1 >= len(rest) or rest[i + 1] not in PHASES:
            raise UsageError("--phase expects pre-deploy or post-deploy")
        phases = (rest[i + 1],)
        del rest[i : i + 2]
    if len(rest) != 1:
        raise UsageError("Please specify one app", hint=f"Usage: dokku ansible-deploy:run {USAGE}")
    dokku = Dokku.from_environ()
    app = dokku.require_app(rest[0])
    if Staging(dokku.data_dir(app)).current() is None:
        raise DeployError(
            f"{app} has no staged packaging", hint="Push the app with an env.yml first: git push dokku main"
        )
    with dokku_deploy_lock(dokku.deploy_lock(app), app):
        for phase in phases:
            run_phase(dokku, app, phase, force=True, check=check)
    if check:
        output.step("Check mode: nothing was changed")
