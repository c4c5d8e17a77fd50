"""Backups of an app's database and storage folders, in a restic repository: taking, listing, pruning, restoring,
and the restore drill.

A backup is one or two restic snapshots tagged app=APP and backup=APP-YYYYMMDDTHHMMSSZ: the database dump
(kind=database, streamed from the dump into restic) and files.tar (kind=files, written last: the row counts at dump
time and every storage folder). A backup without its files snapshot is unfinished and removed, so a failed backup
never counts as one and never makes an older good one go. restic's forget applies the retention policy to the
app's own snapshots only. Backups taken before restic (folders in backup-dir/APP) move into the repository at
the first command that reads the app's backups.
"""

from __future__ import annotations

import calendar
import contextlib
import io
import json
import os
import re
import shutil
import tarfile
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ansible_dokku_deploy import cron, output, restic
from ansible_dokku_deploy.dokku import Dokku
from ansible_dokku_deploy.errors import DeployError
from ansible_dokku_deploy.history import backup_records, record_backups
from ansible_dokku_deploy.phases import record_failure, run_phase
from ansible_dokku_deploy.resolve import staged_packaging
from ansible_dokku_deploy.restic import Repository, ResticError, backup_dir
from ansible_dokku_deploy.roles import BackupRun
from ansible_dokku_deploy.settings import Store
from ansible_dokku_deploy.staging import Staging, secure_dir
from ansible_dokku_deploy.state import Phase, State

DEFAULT_KEEP = 7
STAMP = "%Y%m%dT%H%M%SZ"
BACKUP_ID = re.compile(r".+-\d{8}T\d{6}Z")  # APP-STAMP; anything else in a folder or a tag is not the plugin's
POLICY = {"keep": "keep-last", "keep-daily": "keep-daily", "keep-weekly": "keep-weekly", "keep-monthly": "keep-monthly"}


@dataclass(frozen=True)
class Backup:
    id: str
    created: float
    size: int  # bytes restored from it; 0 when not known here (taken elsewhere, or before restic)
    snapshots: dict[str, str] = field(default_factory=dict)  # kind: restic snapshot id
    release: str = ""


def legacy_root(dokku: Dokku, app: str) -> Path:
    """Where backups taken before restic lie: BACKUP_DIR/APP/APP-STAMP/."""
    return backup_dir(dokku) / app


def repository(dokku: Dokku, app: str) -> Repository:
    """The configured repository, with the app's backups taken before restic moved into it."""
    repo = Repository.configured(dokku)
    legacy = sorted(p for p in _legacy(dokku, app) if p.is_dir() and BACKUP_ID.fullmatch(p.name))
    if legacy:
        repo.ensure()
        for folder in legacy:
            _migrate(repo, app, folder)
    return repo


def _legacy(dokku: Dokku, app: str) -> list[Path]:
    folder = legacy_root(dokku, app)
    return list(folder.iterdir()) if folder.is_dir() else []


def listing(dokku: Dokku, app: str, repo: Repository | None = None) -> list[Backup]:
    """Complete backups, newest first."""
    repo = repo or repository(dokku, app)
    return _complete(_grouped(dokku, app, repo.snapshots(f"app={app}")))


def _complete(backups: list[Backup]) -> list[Backup]:
    return [b for b in backups if "files" in b.snapshots]


def _grouped(dokku: Dokku, app: str, snapshots: list[dict[str, Any]]) -> list[Backup]:
    """The backups these snapshots of the app make up, newest first; one without its files snapshot (written
    last) did not finish."""
    kinds: dict[str, dict[str, str]] = {}
    releases: dict[str, str] = {}
    for snapshot in snapshots:
        tags = _tags(snapshot)
        if BACKUP_ID.fullmatch(tags.get("backup", "")) and "kind" in tags:
            kinds.setdefault(tags["backup"], {})[tags["kind"]] = snapshot["id"]
            releases[tags["backup"]] = tags.get("release", "")
    sizes = records(dokku, app).get("sizes", {})
    found = [Backup(i, _created(i), int(sizes.get(i, 0)), kinds[i], releases[i]) for i in kinds]
    return sorted(found, key=lambda b: b.created, reverse=True)


