"""One short function per Dokku trigger, named after it; arguments exactly as Dokku passes them.

Every hook is a fresh Python process and imports are most of its cost, so each one imports the heavier modules
(backups, monitoring, the report: 5 to 25 ms each) itself, when it needs them (a code-only push runs six hooks;
see docs/benchmark.md).
"""

from __future__ import annotations

import contextlib
import grp
import os
import pwd
import shutil
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path

from ansible_dokku_deploy import certificates, health, output, rollback
from ansible_dokku_deploy.dokku import Dokku
from ansible_dokku_deploy.errors import DeployError, PackagingError, ProvisioningError
from ansible_dokku_deploy.history import FAILED, History
from ansible_dokku_deploy.phases import run_phase
from ansible_dokku_deploy.resolve import (
    check_push,
    refuse_beyond_k3s,
    resolve,
    staged_packaging,
    without_packaging,
)
from ansible_dokku_deploy.settings import GLOBAL, Store
from ansible_dokku_deploy.staging import Release, Staging, secure_dir
from ansible_dokku_deploy.state import Phase, State

RENEW_SCHEDULE = "17 4 * * *"  # daily, off the hour
CRON_CACHE = ".cron-entries"  # $DATA/.cron-entries: the last lines cron_entries gave (the shell hook's fallback)
RENAMES = ".renames"  # $DATA/.renames/OLD marks an apps:rename in progress, so post-delete OLD does not deprovision


def _managed(dokku: Dokku, app: str, source: Path) -> bool:
    """Whether the plugin has anything to do for this push: env.yml in the source, or a staged copy already."""
    return (source / "env.yml").exists() or Staging(dokku.data_dir(app)).current() is not None


def post_extract(app: str, tmp_work_dir: str, rev: str = "", *_: str) -> None:
    """Copy the packaging files into a pending release, staged once the image is built (post-build); cannot reject
    the push (Dokku ignores this hook's status), pre-build does."""
    dokku = Dokku.from_environ()
    source = Path(tmp_work_dir)
    if not _managed(dokku, app, source):
        return
    if dokku.selected_builder(app) == NULL_BUILDER:  # said here too: without an image, no release comes to refuse
        output.warn(_null_builder_refusal(app).message)
    try:
        key, packaging = check_push(dokku, app, source)
    except PackagingError:
        output.step("ansible-deploy: the packaging files are invalid; the staged copy is kept as it was")
        return
    store = Store(dokku)
    staging = Staging(secure_dir(dokku.data_dir(app)))
    keep = store.computed_int(app, "keep-releases")
    try:
        current = staging.current()
        if current is not None and without_packaging(source):  # git:from-image, say: the packaging stays
            output.step(f"ansible-deploy: no packaging files in this tree; {app} keeps release {current.id}'s")
        if packaging is None and current is not None:  # the staged files, checked already: staged again for rev
            release = staging.stage_again(current, rev, keep)
        else:
            release = staging.stage_pending(packaging or resolve(dokku, app, source).packaging, rev, keep, key)
    except OSError as exc:
        output.step(f"ansible-deploy: could not stage the packaging ({exc.strerror}); the staged copy is kept")
        return
    features = release.packaging(store.computed(app, "environment")).features
    output.step(f"ansible-deploy: packaging for {app} ({', '.join(features) or 'no features'}), staged once built")
    output.detail(f"release {release.id}")


NULL_BUILDER = "null"  # plugins/builder-null: builds nothing, fires neither pre-build nor post-build


def _null_builder_refusal(app: str) -> DeployError:
    return DeployError(
        f"{app}'s builder is null: Dokku builds nothing from a push, so ansible-deploy can neither check nor apply "
        "its packaging, and refuses to release it",
        hint=f"The null builder is not for normal operation. Let the tree choose again, then push again: "
        f"dokku builder:set {app} selected",
    )


def pre_build(builder: str, app: str, source_dir: str, *_: str) -> None:
    """Reject a push whose packaging is invalid, before the image is built."""
    del builder
    dokku = Dokku.from_environ()
    source = Path(source_dir)
    if not _managed(dokku, app, source):
        return
    key, _packaging = check_push(dokku, app, source)
    pending = Staging(dokku.data_dir(app)).pending()
    if pending is None or pending.source != key:  # post-extract failed or was killed
        raise DeployError(
            f"the packaging of this push was not staged for {app}, so it is not deployed",
            hint="See the post-extract message above (a full disk under /var/lib/dokku?), then push again.",
        )


