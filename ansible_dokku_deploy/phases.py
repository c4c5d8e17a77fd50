"""Runs a provisioning phase for an app from its staged packaging: plan, skip-if-unchanged, lock, Ansible, record."""

from __future__ import annotations

import os

from ansible_dokku_deploy import output
from ansible_dokku_deploy.dokku import Dokku
from ansible_dokku_deploy.errors import ProvisioningError
from ansible_dokku_deploy.history import FAILED, SUCCEEDED, History
from ansible_dokku_deploy.lock import app_lock
from ansible_dokku_deploy.packaging import validate_tree
from ansible_dokku_deploy.plan import POST_DEPLOY, State, make_plan
from ansible_dokku_deploy.settings import Store
from ansible_dokku_deploy.staging import Staging


def run_phase(dokku: Dokku, app: str, phase: str, *, force: bool = False, check: bool = False) -> None:
    """Provision one phase; says so and returns early when the app has no staged packaging or nothing changed."""
    data_dir = dokku.data_dir(app)
    release = Staging(data_dir).current()
    if release is None:
        return
    store = Store(dokku)
    packaging = validate_tree(release.path, check_nginx=False)
    with app_lock(data_dir, app, store.computed_int(app, "lock-timeout")):
        history = History(data_dir)
        history.close_interrupted()
        state = State.load(data_dir)
        plan = make_plan(dokku, app, phase, release=release, packaging=packaging, state=state)
        if phase == POST_DEPLOY and packaging.spec.get("tls") == "acme" and "tls" not in plan.roles:
            output.warn(f"{app} asks for tls: acme, but this server has no ACME directory: serving plain HTTP")
            output.warn("The admin sets one with: dokku ansible-deploy:set --global acme-directory URL")
        if not plan.roles:
            output.step(f"ansible-deploy: nothing to provision in {phase} for {app}")
            return
        if not force and not check and state.unchanged(plan):
            output.step(f"ansible-deploy: {phase} for {app} is unchanged since the last successful run; skipping")
            return
        mode = " (check mode: nothing is changed)" if check else ""
        output.step(f"ansible-deploy: {phase} for {app}: {', '.join(plan.roles)}{mode}")
        run = history.start(app, phase, release.rev, check=check, roles=list(plan.roles))
        from ansible_dokku_deploy.runner import run_playbook  # noqa: PLC0415  # imports ansible_runner

        log_fd = history.open_log(run.id)
        try:
            outcome = run_playbook(
                plan,
                work_dir=data_dir / ".work",
                log_fd=log_fd,
                check=check,
                verbosity=store.computed_int(app, "verbosity"),
            )
        finally:
            os.close(log_fd)
        run = history.finish(
            run,
            status=SUCCEEDED if outcome.succeeded else FAILED,
            changed=outcome.changed,
            failed_task=outcome.failed_task,
            message=outcome.message,
        )
        history.prune(store.computed_int(app, "keep-runs"))
        if not check:
            state.record(plan, succeeded=outcome.succeeded)
            state.save()
        if not outcome.succeeded:
            raise ProvisioningError(
                f"{phase} failed at task '{outcome.failed_task or '?'}': {outcome.message}",
                hint=f"Full log: dokku ansible-deploy:logs {app} {run.id}",
            )
        verb = "would change" if check else "changed"
        output.step(f"ansible-deploy: {phase} for {app} done in {run.duration:.1f}s, {verb} {outcome.changed}")