def _tags(snapshot: dict[str, Any]) -> dict[str, str]:
    return dict(t.split("=", 1) for t in snapshot.get("tags") or [] if "=" in t)


def _created(backup_id: str) -> float:
    return float(calendar.timegm(time.strptime(backup_id.rsplit("-", 1)[-1], STAMP)))


def find(
    dokku: Dokku, app: str, backup_id: str, repo: Repository | None = None, *, among: list[Backup] | None = None
) -> Backup:
    """The complete backup backup_id, among those listed already or else in a new listing."""
    for backup in listing(dokku, app, repo) if among is None else among:
        if backup.id == backup_id:
            return backup
    raise DeployError(f"{app} has no backup {backup_id}", hint=f"List them with: dokku ansible-deploy:backups {app}")


def _policy(dokku: Dokku, app: str) -> dict[str, int]:
    declared = State.load(dokku.data_dir(app)).backups
    return {flag: int(declared.get(key, DEFAULT_KEEP if key == "keep" else 0)) for key, flag in POLICY.items()}


def records(dokku: Dokku, app: str) -> dict[str, Any]:
    return backup_records(dokku.data_dir(app))


def _record(dokku: Dokku, app: str, **values: Any) -> None:  # JSON values
    record_backups(dokku.data_dir(app), **values)


def _require_something(dokku: Dokku, app: str) -> str:
    """The current release's id, when its env.yml declares something to back up."""
    release = Staging(dokku.data_dir(app)).current()
    if release is None:
        raise DeployError(f"{app} has no staged packaging", hint="Push the app with an env.yml first.")
    spec = staged_packaging(dokku, app, release).spec
    if not spec.get("database") and not spec.get("storage"):
        raise DeployError(
            f"{app} has nothing to back up: its env.yml declares no database and no storage",
            hint="Add `database:` or `storage:` to env.yml.",
        )
    return release.id


def _run(repo: Repository, backup_id: str, **more: Any) -> BackupRun:
    return BackupRun(id=backup_id, **repo.role_inputs(), **more)


def take(dokku: Dokku, app: str, *, prune: bool = True, known: list[Backup] | None = None) -> Backup:
    """A new complete backup (or a DeployError, with nothing left behind); then apply the retention policy.
    known: the app's backups, when the caller has just listed them."""
    release = _require_something(dokku, app)
    try:
        repo = repository(dokku, app)
        if known is None:
            known = _grouped(dokku, app, repo.snapshots(f"app={app}", create=True))
    except ResticError as exc:
        _failed(dokku, app, exc.message)
        record_failure(dokku, app, Phase.BACKUP, exc.message)
        raise
    backup_id = f"{app}-{time.strftime(STAMP, time.gmtime())}"
    taken = {b.id for b in known} | {records(dokku, app).get("attempt", {}).get("id")}
    while backup_id in taken:  # two backups within a second
        time.sleep(1)
        backup_id = f"{app}-{time.strftime(STAMP, time.gmtime())}"
    when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(_created(backup_id)))  # restic's --time: local time
    work = Path(tempfile.mkdtemp(prefix="backup-", dir=secure_dir(dokku.data_dir(app) / ".work")))
    try:
        run = _run(repo, backup_id, snapshots={}, dir=str(work), time=when, release=release)  # a new id: none
        run_phase(dokku, app, Phase.BACKUP, force=True, backup=run)
        written, skipped = _written(work), _skipped(work)
    except DeployError as exc:
        _failed(dokku, app, exc.message, backup_id)
        with contextlib.suppress(ResticError):  # an unfinished backup is no backup
            repo.remove([s["id"] for s in repo.snapshots(f"backup={backup_id}")])
        raise
    finally:
        shutil.rmtree(work, ignore_errors=True)
    if written is None:  # restic's summaries unreadable: ask the repository (one more key derivation)
        tag = f"{restic.TAG},backup={backup_id}"
        size = int(json.loads(repo.run("stats", "--json", "--mode", "restore-size", "--tag", tag))["total_size"])
        written = size, {"files": ""}  # complete, its snapshots' ids not known here
    size, snapshots = written
    backup = Backup(backup_id, _created(backup_id), size, snapshots, release)
    sizes = {**records(dokku, app).get("sizes", {}), backup.id: size}
    done = {"id": backup.id, "time": backup.created, "size": size, "result": "succeeded", "skipped": skipped}
    _record(dokku, app, backup=done, attempt=done, sizes=sizes)
    output.step(f"ansible-deploy: backup {backup.id} of {app} written to {repo.location} ({human_size(size)})")
    if skipped:
        output.warn(
            f"{len(skipped)} file(s) or folder(s) of {app}'s storage could not be read and are not in {backup.id}: "
            + ", ".join(skipped)
        )
        output.warn("The plugin reads storage as the dokku user: make them readable to it (e.g. chmod -R o+rX).")
    if prune:
        prune_old(dokku, app, repo, known=[backup, *known])
    return backup


