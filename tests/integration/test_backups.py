"""Backups in restic repositories: SeaweedFS's S3 gateway on loopback (the sandbox's backup-repository) and the
local default, against the real PostgreSQL; failures, retention, restores, drills and secrets."""

from __future__ import annotations

import io
import json
import os
import signal
import stat
import subprocess
import sys
import tarfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import services
from conftest import TOKEN, Receiver, Sandbox, edit_env, output, services_facts
from test_databases import backup_ids, databases, deploy, notes_copy, report, sql

GLOBAL = Path("data") / "ansible" / ".settings" / "--global"


def restic(box: Sandbox, *args: str, local: bool = False) -> Any:  # restic's JSON
    """restic ARGS --json against the sandbox's repository, as the admin would run it by hand."""
    return json.loads(restic_raw(box, *args, "--json", local=local))


def restic_raw(box: Sandbox, *args: str, local: bool = False) -> bytes:
    """restic ARGS against the sandbox's repository: its output."""
    store = box.lib / GLOBAL
    if local:
        env = {
            "RESTIC_REPOSITORY": str(box.lib / "data" / "ansible" / ".backups" / ".restic"),
            "RESTIC_PASSWORD_FILE": str(store / ".local-repository-password"),
        }
    else:
        env = {
            "RESTIC_REPOSITORY": (store / "backup-repository").read_text(),
            "RESTIC_PASSWORD_FILE": str(store / "backup-repository-password"),
            "AWS_ACCESS_KEY_ID": (store / "backup-s3-access-key-id").read_text(),
            "AWS_SECRET_ACCESS_KEY": (store / "backup-s3-secret-access-key").read_text(),
        }
    done = subprocess.run(
        ["restic", "--no-cache", *args], capture_output=True, check=True, env={**os.environ, **env}
    )  # fmt: skip
    return done.stdout


def tags_of(box: Sandbox, app: str, **kw: bool) -> list[dict[str, str]]:
    return [
        dict(t.split("=", 1) for t in s["tags"] if "=" in t)
        for s in restic(box, "snapshots", "--tag", f"ansible-deploy,app={app}", **kw)
    ]


def runs(box: Sandbox, app: str) -> list[dict[str, Any]]:
    return [json.loads(p.read_text()) for p in sorted((box.data_dir(app) / "runs").glob("*.json"))]


def metrics(box: Sandbox) -> str:
    folder = Path(str(services_facts(box)["prometheus"]["folder"]))
    return (folder / "textfile" / "ansible-deploy.prom").read_text()


def test_backups_go_to_s3_and_retention_prunes_only_the_apps_own_snapshots(served: Sandbox, tmp_path: Path) -> None:
    deploy(served, "other", notes_copy(tmp_path, "other", backups={"schedule": "0 4 * * *", "keep": 1}))
    served.ok("ansible-deploy:backup", "other")
    policy = {"schedule": "0 3 * * *", "keep": 2, "keep-daily": 1}
    deploy(served, "pruned", notes_copy(tmp_path, "pruned", backups=policy))
    sql(served, "pruned", "CREATE TABLE items (n int)", "INSERT INTO items VALUES (1)")
    for _ in range(3):
        last = served.ok("ansible-deploy:backup", "pruned")
    assert "removed backup pruned-" in last and "keeping 2 newest, 1 daily" in last
    kept = backup_ids(served, "pruned")
    assert len(kept) == 2
    release = served.staged("pruned").name
    snapshots = tags_of(served, "pruned")
    assert sorted((t["backup"], t["kind"]) for t in snapshots) == sorted(
        (b, k) for b in kept for k in ("database", "files")
    )
    assert {t["release"] for t in snapshots} == {release}
    assert len(tags_of(served, "other")) == 2, "another app's snapshots are never pruned by this one's policy"
    where = (served.lib / GLOBAL / "backup-repository").read_text()
    assert where.startswith("s3:http://127.0.0.1:")
    listed = served.ok("ansible-deploy:backups", "pruned")
    assert f"pruned backups in {where}" in listed and all(b in listed for b in kept)
    for backup in json.loads(served.ok("ansible-deploy:backups", "pruned", "--format", "json")):
        restored = restic(served, "stats", "--mode", "restore-size", "--tag", f"ansible-deploy,backup={backup['id']}")
        assert backup["size"] == restored["total_size"] > 0, "the size restic counted while writing is the restore's"
    assert report(served, "pruned", "backup-destination") == where
    assert report(served, "pruned", "next-backup-at").endswith("T03:00Z")
    assert report(served, "pruned", "last-backup-result") == "succeeded"
    assert report(served, "pruned", "backups-kept") == "2"