def post_build(builder: str, app: str, source_dir: str, *_: str) -> None:
    """The pre-deploy phase once the image is built and before the release: herokuish bakes the app's settings
    into the image at its release (builder-herokuish/builder-release), before pre-release-builder fires, so
    settings set later would reach the app one release late. The pushed release is staged here, not before: a
    build that fails earlier leaves the release that serves staged."""
    del source_dir
    Staging(Dokku.from_environ().data_dir(app)).promote()
    _pre_deploy(app, builder)


def pre_release_builder(builder: str, app: str, image: str, *_: str) -> None:
    """The pre-deploy phase again for a release without a build (`config:set` restarts it): after post-build it
    finds nothing to do. Settings it repairs here reach a herokuish app at its next release. Dokku releases only
    a built image, so a release staged at post-build stays staged from here on."""
    del image
    dokku = Dokku.from_environ()
    staging = Staging(dokku.data_dir(app))
    if staging.pending() is not None and dokku.selected_builder(app) == NULL_BUILDER:  # a push nothing was built for
        staging.abandon_build()
        raise _null_builder_refusal(app)
    staging.released()
    _pre_deploy(app, builder)


def _pre_deploy(app: str, builder: str) -> None:
    """Provision before the new release serves (Dokku's pre-deploy trigger is deprecated); a failure puts back
    the release that still serves."""

    dokku = Dokku.from_environ()
    _refuse_beyond_k3s(dokku, app)
    try:
        run_phase(dokku, app, Phase.PRE_DEPLOY, builder=builder)
    except ProvisioningError:
        rollback.after_failed_pre_deploy(dokku, app)  # the old containers still serve: match them again
        raise


def _refuse_beyond_k3s(dokku: Dokku, app: str) -> None:
    """The staged packaging, refused as a push is when the app's scheduler became k3s after it was staged."""
    release = Staging(dokku.data_dir(app)).current()
    if release is not None:
        refuse_beyond_k3s(dokku, app, staged_packaging(dokku, app, release))


def builds_record_finalize(app: str, build_id: str, exit_code: str, *_: str) -> None:
    """The only hook Dokku calls when a build fails (pre-build, the build, a post-build; plugins/common/functions
    release_app_deploy_lock): Dokku tags the last released image again, so the release staged before the push is
    staged again and the failed one forgotten. A failure after the release step (the deploy) keeps the new
    release staged: the image is the new one. After any failure the port map goes back to the serving
    containers' port (a failed deploy leaves them serving)."""
    del build_id
    if exit_code == "0":
        return
    dokku = Dokku.from_environ()
    rollback.served_port_map(dokku, app)  # the old containers serve on: the map they were started with
    staged = Staging(dokku.data_dir(app)).abandon_build()
    if staged is not None:
        output.step(f"ansible-deploy: the build failed; release {staged.id}, which {app} runs, stays staged")


def check_deploy(app: str, container: str, proc_type: str, port: str, ip: str, *_: str) -> None:
    """Before Dokku switches traffic to a new container (not called with zero downtime off): the web container
    answers the health path itself, or Dokku kills it and the old ones keep serving."""

    del container
    if proc_type != "web":
        return
    dokku = Dokku.from_environ()
    release = Staging(dokku.data_dir(app)).current()
    if release is None:
        return
    _refuse_beyond_k3s(dokku, app)
    packaging = staged_packaging(dokku, app, release)
    https = certificates.https(dokku, app, packaging)  # as nginx will serve it, the certificate of a first deploy too
    with _reported_check(dokku, app, release, "check-deploy"):
        health.gate(dokku, app, packaging, release.id, address=ip, port=port, https=https)


def post_deploy(app: str, *_: str) -> None:
    """Record the staged release as the one serving (Dokku has switched traffic), then the post-deploy phase and
    the health check through nginx; Dokku passes the port and IP arguments empty."""

    dokku = Dokku.from_environ()
    _refuse_beyond_k3s(dokku, app)
    staging = Staging(dokku.data_dir(app))
    release = staging.current()
    if release is not None:
        staging.mark_deployed(release, keep=Store(dokku).computed_int(app, "keep-releases"))
    with output.alongside(_repository_check(dokku, app, release)):
        run_phase(dokku, app, Phase.POST_DEPLOY)
    if release is not None:
        with _reported_check(dokku, app, release, "health-check"):
            health.verify(dokku, app, staged_packaging(dokku, app, release), release.id)


def _repository_check(dokku: Dokku, app: str, release: Release | None) -> Callable[[], None] | None:
    """For an app with backups, the check of its backup repository: restic derives the repository's key on every
    open (about a second, three to create one), so it runs alongside the post-deploy run, not after it."""
    if release is None or not staged_packaging(dokku, app, release).spec.get("backups"):
        return None
    from ansible_dokku_deploy import backups  # noqa: PLC0415

    return lambda: backups.check_repository(dokku, app)