def _written(work: Path) -> tuple[int, dict[str, str]] | None:
    """The backup's size and its snapshots (kind: id), from restic's summaries of the snapshots the backups role
    wrote (backup.yml): the bytes it read into each is what that snapshot restores to. None when one is missing
    or unreadable."""
    size, snapshots = 0, {}
    for kind in ("database", "files"):
        path = work / f"{kind}.summary.json"
        if kind == "database" and not path.exists():  # an app without a database
            continue
        try:
            summary = json.loads(path.read_text().splitlines()[-1])
            size += int(summary["total_bytes_processed"])
            snapshots[kind] = str(summary["snapshot_id"])
        except (OSError, IndexError, ValueError, KeyError, TypeError):
            return None
    return size, snapshots


SKIPPED = re.compile(r"tar: (.+): Warning: Cannot (?:open|stat|read|readlink|opendir|savedir)\b.*")


def _skipped(work: Path) -> list[str]:
    """What tar could not read (and so skipped: --ignore-failed-read) while writing files.tar, from its warnings in
    files.tar.log (backup.yml), as host paths; tar quotes unusual characters in them."""
    try:
        said = (work / "files.tar.log").read_text(errors="replace")
    except OSError:
        return []
    return sorted({"/" + m.group(1).lstrip("/") for line in said.splitlines() if (m := SKIPPED.fullmatch(line))})


def _failed(dokku: Dokku, app: str, message: str, backup_id: str = "") -> None:
    """The failed attempt, for the report and the metrics; the next deploy asks the repository again."""
    attempt = {"id": backup_id, "time": time.time(), "result": "failed", "message": message}
    _record(dokku, app, attempt=attempt, repository="")


def prune_old(
    dokku: Dokku, app: str, repo: Repository, *, known: list[Backup] | None = None, protect: str = ""
) -> None:
    """restic's forget by the app's policy, on the app's own snapshots (and never the backup being restored); not
    asked when there are no more backups than keep-last, which keeps them all whatever the other rules say."""
    policy = _policy(dokku, app)
    if known is None:
        known = _grouped(dokku, app, repo.snapshots(f"app={app}"))
    complete = _complete(known)
    # Unfinished backups older than the newest complete one (their removal after the failure failed too) would
    # count against the retention of the complete ones.
    newest = complete[0].created if complete else 0.0
    unfinished = [b for b in known if b not in complete and b.created < newest]
    repo.remove([i for b in unfinished for i in b.snapshots.values()])
    if len(known) - len(unfinished) <= policy["keep-last"]:  # restic would keep them all: not asked (a key derivation)
        kept = {b.id for b in complete}
    else:
        groups = repo.forget(app, policy, protect=protect)
        files = [g for g in groups if "/files.tar" in (g.get("paths") or [])]
        kept = {_tags(s).get("backup", "") for g in files for s in g.get("keep") or []} - {""}
        for gone in sorted({_tags(s).get("backup", "") for g in files for s in g.get("remove") or []} - {""}):
            output.step(f"ansible-deploy: removed backup {gone} ({_describe(policy)})")
    sizes = {k: v for k, v in records(dokku, app).get("sizes", {}).items() if k in kept}
    _record(dokku, app, kept=len(kept), sizes=sizes)