def test_a_wrong_repository_password_fails_the_backup_in_plain_words_and_notifies(
    served: Sandbox, tmp_path: Path, hook: Receiver
) -> None:
    deploy(served, "guarded", notes_copy(tmp_path, "guarded", backups={"schedule": "0 3 * * *"}))
    served.ok("ansible-deploy:backup", "guarded")
    [good] = backup_ids(served, "guarded")
    seen = 'ansible_deploy_last_backup_timestamp_seconds{app="guarded"} '
    last_good = next(line for line in metrics(served).splitlines() if line.startswith(seen))
    password = (served.lib / GLOBAL / "backup-repository-password").read_text()
    url = f"http://127.0.0.1:{hook.server_address[1]}/hooks/{TOKEN}"
    assert served.dokku("ansible-deploy:set", "guarded", "notify-webhook-url", "-", input=url).returncode == 0
    wrong = "n0t-the-password"  # no word of the messages: a declared secret is masked wherever it appears
    assert (
        served.dokku("ansible-deploy:set", "--global", "backup-repository-password", "-", input=wrong).returncode == 0
    )
    try:
        failed = served.dokku("ansible-deploy:backup", "guarded")
        assert failed.returncode != 0
        assert "the repository password is wrong" in output(failed)
        assert "Traceback" not in output(failed)
        run = runs(served, "guarded")[-1]
        assert (run["phase"], run["status"]) == ("backup", "failed")
        assert "the repository password is wrong" in run["message"]
        assert [(p["phase"], p["status"]) for p in hook.posts] == [("backup", "failed")]
        assert report(served, "guarded", "last-backup-result") == "failed"
        assert "the repository password is wrong" in report(served, "guarded", "last-backup-error")
        assert last_good in metrics(served), "the last good backup is still the one the metrics tell"
    finally:
        served.dokku("ansible-deploy:set", "--global", "backup-repository-password", "-", input=password)
    served.ok("ansible-deploy:backup", "guarded")
    assert len(backup_ids(served, "guarded")) == 2 and good in backup_ids(served, "guarded")
    assert report(served, "guarded", "last-backup-result") == "succeeded"


def _restic_backup_running() -> bool:
    return _restic_backup_pid() is not None


def _restic_backup_pid() -> int | None:
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            argv = cmdline.read_bytes().split(b"\0")
        except OSError:
            continue
        if argv[0].endswith(b"restic") and b"backup" in argv:
            return int(cmdline.parent.name)
    return None


def test_the_s3_server_stopped_during_a_backup_fails_it_and_the_next_one_succeeds(
    served: Sandbox, tmp_path: Path
) -> None:
    deploy(served, "halted", notes_copy(tmp_path, "halted"))
    served.ok("ansible-deploy:backup", "halted")
    before = backup_ids(served, "halted")
    (served.lib / "data" / "storage" / "halted-attachments" / "big.bin").write_bytes(os.urandom(64 << 20))
    facts_path = served.root / "services" / "services.json"
    facts = json.loads(facts_path.read_text())
    served.ok("ansible-deploy:set", "--global", "backup-timeout", "20")
    try:
        backup = subprocess.Popen(
            [str(served.root / "bin" / "dokku"), "ansible-deploy:backup", "halted"],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )  # fmt: skip
        deadline = time.monotonic() + 120
        while not _restic_backup_running() and time.monotonic() < deadline:
            time.sleep(0.05)
        services.stop(int(facts["s3"]["pid"]))
        said = backup.communicate(timeout=300)[0]
        assert backup.returncode != 0
        assert "the repository cannot be reached" in said, said
        assert "Traceback" not in said
        assert runs(served, "halted")[-1]["status"] == "failed"

        edit_env(notes := tmp_path / "halted", env={"COLOUR": "green"})
        pushed = served.push("halted", notes)
        assert pushed.returncode == 0, output(pushed)
        assert "halted's backups will fail until this is fixed: " in output(pushed)
    finally:
        facts["s3"] = services.restart_seaweedfs(facts["s3"])
        facts_path.write_text(json.dumps(facts))
        served.ok("ansible-deploy:set", "--global", "backup-timeout", "")
    assert backup_ids(served, "halted") == before, "nothing of the failed backup counts as one"
    served.ok("ansible-deploy:backup", "halted")
    assert len(backup_ids(served, "halted")) == 2