@contextlib.contextmanager
def _reported_check(dokku: Dokku, app: str, release: Release, phase: str) -> Iterator[None]:
    """A health check is not an Ansible run, but a deploy result people want to hear about: a failure goes into the
    run history, so into the notifications."""
    started = time.time()
    try:
        yield
    except ProvisioningError as failure:
        history = History(dokku.data_dir(app))
        run = history.start(app, phase, release.rev, check=False, roles=[], release=release.id)
        log = history.open_log(run.id)  # what `ansible-deploy:logs` shows for it
        os.write(log, output.redact("\n".join(failure.lines()) + "\n").encode())
        os.close(log)
        history.finish(replace(run, started_at=started), status=FAILED, changed=0, message=failure.message)
        raise


def post_app_rename_setup(old: str, new: str, *_: str) -> None:
    """Move the app's staged packaging, history, settings and backups to its new name; mark the rename for
    post-delete. The database keeps its name (state.json records it), so the app stays on the same data."""
    from ansible_dokku_deploy import backups, monitoring  # noqa: PLC0415  # see the module docstring

    dokku = Dokku.from_environ()
    marker = secure_dir(dokku.data_root / RENAMES) / old  # first: whatever fails below, post-delete OLD is a no-op
    marker.write_text(new)
    for old_dir, new_dir in (
        (dokku.data_dir(old), dokku.data_dir(new)),
        (dokku.config_dir(old), dokku.config_dir(new)),
        (backups.legacy_root(dokku, old), backups.legacy_root(dokku, new)),
    ):
        if old_dir.exists():
            shutil.rmtree(new_dir, ignore_errors=True)
            old_dir.rename(new_dir)
    monitoring.rename(dokku, old, new)
    backups.rename(dokku, old, new)


def post_app_clone_setup(old: str, new: str, *_: str) -> None:
    """Give the clone the same staged packaging and settings (not the run history)."""
    dokku = Dokku.from_environ()
    old_data, new_data = dokku.data_dir(old), dokku.data_dir(new)
    release = Staging(old_data).current()
    if release is not None:
        secure_dir(new_data / "releases")
        shutil.copytree(release.path, new_data / "releases" / release.id, dirs_exist_ok=True)
        (new_data / "staged").symlink_to(Path("releases") / release.id)
    if dokku.config_dir(old).exists():
        shutil.copytree(dokku.config_dir(old), dokku.config_dir(new), dirs_exist_ok=True)
    from ansible_dokku_deploy.claims import mark_clone  # noqa: PLC0415  # see the module docstring

    mark_clone(dokku, old, new)  # the original's database is not the clone's: it gets its own


def post_app_clone(old: str, new: str, *_: str) -> None:
    """Take the original's storage off the clone before its first deploy: Dokku's storage plugin copied the
    original's mounts in its post-app-clone-setup (after this plugin's: plugn runs plugins in name order), so the
    clone would write into the original's folders. The deploy that follows (Dokku's ps plugin, after this hook)
    gives the clone folders of its own, empty, as it gives it a database of its own."""
    dokku = Dokku.from_environ()
    theirs = set(State.load(dokku.data_dir(old)).storage.values())
    if not theirs:
        return
    for mount in dokku.read_json("storage:list", new, "--format", "json"):
        entry = mount.get("entry_name") or mount.get("host_path")
        if entry in theirs:
            dokku.change("storage:unmount", new, entry, "--container-dir", mount["container_path"])
            output.step(f"ansible-deploy: {new} no longer mounts {old}'s storage entry {entry}")


def post_delete(app: str, *_: str) -> None:
    """Forget a destroyed app; during apps:rename (Dokku calls this for the old name too) deprovision nothing.
    Each step is tried whatever the others did, and what could not be done is said, never raised: Dokku's destroy
    stops at a failing post-delete and leaves the app half destroyed (plugins/apps/functions.go)."""
    dokku = Dokku.from_environ()
    marker = dokku.data_root / RENAMES / app
    if marker.exists():
        marker.unlink()
        return
    undone = []
    for what, step in _destroy_steps(dokku, app):
        try:
            step()
        except Exception as exc:  # noqa: BLE001  # every step is tried; what failed is said below
            undone.append(f"{what}: {_reason(exc)}")
    for line in undone:
        output.warn(f"ansible-deploy could not remove {app}'s {line}")
    if undone:
        output.warn(f"Dokku destroyed {app} anyway: remove those by hand (a later app named {app} would find them)")