def _describe(policy: dict[str, int]) -> str:
    words = {"keep-last": "newest", "keep-daily": "daily", "keep-weekly": "weekly", "keep-monthly": "monthly"}
    return "keeping " + ", ".join(f"{count} {words[flag]}" for flag, count in policy.items() if count)


def restore(dokku: Dokku, app: str, backup_id: str) -> None:
    """A safety backup, then the backup's restore; the repository is listed once, for all three steps."""
    repo = repository(dokku, app)
    known = _grouped(dokku, app, repo.snapshots(f"app={app}"))
    backup = find(dokku, app, backup_id, among=_complete(known))
    output.step(f"ansible-deploy: taking a safety backup of {app} before the restore")
    safety = take(dokku, app, prune=False, known=known)
    try:
        run_phase(dokku, app, Phase.RESTORE, force=True, backup=_run(repo, backup.id, snapshots=backup.snapshots))
    except DeployError as exc:
        raise DeployError(
            f"the restore of {backup.id} failed: {exc.message}",
            hint=f"{safety.id} holds the database and the folders as they were before the restore; "
            f"once the cause is fixed: dokku ansible-deploy:restore {app} {backup.id} --force "
            f"(or {safety.id} to go back)",
        ) from None
    output.step(f"ansible-deploy: {app} restored from {backup.id} (the state before is in {safety.id})")
    prune_old(dokku, app, repo, known=[safety, *known], protect=backup.id)


def drill(dokku: Dokku, app: str, backup_id: str = "", *, taken: Backup | None = None) -> bool:
    """Restore a backup (backup_id's, or the newest) into a scratch copy and compare, then restic's check of the
    repository; record and return the result. taken: that backup, just written (its snapshots known: no listing)."""
    repo = repository(dokku, app)
    if taken is not None and taken.snapshots.get("files"):
        backup = taken
    else:
        backups = listing(dokku, app, repo)
        if not backups:
            raise DeployError(f"{app} has no backup to drill", hint=f"Take one: dokku ansible-deploy:backup {app}")
        backup = find(dokku, app, backup_id, among=backups) if backup_id else backups[0]
    started = time.time()
    try:
        run_phase(dokku, app, Phase.DRILL, force=True, backup=_run(repo, backup.id, snapshots=backup.snapshots))
        repo.check()
    except DeployError as exc:
        _record(dokku, app, drill={"backup": backup.id, "time": started, "result": "failed", "message": exc.message})
        output.warn(f"The restore drill of {backup.id} failed: {exc.message}")
        return False
    _record(dokku, app, drill={"backup": backup.id, "time": started, "result": "succeeded"})
    output.step(f"ansible-deploy: restore drill of {backup.id} succeeded")
    return True


def check_repository(dokku: Dokku, app: str) -> None:
    """At deploy time: make the repository ready for the app's backups, or warn (a deploy never fails on it).
    Asked once per repository location: restic derives the repository's key on every open, which takes a while."""
    try:
        if records(dokku, app).get("repository") != restic.location(dokku):
            repo = repository(dokku, app)
            repo.ensure()
            _record(dokku, app, repository=repo.location)
    except DeployError as exc:
        _record(dokku, app, repository="")
        output.warn(f"{app}'s backups will fail until this is fixed: {exc.message}")
        if exc.hint:
            output.warn(exc.hint)


def rename(dokku: Dokku, old: str, new: str) -> None:
    """apps:rename: the app's snapshots are tagged with its new name (backup ids keep the old one)."""
    if not records(dokku, new):
        return  # it never had a backup
    try:
        repo = repository(dokku, new)
        ids = [snapshot["id"] for snapshot in repo.snapshots(f"app={old}")]
        if ids:  # one restic tag for them all: each restic run derives the repository's key again
            repo.run("tag", "--quiet", "--remove", f"app={old}", "--add", f"app={new}", *ids)
    except DeployError as exc:
        output.warn(f"the backups of {old} could not be given its new name {new}: {exc.message}")
        output.warn(f"They are in the repository under app={old}; restic's tag command moves them.")