def _legacy_backup(box: Sandbox, app: str, folder: Path) -> None:
    """A backup as the plugin wrote them before restic: a folder with the dump, the counts and an archive."""
    folder.mkdir(parents=True)
    facts = services_facts(box)["postgres"]
    subprocess.run(
        ["pg_dump", "--format=custom", "-h", "127.0.0.1", "-p", str(facts["port"]), "-U", "postgres",
         "-f", str(folder / "database.pgc"), app],
        env={**os.environ, "PGPASSWORD": Path(str(facts["password_file"])).read_text()}, check=True,
    )  # fmt: skip
    (folder / "database.json").write_text(json.dumps({"engine": "postgres", "tables": {"public.items": 1}}))
    with tarfile.open(folder / "storage-attachments.tar.gz", "w:gz") as archive:
        archive.add(box.lib / "data" / "storage" / f"{app}-attachments", arcname=".")
    subprocess.run(["chown", "-R", "dokku:dokku", str(folder.parent.parent)], check=True)


def test_the_local_repository_is_the_default_and_older_folder_backups_move_into_it(
    served: Sandbox, tmp_path: Path
) -> None:
    where = (served.lib / GLOBAL / "backup-repository").read_text()
    served.ok("ansible-deploy:set", "--global", "backup-repository", "")
    try:
        deploy(served, "older", notes_copy(tmp_path, "older"))
        sql(served, "older", "CREATE TABLE items (name text)", "INSERT INTO items VALUES ('old')")
        attachments = served.lib / "data" / "storage" / "older-attachments"
        (attachments / "note.txt").write_text("from before restic")
        old = served.lib / "data" / "ansible" / ".backups" / "older" / "older-20261101T030000Z"
        _legacy_backup(served, "older", old)

        listed = served.ok("ansible-deploy:backups", "older")
        assert "moved the backup older-20261101T030000Z of older into" in listed
        local = served.lib / "data" / "ansible" / ".backups" / ".restic"
        assert f"older backups in {local}" in listed and not old.exists()
        assert {t["migrated"] for t in tags_of(served, "older", local=True)} == {"folder"}

        sql(served, "older", "DROP TABLE items")
        (attachments / "note.txt").unlink()
        served.ok("ansible-deploy:restore", "older", old.name, "--force")
        assert sql(served, "older", "SELECT name FROM items") == [("old",)]
        assert (attachments / "note.txt").read_text() == "from before restic"
        assert served.dokku("ansible-deploy:drill", "older", old.name).returncode == 0
        assert report(served, "older", "backup-destination") == str(local)
        assert not [p for p in local.rglob("*") if p.stat().st_mode & 0o077], "the repository is the dokku user's"

        for pack in (local / "data").rglob("*"):  # a disk that rots: every pack's middle overwritten
            if pack.is_file():
                data = bytearray(pack.read_bytes())
                data[len(data) // 2 : len(data) // 2 + 64] = os.urandom(64)
                pack.write_bytes(bytes(data))
        bad = served.dokku("ansible-deploy:drill", "older")
        assert bad.returncode != 0
        assert "The restore drill of" in output(bad) and "Traceback" not in output(bad)
        assert report(served, "older", "last-drill-result") == "failed"
        assert "_drill_older" not in databases(served), "the scratch copy is dropped either way"
        assert 'ansible_deploy_last_drill_success{app="older"} 0' in metrics(served)
    finally:
        served.ok("ansible-deploy:set", "--global", "backup-repository", where)


def test_no_backup_secret_shows_anywhere(served: Sandbox, tmp_path: Path) -> None:
    """The repository password, the S3 secret key and the database password: in no output, no process's
    arguments (strace over a backup, its drill and a restore), no world-readable file of the sandbox."""
    app = "backup-canary"
    database_canary = "canary-backup-db-password-0123456789"
    served.ok("apps:create", app)
    store = served.lib / "data" / "ansible" / ".settings" / app
    store.mkdir(parents=True, exist_ok=True)
    (store / "database-password").write_text(database_canary)
    (store / "database-password").chmod(0o600)  # as ansible-deploy:set stores a secret
    subprocess.run(["chown", "-R", "dokku:dokku", str(store)], check=True)
    deploy(served, app, notes_copy(tmp_path, app, backups={"schedule": "0 3 * * *"}))
    globals_ = served.lib / GLOBAL
    canaries = [
        database_canary,
        (globals_ / "backup-repository-password").read_text(),
        (globals_ / "backup-s3-secret-access-key").read_text(),
    ]
    trace, dokku = tmp_path / "execve.log", served.root / "bin" / "dokku"
    script = (
        f"{dokku} ansible-deploy:backup {app} --drill && {dokku} ansible-deploy:backups {app} && "
        f"{dokku} ansible-deploy:restore {app} $({dokku} ansible-deploy:backups {app} --format json | "
        f"{sys.executable} -c 'import json, sys; print(json.load(sys.stdin)[0][\"id\"])') --force"
    )
    said = subprocess.run(
        ["strace", "-ff", "-qq", "-e", "trace=execve", "-s", "100000", "-o", str(trace), "sh", "-c", script],
        capture_output=True, text=True, check=False, timeout=600,
    )  # fmt: skip
    assert said.returncode == 0, said.stdout + said.stderr
    calls = "".join(p.read_text(errors="replace") for p in tmp_path.glob("execve.log.*"))
    assert "restic" in calls and "pg_dump" in calls and "pg_restore" in calls  # the whole of it was traced
    shown = said.stdout + said.stderr
    for command in (["ansible-deploy:report", app], ["ansible-deploy:history", app], ["ansible-deploy:logs", app]):
        shown += served.ok(*command)
    world_readable = {}
    for path in served.root.rglob("*"):
        try:
            if (
                path.is_file()
                and not path.is_symlink()
                and path.stat().st_mode & 0o004
                and path.stat().st_size < 1 << 22
            ):
                world_readable[path] = path.read_text(errors="replace")
        except OSError:
            continue
    for canary in canaries:
        assert canary not in calls, "a secret in a process's arguments"
        assert canary not in shown, "a secret in the output"
        assert not [p for p, text in world_readable.items() if canary in text], "a secret in a world-readable file"


def test_seaweedfs_once_down_leaves_none_of_its_sockets_in_tmp(tmp_path: Path) -> None:
    """The harness's own hygiene: SeaweedFS makes its unix sockets in /tmp whatever its folder; down removes them."""
    facts = services.start_seaweedfs(tmp_path / "services" / "seaweedfs")
    (tmp_path / "services" / "services.json").write_text(json.dumps({"s3": facts}))
    sockets = [Path(p) for p in facts["sockets"]]  # type: ignore[attr-defined]
    deadline = time.monotonic() + 30
    while not all(p.is_socket() for p in sockets) and time.monotonic() < deadline:  # the names down() will remove
        time.sleep(0.05)
    assert all(p.is_socket() for p in sockets), sockets
    services.down(tmp_path)
    assert not [p for p in sockets if p.exists()]


def files_tar(box: Sandbox, app: str, backup_id: str) -> tarfile.TarFile:
    """files.tar of one backup, as restic gives it back."""
    [snapshot] = restic(box, "snapshots", "--tag", f"ansible-deploy,backup={backup_id},kind=files")
    return tarfile.open(fileobj=io.BytesIO(restic_raw(box, "dump", snapshot["id"], "/files.tar")))


def test_storage_the_plugin_cannot_read_is_skipped_named_and_recorded(served: Sandbox, tmp_path: Path) -> None:
    """Several folders; a 0600 file and a 0700 folder the dokku user cannot read: the backup succeeds with the
    rest, says what it skipped, records it in the report, and files.tar holds everything else."""
    app = "unreadable"
    folders = [{"name": "attachments", "path": "/app/attachments"}, {"name": "cache", "path": "/app/cache"}]
    deploy(served, app, notes_copy(tmp_path, app, storage=folders))
    attachments, cache = (served.lib / "data" / "storage" / f"{app}-{f['name']}" for f in folders)
    (attachments / "note.txt").write_text("readable")
    (cache / "page.html").write_text("cached")
    secret = attachments / "session"
    secret.write_text("only the app's")
    secret.chmod(0o600)
    closed = attachments / "private"
    closed.mkdir()
    (closed / "inside.txt").write_text("only the app's")
    closed.chmod(0o700)
    backed_up = served.dokku("ansible-deploy:backup", app)
    said = output(backed_up)
    assert backed_up.returncode == 0, said
    assert f"2 file(s) or folder(s) of {app}'s storage could not be read" in said, said
    assert str(secret) in said and str(closed) in said
    assert report(served, app, "last-backup-result") == "succeeded"
    assert report(served, app, "last-backup-skipped") == f"{closed} {secret}"
    [taken] = backup_ids(served, app)
    with files_tar(served, app, taken) as archive:
        names = {m.name for m in archive.getmembers()}
    inside = str(attachments).lstrip("/")
    assert {f"{inside}/note.txt", f"{str(cache).lstrip('/')}/page.html", "backup.json"} <= names
    assert f"{inside}/session" not in names and f"{inside}/private/inside.txt" not in names


def _started(box: Sandbox, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [str(box.root / "bin" / "dokku"), *args], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )


def _finished(started: list[subprocess.Popen[str]]) -> list[tuple[int, str]]:
    said = [p.communicate(timeout=600)[0] for p in started]
    return [(p.returncode, text) for p, text in zip(started, said, strict=True)]


def _at_once(box: Sandbox, *commands: list[str]) -> list[tuple[int, str]]:
    """dokku COMMAND for each of commands, all started at the same moment (as cron starts a shared schedule)."""
    return _finished([_started(box, *command) for command in commands])


def _backup_recorded(box: Sandbox, app: str) -> str:
    path = box.data_dir(app) / "backups.json"
    return str(json.loads(path.read_text()).get("backup", {}).get("id", "")) if path.exists() else ""


def test_apps_sharing_a_schedule_back_up_at_once_and_each_keeps_its_keep(served: Sandbox, tmp_path: Path) -> None:
    """Four apps (the issue's reproduction) deployed at once and backed up at the same moment into a repository not
    made yet, twice (the second time each prunes: keep 1). In the second round one app's restic backup is paused
    while it holds the repository, and the other three and a drill run meanwhile (as a manual backup during a
    scheduled one): the repository is made once, none fails on another restic run's lock, each keeps one backup."""
    apps = [f"crowd{i}" for i in range(4)]
    where = (served.lib / GLOBAL / "backup-repository").read_text()
    served.ok("ansible-deploy:set", "--global", "backup-repository", f"{where}-crowd")  # none there yet: the apps'
    try:  # first deploys and backups, four at once, all find no repository
        _crowd(served, tmp_path, apps)
    finally:
        served.ok("ansible-deploy:set", "--global", "backup-repository", where)


def _crowd(served: Sandbox, tmp_path: Path, apps: list[str]) -> None:
    sources = {
        app: notes_copy(
            tmp_path, app, database=None, tls="none", monitoring=None, backups={"schedule": "0 3 * * *", "keep": 1}
        )
        for app in apps
    }
    for app in apps:
        served.ok("apps:create", app)
    with ThreadPoolExecutor(max_workers=4) as pool:
        pushed = list(pool.map(lambda app: served.push(app, sources[app]), apps))
    assert [p.returncode for p in pushed] == [0] * len(apps), [output(p) for p in pushed if p.returncode]
    first = _at_once(served, *(["ansible-deploy:backup", app] for app in apps))
    assert [rc for rc, _ in first] == [0] * len(apps), [said for rc, said in first if rc]
    before = {app: _backup_recorded(served, app) for app in apps}

    (served.lib / "data" / "storage" / f"{apps[0]}-attachments" / "new.bin").write_bytes(os.urandom(1 << 20))
    held = _started(served, "ansible-deploy:backup", apps[0])
    deadline = time.monotonic() + 120
    while (paused := _restic_backup_pid()) is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert paused is not None, "the first backup's restic never started"
    os.kill(paused, signal.SIGSTOP)
    try:
        others = [_started(served, "ansible-deploy:backup", app) for app in apps[1:]]
        others.append(_started(served, "ansible-deploy:drill", apps[1]))
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline and not all(
            _backup_recorded(served, app) != before[app] or process.poll() is not None
            for app, process in zip(apps[1:], others, strict=False)
        ):
            time.sleep(0.2)
        time.sleep(3)  # each has written its backup: its prune comes now, while the paused one holds the repository
    finally:
        os.kill(paused, signal.SIGCONT)
    second = _finished([held, *others])
    assert [rc for rc, _ in second] == [0] * (len(apps) + 1), [said for rc, said in second if rc]
    assert sum("removed backup crowd" in said for _, said in second) == len(apps)
    for app in apps:
        assert len(backup_ids(served, app)) == 1
        assert len(tags_of(served, app)) == 1, "its files snapshot alone: the one backup kept"


def _owners(folder: Path) -> set[int]:
    return {p.lstat().st_uid for p in [folder, *folder.rglob("*")]}


def test_a_folder_the_apps_own_user_owns_restores_with_the_database_and_is_given_back(
    served: Sandbox, tmp_path: Path
) -> None:
    """An app run as a user of its own (DOKKU_APP_USER) whose folder the admin gave to that user: the restore puts
    rows and files back and gives the folder back to that user, the entry as it was. Then a restore whose files
    step fails (a device node the dokku user cannot make): nothing changed, and it says so."""
    app = "ownuser"
    deploy(served, app, notes_copy(tmp_path, app, env={"DOKKU_APP_USER": "nobody"}))
    folder = served.lib / "data" / "storage" / f"{app}-attachments"
    entry = served.lib / "data" / "storage-registry" / "entries" / f"{app}-attachments.json"
    recorded = entry.read_text()
    nobody = 65534
    sql(served, app, "CREATE TABLE items (name text)", "INSERT INTO items VALUES ('then')")
    (folder / "note.txt").write_text("then")
    (folder / "sub").mkdir()
    (folder / "sub" / "deep.txt").write_text("deep")
    subprocess.run(["chown", "-R", f"{nobody}:{nobody}", str(folder)], check=True)  # the admin, as README says
    served.ok("ansible-deploy:backup", app)
    [taken] = backup_ids(served, app)
    sql(served, app, "UPDATE items SET name = 'now'")
    (folder / "note.txt").write_text("now")
    (folder / "stray.txt").write_text("since")
    victim = served.lib / "data" / "storage" / "another-apps"  # the app plants the staging folder's name, pointing
    victim.mkdir()  # at a folder the dokku user may write, not its own
    (victim / "precious.txt").write_text("not the app's")
    subprocess.run(["chown", "-R", "dokku:dokku", str(victim)], check=True)
    (folder / ".ansible-deploy-restore").symlink_to(victim)
    subprocess.run(["chown", "-R", "-h", f"{nobody}:{nobody}", str(folder)], check=True)
    served.ok("ansible-deploy:restore", app, taken, "--force")
    assert [p.name for p in victim.iterdir()] == ["precious.txt"], "nothing written or removed through the link"
    assert sql(served, app, "SELECT name FROM items") == [("then",)]
    assert sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*")) == ["note.txt", "sub", "sub/deep.txt"]
    assert (folder / "note.txt").read_text() == "then"
    assert _owners(folder) == {nobody}, "given back to the app's user"
    assert entry.read_text() == recorded

    os.mknod(folder / "device", stat.S_IFCHR | 0o600, os.makedev(1, 3))
    served.ok("ansible-deploy:backup", app)
    unrestorable = backup_ids(served, app)[0]
    (folder / "device").unlink()
    sql(served, app, "UPDATE items SET name = 'later'")
    (folder / "note.txt").write_text("later")
    failed = served.dokku("ansible-deploy:restore", app, unrestorable, "--force")
    said = output(failed)
    assert failed.returncode != 0, said
    assert "Traceback" not in said
    assert f"the restore of {unrestorable} failed" in said and "Cannot mknod" in said, said
    assert "Database: as it was before the restore; storage folders: attachments as before the restore" in said, said
    assert "holds the database and the folders as they were before the restore" in said, said
    assert sql(served, app, "SELECT name FROM items") == [("later",)]
    assert (folder / "note.txt").read_text() == "later"
    assert sorted(p.name for p in folder.iterdir()) == ["note.txt", "sub"]
    assert _owners(folder) == {nobody}
    assert entry.read_text() == recorded
