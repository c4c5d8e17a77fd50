"""Back to the packaging of a release that served the app: after a failed pre-deploy, or when the admin asks."""

from __future__ import annotations

import tempfile
from pathlib import Path

from ansible_dokku_deploy import output
from ansible_dokku_deploy.dokku import Dokku
from ansible_dokku_deploy.errors import DeployError
from ansible_dokku_deploy.history import SUCCEEDED, History
from ansible_dokku_deploy.phases import run_phase
from ansible_dokku_deploy.resolve import staged_packaging
from ansible_dokku_deploy.settings import Store
from ansible_dokku_deploy.staging import Release, Staging
from ansible_dokku_deploy.state import Phase

ROLLBACK = "rollback"  # how rollback runs are named in the run history
NOT_THE_DATA = "Databases are not rolled back; to return to earlier data: dokku ansible-deploy:restore {app} BACKUP"


def running_release(dokku: Dokku, app: str) -> Release | None:
    """The release whose containers serve the app: the last one post-deploy recorded, if still kept."""
    staging = Staging(dokku.data_dir(app))
    deployed = staging.deployed()
    return staging.release(deployed[-1]["release"]) if deployed else None


def chosen_release(dokku: Dokku, app: str, run_id: str | None) -> Release:
    """The release of a successful run, or (without one) the release that served before the running one."""
    staging = Staging(dokku.data_dir(app))
    if run_id is not None:
        run = History(dokku.data_dir(app)).get(run_id)
        if run is None or run.status != SUCCEEDED or run.check or not run.release:
            raise DeployError(
                f"{run_id} is not a successful run of {app}",
                hint=f"Successful runs are listed by: dokku ansible-deploy:history {app}",
            )
        release = staging.release(run.release)
        if release is None:
            raise DeployError(
                f"the packaging of run {run_id} ({run.release}) is no longer kept",
                hint="The admin keeps more releases with: dokku ansible-deploy:set --global keep-releases N",
            )
        return release
    earlier = [d["release"] for d in staging.deployed()[:-1]]
    for release_id in reversed(earlier):
        release = staging.release(release_id)
        if release is not None:
            return release
    raise DeployError(
        f"{app} has no earlier deployed release kept to roll back to",
        hint=f"Name a run instead: dokku ansible-deploy:rollback {app} RUN_ID (see ansible-deploy:history {app})",
    )


def reapply(dokku: Dokku, app: str, release: Release) -> None:
    """Stage release again and provision its pre-deploy phase, recorded as a rollback run."""
    Staging(dokku.data_dir(app)).restage(release)
    run_phase(dokku, app, Phase.PRE_DEPLOY, force=True, record_as=ROLLBACK)


def after_failed_pre_deploy(dokku: Dokku, app: str) -> None:
    """Pre-deploy failed part-way while the old containers still serve: make the host match them again.
    Never raises: the push fails with the original error either way."""
    release = running_release(dokku, app)
    if release is None:
        _take_back(dokku, app)
        return
    output.step(f"ansible-deploy: rolling {app} back to release {release.id}, which still serves it")
    try:
        reapply(dokku, app, release)
    except DeployError as exc:
        output.warn(f"ansible-deploy: the rollback failed as well: {exc.message}")
        return
    output.detail(NOT_THE_DATA.format(app=app))


def served_port_map(dokku: Dokku, app: str) -> None:
    """A deploy failed after pre-deploy (the health gate, Dokku's own checks, a container that never started) and
    the old containers still serve, on the container port their release's env.yml named: a port map the failed
    run changed (nginx has not seen it) goes back to that port, or nginx's next rebuild (a domain, a certificate)
    would send them to a port they do not listen on. Never raises: the push fails with the original error."""
    release = running_release(dokku, app)
    if release is None:
        return
    try:
        port = staged_packaging(dokku, app, release).spec.get("port")
        maps = dokku.read("ports:report", app, "--ports-map").split()
        served = sorted({f"{m.rsplit(':', 1)[0]}:{port}" for m in maps})
        if port is None or not maps or sorted(maps) == served:
            return
        output.step(f"ansible-deploy: {app}'s port map goes back to port {port}, where its containers listen")
        dokku.set_port_map_unseen_by_nginx(app, served)
    except DeployError as exc:
        output.warn(f"ansible-deploy: putting the port map back failed: {exc.message}")


def _take_back(dokku: Dokku, app: str) -> None:
    """A first push failed part-way, so no release ever served: apply an empty packaging (`version: 1`) to remove
    the settings, nginx snippets and DNS records the failed run may have set, then stage the pushed release again
    (a rebuild retries it). The rest stays, and the output says so."""
    from ansible_dokku_deploy.packaging.validate import validate_tree  # noqa: PLC0415  # failures only

    output.warn(f"ansible-deploy: {app} never served a release, so there is none to return to;")
    output.warn("taking back what the failed run set: its settings, nginx snippets and DNS records.")
    staging = Staging(dokku.data_dir(app))
    pushed = staging.current()
    try:
        with tempfile.TemporaryDirectory() as empty:
            (Path(empty) / "env.yml").write_text("version: 1\n")
            nothing = staging.stage(
                validate_tree(Path(empty), check_nginx=False), "", Store(dokku).computed_int(app, "keep-releases")
            )
        reapply(dokku, app, nothing)
    except DeployError as exc:
        output.warn(f"ansible-deploy: taking them back failed as well: {exc.message}")
        output.warn("What the failed run applied stays; its log lists each change.")
        return
    finally:
        if pushed is not None:
            staging.restage(pushed)
    output.detail("Left as the failed run set them: the port map, domains and storage mounts (nothing serves them")
    output.detail("yet), and a database it created (data is never dropped).")