def forget_app(dokku: Dokku, app: str, *, database: dict[str, Any], purge: bool) -> None:
    """apps:destroy: drop the app's backups when the admin opted in, else say where they stay; never fails."""
    count, where = 0, ""
    try:
        if records(dokku, app) or _legacy(dokku, app):
            repo = repository(dokku, app)
            if purge:
                repo.remove([s["id"] for s in repo.snapshots(f"app={app}")])
                return
            count, where = len(listing(dokku, app, repo)), f" in {repo.location}"
    except DeployError as exc:
        output.warn(f"the backups of {app} were not looked at: {exc.message}")
    if (database or count) and not purge:
        kept = f"its {database['engine']} database {database['name']} and " if database else ""
        output.step(f"ansible-deploy: kept {kept}its {count} backup(s){where}")
        output.detail("(the admin opts in to dropping them with database-purge-on-destroy true)")


def _migrate(repo: Repository, app: str, folder: Path) -> None:
    """One backup taken before restic, into the repository as the same two snapshots a backup writes now."""
    when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(_created(folder.name)))
    tags = [f"app={app}", f"backup={folder.name}", "migrated=folder"]
    for dump in (*folder.glob("database.pgc"), *folder.glob("database.sql.gz")):
        with dump.open("rb") as source:
            repo.backup_stdin(source, dump.name, [*tags, "kind=database"], when)
    counts = folder / "database.json"
    manifest = json.loads(counts.read_text()) if counts.exists() else {}
    archives = sorted(folder.glob("storage-*.tar.gz"))
    names = [a.name.removeprefix("storage-").removesuffix(".tar.gz") for a in archives]
    manifest["storage"] = {name: f"storage/{name}" for name in names}
    _stream_tar(repo, manifest, archives, [*tags, "kind=files"], when)
    shutil.rmtree(folder)
    output.step(f"ansible-deploy: moved the backup {folder.name} of {app} into {repo.location}")


def _stream_tar(repo: Repository, manifest: dict[str, Any], archives: list[Path], tags: list[str], when: str) -> None:
    """files.tar as a backup writes it (backup.json, then storage/NAME/...), from the older per-folder archives,
    written by a thread into the pipe restic reads: nothing is staged on disk."""
    read, write = os.pipe()

    def produce() -> None:
        with os.fdopen(write, "wb") as sink, tarfile.open(fileobj=sink, mode="w|") as out:
            data = json.dumps(manifest, indent=2).encode()
            info = tarfile.TarInfo("backup.json")
            info.size, info.mtime, info.mode = len(data), int(time.time()), 0o600
            out.addfile(info, io.BytesIO(data))
            for archive, prefix in zip(archives, manifest["storage"].values(), strict=True):
                with tarfile.open(archive, "r:gz") as old:
                    for member in old:
                        inside = "" if member.name in {".", "./"} else member.name.removeprefix("./")
                        member.name = f"{prefix}/{inside}".rstrip("/")
                        out.addfile(member, old.extractfile(member) if member.isfile() else None)

    thread = threading.Thread(target=produce)
    thread.start()
    try:
        with os.fdopen(read, "rb") as source:
            repo.backup_stdin(source, "files.tar", tags, when)
    finally:
        thread.join()


def human_size(size: int) -> str:
    value = float(size)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":  # noqa: PLR2004
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{size} B"


def cron_lines(dokku: Dokku) -> list[str]:
    """`SCHEDULE;COMMAND;LOGFILE` for each app whose env.yml asks for scheduled backups (Dokku's cron-entries)."""
    logs = os.environ.get("DOKKU_LOGS_DIR", "/var/log/dokku")
    lines = []
    store = Store(dokku)
    for app in dokku.apps():
        schedule = State.load(dokku.data_dir(app)).backups.get("schedule")
        if schedule and cron.SCHEDULE.fullmatch(schedule):  # validated at push; checked again: it goes into a crontab
            drill_flag = " --drill" if store.computed(app, "backup-drill") == "true" else ""
            lines.append(f"{schedule};dokku ansible-deploy:backup {app}{drill_flag};{logs}/ansible-deploy-backup.log")
    return lines