def _destroy_steps(dokku: Dokku, app: str) -> list[tuple[str, Callable[[], None]]]:
    """post-delete's steps, each named for the warning when it fails."""
    from ansible_dokku_deploy import backups, monitoring  # noqa: PLC0415  # see the module docstring

    def deprovision() -> None:
        try:
            records = " ".join(r.get("record", "") for r in State.load(dokku.data_dir(app)).dns)
        except Exception:  # noqa: BLE001  # only for the message
            records = ""
        try:
            run_phase(dokku, app, Phase.DESTROY, force=True)
        except Exception as exc:  # noqa: BLE001  # the app is half-destroyed: say what is left, never block
            output.warn(f"ansible-deploy could not remove everything {app} had: {_reason(exc)}")
            output.warn(f"Remove its DNS records by hand ({records or 'none recorded'}); its data is removed anyway.")

    def forget_backups() -> None:
        purge = Store(dokku).computed(app, "database-purge-on-destroy") == "true"
        backups.forget_app(dokku, app, database=State.load(dokku.data_dir(app)).database, purge=purge)

    def remove_folders() -> None:
        for folder in (dokku.data_dir(app), dokku.config_dir(app), dokku.acme_webroot(app)):
            shutil.rmtree(folder, ignore_errors=True)
            if folder.exists() or folder.is_symlink():
                raise OSError(f"{folder} is still there")

    return [
        ("DNS records and what else it was provisioned", deprovision),
        ("backup records (its database and backups stay unless database-purge-on-destroy)", forget_backups),
        ("settings, secrets and staged packaging", remove_folders),
        ("monitoring targets and metrics", lambda: monitoring.forget(dokku, app)),
    ]


def _reason(exc: BaseException) -> str:
    return exc.message if isinstance(exc, DeployError) else f"{type(exc).__name__}: {exc}"


def _goes_on(hook: str, trigger: Callable[..., None]) -> Callable[..., None]:
    """A hook whose failure must not stop plugn's chain (every plugin after this one would be skipped, and Dokku's
    apps:destroy, apps:rename and apps:clone stop half done): any error becomes a warning and the hook succeeds."""

    def never_fails(*args: str) -> None:
        try:
            trigger(*args)
        except Exception as exc:  # noqa: BLE001  # the point: Dokku and the other plugins go on
            output.warn(f"ansible-deploy could not finish its {hook} for {' '.join(args[:2])}: {_reason(exc)}")
            output.warn(f"Dokku and the other plugins go on; {AFTER_FAILURE[hook]}")

    return never_fails


AFTER_FAILURE = {  # what to do when a hook of _goes_on failed
    "post-app-rename-setup": "the plugin's folders may still be under the old name: "
    "run `dokku ansible-deploy:report NEW` and move them by hand if they are",
    "post-app-clone-setup": "the clone has no staged packaging or settings of its own yet: push to it",
    "report": "`dokku ansible-deploy:report APP` says more",
    "post-delete": "remove what is left of the app by hand",
}


def report(app: str, *_: str) -> None:
    """`dokku report APP`: this plugin's report with secrets masked."""
    from ansible_dokku_deploy.commands import report as report_command  # noqa: PLC0415  # only `dokku report` needs it

    report_command.print_report(Dokku.from_environ(), app)


def cron_entries(*_: str) -> None:
    """Dokku's cron plugin asks for scheduled jobs: certificate renewal (daily, when an ACME CA is configured)
    and each app's backups (on env.yml's schedule, then the restore drill unless backup-drill is false).

    Dokku rewrites the whole crontab from these lines, so they are kept in CRON_CACHE too: when this hook cannot
    work them out (a crash, or the plugin standing aside after a failed install), the `cron-entries` shell hook
    prints the last good ones instead of none (scripts/standby)."""
    from ansible_dokku_deploy import backups  # noqa: PLC0415  # see the module docstring

    dokku = Dokku.from_environ()
    lines = []
    if Store(dokku).get(GLOBAL, "acme-directory"):
        logs = os.environ.get("DOKKU_LOGS_DIR", "/var/log/dokku")
        lines.append(f"{RENEW_SCHEDULE};dokku ansible-deploy:renew --all;{logs}/ansible-deploy-renew.log")
    lines += backups.cron_lines(dokku)
    for line in lines:
        output.plain(line)
    cache = dokku.data_root / CRON_CACHE
    try:  # the lines above are right whether or not they can be kept
        tmp = cache.with_name(f"{CRON_CACHE}.tmp")
        tmp.write_text("".join(f"{line}\n" for line in lines))
        tmp.replace(cache)
    except OSError as exc:
        output.warn(f"ansible-deploy could not keep a copy of its scheduled jobs in {cache}: {exc.strerror}")


