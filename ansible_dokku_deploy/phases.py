"""Runs a provisioning phase for an app from its staged packaging: lock, skip-if-unchanged, plan, Ansible, record.

A phase whose inputs are settled (state.plan_inputs) skips before planning; the modules planning and running
need (the vault's cipher, the servers' settings, ansible-runner) are imported only past that. The runs recorded
go to the outbox: the entry point, not the phase, notifies and writes the metrics.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ansible_dokku_deploy import output
from ansible_dokku_deploy.dokku import Dokku
from ansible_dokku_deploy.errors import ProvisioningError
from ansible_dokku_deploy.history import FAILED, SUCCEEDED, History
from ansible_dokku_deploy.lock import app_lock
from ansible_dokku_deploy.settings import Store
from ansible_dokku_deploy.staging import Release, Staging
from ansible_dokku_deploy.state import POST_DEPLOY, State, plan_inputs

if TYPE_CHECKING:
    from ansible_dokku_deploy.history import Run
    from ansible_dokku_deploy.plan import Plan
    from ansible_dokku_deploy.runner import Outcome

ON_FAILURE = "on-failure"


def run_phase(
    dokku: Dokku,
    app: str,
    phase: str,
    *,
    force: bool = False,
    check: bool = False,
    inputs: dict[str, Any] | None = None,
    record_as: str | None = None,
    builder: str = "",
) -> Outcome | None:
    """Provision one phase; says so and returns early when the app has no staged packaging or nothing changed.
    Returns the Ansible run's outcome (in check mode with the changes it found), None when nothing ran.
    record_as names the run in the history when it is not the phase's own name (a rollback); builder is the one
    that built the release being deployed (kept for the runs without a build)."""
    data_dir = dokku.data_dir(app)
    release = Staging(data_dir).current()
    if release is None:
        return None
    store = Store(dokku)
    may_skip = not force and not check and inputs is None
    with app_lock(data_dir, app, store.computed_int(app, "lock-timeout")):
        history = History(data_dir)
        state = State.load(data_dir)
        if history.close_interrupted():  # it may have changed the host part-way: no phase is settled any more
            state.phases.clear()
            state.save()
        if builder and builder != state.builder:
            state.builder = builder
            state.save()
        if may_skip and state.settled(phase, plan_inputs(dokku, app, phase, release, state)):
            _skip(app, phase)
            return None
        return _provision(
            dokku, app, phase, release=release, state=state, history=history, may_skip=may_skip, check=check,
            inputs=inputs, label=record_as or phase,
        )  # fmt: skip


def _provision(  # run_phase past its fast path, with its locals
    dokku: Dokku,
    app: str,
    phase: str,
    *,
    release: Release,
    state: State,
    history: History,
    may_skip: bool,
    check: bool,
    inputs: dict[str, Any] | None,
    label: str,
) -> Outcome | None:
    from ansible_dokku_deploy.plan import gather, make_plan  # noqa: PLC0415  # see the module docstring
    from ansible_dokku_deploy.resolve import resolve  # noqa: PLC0415
    from ansible_dokku_deploy.runner import PLAYBOOK  # noqa: PLC0415

    store = Store(dokku)
    resolved = resolve(dokku, app, release.path, check_nginx=False)
    gathered = gather(dokku, app, phase, release=release, resolved=resolved, state=state, run=inputs)
    settled_by = plan_inputs(dokku, app, phase, release, state)  # after gather: it may have made a password
    plan = make_plan(gathered)
    plain_http = phase == POST_DEPLOY and resolved.packaging.spec.get("tls") == "acme" and "tls" not in plan.roles
    if plain_http:
        output.warn(f"{app} asks for tls: acme, but this server has no ACME directory: serving plain HTTP")
        output.warn("The admin sets one with: dokku ansible-deploy:set --global acme-directory URL")
    if not plan.roles and not plan.steps:
        output.step(f"ansible-deploy: nothing to provision in {phase} for {app}")
        return None
    if may_skip and state.unchanged(plan):
        if not plain_http:  # the warning is said on every deploy: no fast path past it
            state.settle(phase, settled_by)
            state.save()
        _skip(app, phase)
        return None
    mode = " (check mode: nothing is changed)" if check else ""
    parts = [*plan.roles, *(f"step {Path(s).name}" for s in plan.steps)]
    output.step(f"ansible-deploy: {label} for {app}: {', '.join(parts)}{mode}")
    playbooks = ([str(PLAYBOOK)] if plan.roles else []) + list(plan.steps)
    run, outcome = _run(history, store, plan, label, playbooks, check=check)
    if not check:
        state.record(plan, succeeded=outcome.succeeded, inputs="" if plain_http else settled_by)
        state.save()
    if not outcome.succeeded:
        if plan.on_failure and not check:
            output.step(f"ansible-deploy: {phase} failed; running the on-failure steps")
            _run(history, store, plan, ON_FAILURE, list(plan.on_failure), check=False)
        raise ProvisioningError(
            f"{label} failed at task '{outcome.failed_task or '?'}': {outcome.message}",
            hint=f"Full log: dokku ansible-deploy:logs {app} {run.id}",
        )
    verb = "would change" if check else "changed"
    output.step(f"ansible-deploy: {label} for {app} done in {run.duration:.1f}s, {verb} {outcome.changed}")
    return outcome


def _skip(app: str, phase: str) -> None:
    output.step(f"ansible-deploy: {phase} for {app} is unchanged since the last successful run; skipping")


def _run(
    history: History, store: Store, plan: Plan, phase: str, playbooks: list[str], *, check: bool
) -> tuple[Run, Outcome]:
    """One recorded Ansible run: a history record and its log."""
    from ansible_dokku_deploy.runner import PLAYBOOK, run_playbook  # noqa: PLC0415

    steps = [Path(p).relative_to(plan.release.path).as_posix() for p in playbooks if p != str(PLAYBOOK)]
    run = history.start(
        plan.app, phase, plan.release.rev, check=check, roles=[*plan.roles, *steps], release=plan.release.id
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
