"""Runs a provisioning phase for an app from its staged packaging: lock, skip-if-unchanged, plan, Ansible, record.

A phase whose inputs are settled (state.plan_inputs) skips before planning; the modules planning and running
need (the vault's cipher, the servers' settings, ansible-runner) are imported only past that. The runs recorded
go to the outbox: the entry point, not the phase, notifies and writes the metrics.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ansible_dokku_deploy import output
from ansible_dokku_deploy.dokku import Dokku
from ansible_dokku_deploy.errors import ProvisioningError
from ansible_dokku_deploy.history import FAILED, SUCCEEDED, History
from ansible_dokku_deploy.lock import app_lock
from ansible_dokku_deploy.settings import Store
from ansible_dokku_deploy.staging import Release, Staging
from ansible_dokku_deploy.state import Phase, State, plan_inputs

if TYPE_CHECKING:
    from ansible_dokku_deploy.history import Run
    from ansible_dokku_deploy.plan import Plan
    from ansible_dokku_deploy.roles import BackupRun
    from ansible_dokku_deploy.runner import Outcome

ON_FAILURE = "on-failure"


def run_phase(
    dokku: Dokku,
    app: str,
    phase: Phase,
    *,
    force: bool = False,
    check: bool = False,
    backup: BackupRun | None = None,
    record_as: str | None = None,
    builder: str = "",
    release: Release | None = None,
) -> Outcome | None:
    """Provision one phase; says so and returns early when the app has no staged packaging or nothing changed.
    Returns the Ansible run's outcome (in check mode with the changes it found), None when nothing ran.
    A phase skips only when asked for what changed: not when forced, in check mode, or for a backup, restore or
    drill (backup: that run's own inputs). record_as names the run in the history when it is not the phase's own
    name (a rollback); builder is the one that built the release being deployed (kept for the runs without a
    build); release: the one to provision instead of the staged one (a check of a tree not pushed yet)."""
    data_dir = dokku.data_dir(app)
    release = release or Staging(data_dir).current()
    if release is None:
        return None
    with app_lock(data_dir, app, Store(dokku).computed_int(app, "lock-timeout")):
        locked = _Locked(dokku, app, phase, release, State.load(data_dir), History(data_dir), label=record_as or phase)
        locked.catch_up(builder)
        may_skip = not force and not check and backup is None
        if may_skip and locked.state.settled(phase, locked.inputs_key()):
            locked.skip()
            return None
        return locked.provision(may_skip=may_skip, check=check, backup=backup)


@dataclass
class _Locked:
    """One phase of one app with the app's lock held: what it reads before planning, and the steps after."""

    dokku: Dokku
    app: str
    phase: Phase
    release: Release
    state: State
    history: History
    label: str  # the run's name in the history

    def catch_up(self, builder: str) -> None:
        """A run left running by a killed process may have changed the host part-way: no phase is settled any
        more. The builder of the release is kept for the runs without a build."""
        if self.history.close_interrupted():
            self.state.phases.clear()
            self.state.save()
        if builder and builder != self.state.builder:
            self.state.builder = builder
            self.state.save()

    def inputs_key(self, settings: str = "") -> str:
        """The phase's skip key (state.plan_inputs); settings: the settings' fingerprint as planning read them
        (empty: as they are now)."""
        settings = settings or Store(self.dokku).fingerprint(self.app)
        return plan_inputs(self.dokku, self.phase, self.release, self.state, settings)

    def skip(self) -> None:
        output.step(f"ansible-deploy: {self.phase} for {self.app} is unchanged since the last successful run; skipping")

    def provision(self, *, may_skip: bool, check: bool, backup: BackupRun | None) -> Outcome | None:
        from ansible_dokku_deploy import adoption, certificates  # noqa: PLC0415  # see the module docstring
        from ansible_dokku_deploy.claims import claim  # noqa: PLC0415
        from ansible_dokku_deploy.plan import gather, make_plan  # noqa: PLC0415
        from ansible_dokku_deploy.resolve import resolve  # noqa: PLC0415
        from ansible_dokku_deploy.runner import PLAYBOOK  # noqa: PLC0415

        app, phase, state = self.app, self.phase, self.state
        acts_on_domains = phase in (Phase.PRE_DEPLOY, Phase.POST_DEPLOY, Phase.RENEW)  # records, certificates
        resolved = resolve(self.dokku, app, self.release.path, check_nginx=False, check_domains=acts_on_domains)
        if phase == Phase.PRE_DEPLOY:  # the names a first provisioning takes: refused when they exist, then recorded
            claim(self.dokku, app, resolved.packaging.spec, state, record=not check)
        certificates.check(self.dokku, app, phase, resolved.packaging)  # another's is kept: refused before anything
        adoption.check(
            self.dokku,
            app,
            phase,
            resolved.packaging,
            state,
            https=certificates.https(self.dokku, app, resolved.packaging),
        )
        gathered = gather(self.dokku, app, phase, release=self.release, resolved=resolved, state=state, backup=backup)
        settings = Store(self.dokku).fingerprint(app)  # as planned from: after gather, which may make a password
        plan = make_plan(gathered)
        plain_http = (
            phase == Phase.POST_DEPLOY and resolved.packaging.spec.get("tls") == "acme" and "tls" not in plan.roles
        )
        if plain_http:
            output.warn(f"{app} asks for tls: acme, but this server has no ACME directory: serving plain HTTP")
            output.warn("The admin sets one with: dokku ansible-deploy:set --global acme-directory URL")
        if not plan.roles and not plan.steps:
            output.step(f"ansible-deploy: nothing to provision in {phase} for {app}")
            return None
        if may_skip and state.unchanged(plan):
            if not plain_http:  # the warning is said on every deploy: no fast path past it
                state.settle(phase, self.inputs_key(settings))
                state.save()
            self.skip()
            return None
        mode = " (check mode: nothing is changed)" if check else ""
        parts = [*plan.roles, *(f"step {Path(s).name}" for s in plan.steps)]
        output.step(f"ansible-deploy: {self.label} for {app}: {', '.join(parts)}{mode}")
        playbooks = ([str(PLAYBOOK)] if plan.roles else []) + list(plan.steps)
        run, outcome = self._run(plan, self.label, playbooks, check=check)
        if not check:
            state.record(plan, succeeded=outcome.succeeded)
            if outcome.succeeded and not plain_http:  # keyed by what the plugin owns now: the next run's view
                state.settle(phase, self.inputs_key(settings))
            state.save()
        if not outcome.succeeded:
            if plan.on_failure and not check:
                output.step(f"ansible-deploy: {phase} failed; running the on-failure steps")
                self._run(plan, ON_FAILURE, list(plan.on_failure), check=False)
            raise ProvisioningError(
                f"{self.label} failed at task '{outcome.failed_task or '?'}': {outcome.message}",
                hint=f"Full log: dokku ansible-deploy:logs {app} {run.id}",
            )
        verb = "would change" if check else "changed"
        output.step(f"ansible-deploy: {self.label} for {app} done in {run.duration:.1f}s, {verb} {outcome.changed}")
        return outcome

    def _run(self, plan: Plan, label: str, playbooks: list[str], *, check: bool) -> tuple[Run, Outcome]:
        """One recorded Ansible run: a history record and its log."""
        from ansible_dokku_deploy.runner import PLAYBOOK, run_playbook  # noqa: PLC0415

        store, history = Store(self.dokku), self.history
        steps = [Path(p).relative_to(plan.release.path).as_posix() for p in playbooks if p != str(PLAYBOOK)]
        run = history.start(
            plan.app, label, plan.release.rev, check=check, roles=[*plan.roles, *steps], release=plan.release.id
        )
        log_fd = history.open_log(run.id)
        try:
            outcome = run_playbook(
                plan,
                playbooks,
                work_dir=history.data_dir / ".work",
                log_fd=log_fd,
                check=check,
                verbosity=store.computed_int(plan.app, "verbosity"),
                strategy=store.computed(plan.app, "ansible-strategy"),
            )
        finally:
            os.close(log_fd)
        return history.finish(
            run,
            status=SUCCEEDED if outcome.succeeded else FAILED,
            changed=outcome.changed,
            failed_task=outcome.failed_task,
            message=outcome.message,
            timings=outcome.timings,
        ), outcome


def record_failure(dokku: Dokku, app: str, label: str, message: str) -> None:
    """A run that failed before Ansible could start (a backup repository out of reach), in the history and the
    notifications like any other failed run."""
    data_dir = dokku.data_dir(app)
    release = Staging(data_dir).current()
    history = History(data_dir)
    run = history.start(
        app, label, release.rev if release else "", check=False, roles=[], release=release.id if release else ""
    )
    with history.log_path(run.id).open("a") as log:
        log.write(f"ansible-deploy: {message}\n")
    history.finish(run, status=FAILED, changed=0, message=message)