def install(*_: str) -> None:
    """Root: the data and config dirs, owned by the dokku user, 0700 (the http-01 answers' 0755), and the plugin's
    modules compiled (the hooks run as dokku, who cannot write the bytecode cache: each would compile them again).
    Idempotent (every plugin:install re-runs it)."""
    import compileall  # noqa: PLC0415  # install only

    compileall.compile_dir(Path(__file__).parent, quiet=1)
    dokku = Dokku.from_environ()
    dokku.data_root.parent.mkdir(parents=True, exist_ok=True)
    with contextlib.ExitStack() as folders:
        data = folders.enter_context(_owned_folder(dokku.data_root, 0o700))
        settings = folders.enter_context(_owned_folder(dokku.config_root, 0o700, parent=data))
        if settings is not None:
            _move_legacy_settings(dokku, settings)
        folders.enter_context(_owned_folder(dokku.config_root / GLOBAL, 0o700, parent=settings))
    dokku.acme_webroots.parent.mkdir(parents=True, exist_ok=True)
    with _owned_folder(dokku.acme_webroots, 0o755):  # nginx's workers read the http-01 answers
        pass


update = install


@contextlib.contextmanager
def _owned_folder(path: Path, mode: int, *, parent: int | None = -1) -> Iterator[int | None]:
    """The folder at path, created when missing and given to the dokku user with mode, as an open descriptor
    (None when it could not be): the folders are the dokku user's, so root never follows a link in them (a
    `dokku` process could swap a folder for a link to /etc). parent: the descriptor of the folder it is in (-1: a
    folder of root's, found by its path; None: that folder was refused, so this one is left alone too). A folder
    that is a link is left alone with a warning: the install never fails."""
    if parent is None:
        yield None
        return
    name, at = (path.name, parent) if parent != -1 else (str(path), None)
    with contextlib.suppress(FileExistsError):
        os.mkdir(name, 0o700, dir_fd=at)
    try:
        fd = os.open(name, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=at)
    except OSError:  # O_NOFOLLOW: ELOOP, or ENOTDIR with O_DIRECTORY
        what = "a link" if path.is_symlink() else "something else"  # the words only: nothing is done through it
        output.warn(f"ansible-deploy left {path} alone: it is not a folder but {what}")
        output.warn("Remove it, then run again: sudo dokku plugin:install (it is made a folder of the dokku user's)")
        yield None
        return
    try:
        os.fchmod(fd, mode)
        if os.geteuid() == 0:
            user, group = os.environ.get("DOKKU_SYSTEM_USER", "dokku"), os.environ.get("DOKKU_SYSTEM_GROUP", "dokku")
            os.fchown(fd, pwd.getpwnam(user).pw_uid, grp.getgrnam(group).gr_gid)
        yield fd
    finally:
        os.close(fd)


def _exists(name: str, folder: int) -> bool:
    try:
        os.stat(name, dir_fd=folder, follow_symlinks=False)
    except FileNotFoundError:
        return False
    return True


def _move_legacy_settings(dokku: Dokku, settings: int) -> None:
    """Settings of an older install, in config/ansible-deploy/: each app's folder and --global's move over (an
    app named ansible-deploy keeps its ENV file there); a folder already moved is left as it is. settings: the
    descriptor of the settings folder, so the moves never follow a link put in its place."""
    legacy = dokku.legacy_config_root
    if not legacy.is_dir():
        return
    for folder in legacy.iterdir():
        if folder.is_dir() and not folder.is_symlink() and not _exists(folder.name, settings):
            os.rename(folder, folder.name, dst_dir_fd=settings)
    with contextlib.suppress(OSError):
        legacy.rmdir()  # only when nothing else is left


TRIGGERS: dict[str, Callable[..., None]] = {
    "post-extract": post_extract,
    "pre-build": pre_build,
    "post-build": post_build,
    "builds-record-finalize": builds_record_finalize,
    "pre-release-builder": pre_release_builder,
    "check-deploy": check_deploy,
    "post-deploy": post_deploy,
    "post-app-rename-setup": _goes_on("post-app-rename-setup", post_app_rename_setup),
    "post-app-clone-setup": _goes_on("post-app-clone-setup", post_app_clone_setup),
    "post-app-clone": post_app_clone,
    "post-delete": _goes_on("post-delete", post_delete),
    "report": _goes_on("report", report),
    "cron-entries": cron_entries,
    "install": install,
    "update": update,
}
