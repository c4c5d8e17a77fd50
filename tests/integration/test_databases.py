"""Databases and backups against real PostgreSQL and MariaDB servers, through sandbox pushes and the commands."""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
import sys
import time
import urllib.parse
from pathlib import Path

import psycopg2
import pymysql
import pytest
from conftest import (
    EXAMPLE,
    EXAMPLE_SECRET_KEY,
    EXAMPLE_VAULT_PASSWORD,
    REPO,
    Sandbox,
    dokku_secret_stores,
    edit_env,
    files_holding,
    output,
    refused_port,
    services_facts,
    silent_server,
)

NOTES = REPO / "examples" / "notes"


def notes_copy(tmp_path: Path, name: str, **changes: object) -> Path:
    src = tmp_path / name
    shutil.copytree(NOTES, src)
    edit_env(src, domains=[f"{name}.example.test"], **changes)
    return src


def deploy(box: Sandbox, app: str, src: Path) -> subprocess.CompletedProcess[str]:
    if not (box.home / app).exists():
        box.ok("apps:create", app)
    result = box.push(app, src)
    assert result.returncode == 0, output(result)
    return result


def url(box: Sandbox, app: str) -> str:
    return box.ok("config:get", app, "DATABASE_URL").strip()


def sql(box: Sandbox, app: str, *statements: str, service: str = "") -> list[tuple[object, ...]]:
    """Run statements with the app's own DATABASE_URL (PostgreSQL or MariaDB); the last one's rows. service: the
    linked service, for an app the plugin has not provisioned yet (else the one its report names)."""
    parts = urllib.parse.urlsplit(url(box, app))
    host = str(parts.hostname)
    for engine in ("postgres", "mysql"):  # a service's container name: the host reaches its internal IP
        if host.startswith(f"dokku-{engine}-"):  # (the host name has "-" for the service name's "_")
            service = service or box.ok("ansible-deploy:report", app, "--ansible-deploy-database-name").strip()
            host = box.ok(f"{engine}:info", service, "--internal-ip").strip()
    login = {"host": host, "port": parts.port, "user": parts.username, "password": parts.password}
    if parts.scheme == "postgres":
        conn = psycopg2.connect(dbname=parts.path[1:], **login)
    else:
        conn = pymysql.connect(database=parts.path[1:], **login)
    with conn:
        cur = conn.cursor()
        rows: list[tuple[object, ...]] = []
        for statement in statements:
            cur.execute(statement)
            rows = list(cur.fetchall()) if cur.description else []
        conn.commit()
    return rows


def settings_of(box: Sandbox, app: str) -> dict[str, str]:
    """The app's settings, but GIT_REV (Dokku sets it on every push, before the plugin runs)."""
    return {k: v for k, v in box.config(app).items() if k != "GIT_REV"}


def backup_ids(box: Sandbox, app: str) -> list[str]:
    return [b["id"] for b in json.loads(box.ok("ansible-deploy:backups", app, "--format", "json"))]


def report(box: Sandbox, app: str, flag: str) -> str:
    return box.ok("ansible-deploy:report", app, f"--ansible-deploy-{flag}").strip()


def admin_connect(box: Sandbox) -> psycopg2.extensions.connection:
    facts = services_facts(box)["postgres"]
    password = Path(str(facts["password_file"])).read_text()
    return psycopg2.connect(host="127.0.0.1", port=facts["port"], user="postgres", password=password, dbname="postgres")


def databases(box: Sandbox) -> set[str]:
    with admin_connect(box) as conn:
        cur = conn.cursor()
        cur.execute("SELECT datname FROM pg_database")
        return {row[0] for row in cur.fetchall()}


def test_postgres_app_gets_a_working_database_that_later_pushes_keep(served: Sandbox, tmp_path: Path) -> None:
    src = notes_copy(tmp_path, "pgapp")
    first = deploy(served, "pgapp", src)
    assert "database" in output(first)
    assert sql(served, "pgapp", "CREATE TABLE items (name text)", "INSERT INTO items VALUES ('kept')") == []
    before = url(served, "pgapp")
    edit_env(src, env={"COLOUR": "blue"})  # a change, so the pre-deploy phase runs again
    deploy(served, "pgapp", src)
    assert url(served, "pgapp") == before
    assert sql(served, "pgapp", "SELECT name FROM items") == [("kept",)]
    assert report(served, "pgapp", "database-engine") == "postgres"
    assert report(served, "pgapp", "database-backend-in-use") == "server"
    with admin_connect(served) as conn:  # least privilege: a plain login role that owns only its database
        cur = conn.cursor()
        cur.execute("SELECT rolsuper, rolcreatedb, rolcreaterole FROM pg_roles WHERE rolname = 'pgapp'")
        assert cur.fetchone() == (False, False, False)


def test_backup_then_restore_brings_a_dropped_table_back(served: Sandbox, tmp_path: Path) -> None:
    deploy(served, "restoreme", notes_copy(tmp_path, "restoreme"))
    sql(served, "restoreme", "CREATE TABLE items (name text)", "INSERT INTO items VALUES ('precious')")
    attachments = served.lib / "data" / "storage" / "restoreme-attachments"
    (attachments / "note.txt").write_text("attached")
    served.ok("ansible-deploy:backup", "restoreme")
    [taken] = backup_ids(served, "restoreme")
    sql(served, "restoreme", "DROP TABLE items")
    (attachments / "note.txt").unlink()
    (attachments / "stray.txt").write_text("added after the backup")
    refused = served.dokku("ansible-deploy:restore", "restoreme", taken, input="no\n")
    assert refused.returncode != 0
    assert "Confirmation did not match restoreme" in output(refused)
    served.ok("ansible-deploy:restore", "restoreme", taken, "--force")
    assert sql(served, "restoreme", "SELECT name FROM items") == [("precious",)]
    assert sorted(p.name for p in attachments.iterdir()) == ["note.txt"]
    assert len(backup_ids(served, "restoreme")) == 2  # the safety backup taken before the restore


def test_retention_keeps_exactly_keep_and_a_failed_backup_removes_none(served: Sandbox, tmp_path: Path) -> None:
    src = notes_copy(tmp_path, "retained", backups={"schedule": "0 3 * * *", "keep": 2})
    deploy(served, "retained", src)
    for _ in range(3):
        served.ok("ansible-deploy:backup", "retained")
    kept = backup_ids(served, "retained")
    assert len(kept) == 2
    port = services_facts(served)["postgres"]["port"]
    served.ok("ansible-deploy:set", "--global", "postgres-port", "1")  # the database server is down
    try:
        failed = served.dokku("ansible-deploy:backup", "retained")
        assert failed.returncode != 0
        assert "backup failed at task" in output(failed)
        assert backup_ids(served, "retained") == kept  # nothing of the failed one counts as a backup
        settings = settings_of(served, "retained")
        edit_env(src, env={"COLOUR": "red"})
        pushed = served.push("retained", src)
        assert pushed.returncode != 0
        assert "pre-deploy failed at task" in output(pushed)
        assert "Traceback" not in output(pushed)
        assert settings_of(served, "retained") == settings  # the app's settings untouched
    finally:
        served.ok("ansible-deploy:set", "--global", "postgres-port", str(port))


def test_the_drill_restores_a_backup_into_a_scratch_copy_and_drops_it(served: Sandbox, tmp_path: Path) -> None:
    deploy(served, "drilled", notes_copy(tmp_path, "drilled"))
    sql(served, "drilled", "CREATE TABLE items (n int)", "INSERT INTO items SELECT generate_series(1, 50)")
    good = served.dokku("ansible-deploy:backup", "drilled", "--drill")
    assert good.returncode == 0, output(good)
    assert "restore drill of drilled-" in output(good)
    assert report(served, "drilled", "last-drill-result") == "succeeded"
    assert "_drill_drilled" not in databases(served)
    metrics = (
        Path(str(services_facts(served)["prometheus"]["folder"])) / "textfile" / "ansible-deploy.prom"
    ).read_text()
    assert 'ansible_deploy_last_drill_success{app="drilled"} 1' in metrics
    assert 'ansible_deploy_last_backup_timestamp_seconds{app="drilled"}' in metrics
    assert 'ansible_deploy_backup_max_age_seconds{app="drilled"} 90000' in metrics


def test_mariadb_app_gets_a_database_backups_and_restores(served: Sandbox, tmp_path: Path) -> None:
    deploy(served, "myapp", notes_copy(tmp_path, "myapp", database={"engine": "mysql"}))
    assert url(served, "myapp").startswith("mysql://myapp:")
    sql(served, "myapp", "CREATE TABLE items (name text)", "INSERT INTO items VALUES ('row')")
    served.ok("ansible-deploy:backup", "myapp", "--drill")
    [taken] = backup_ids(served, "myapp")
    sql(served, "myapp", "DROP TABLE items")
    served.ok("ansible-deploy:restore", "myapp", taken, "--force")
    assert sql(served, "myapp", "SELECT name FROM items") == [("row",)]
    assert report(served, "myapp", "last-drill-result") == "succeeded"


def test_dokku_service_backend_links_renames_and_keeps_the_service(served: Sandbox, tmp_path: Path) -> None:
    served.ok("apps:create", "svcapp")
    served.ok("ansible-deploy:set", "svcapp", "database-backend", "dokku-service")
    deploy(served, "svcapp", notes_copy(tmp_path, "svcapp"))
    served.ok("postgres:linked", "svcapp", "svcapp")
    dsn = url(served, "svcapp")
    assert urllib.parse.urlsplit(dsn).hostname == "dokku-postgres-svcapp"  # set by the service plugin's link
    served.ok("ansible-deploy:backup", "svcapp", "--drill")
    assert report(served, "svcapp", "last-drill-result") == "succeeded"
    served.ok("apps:rename", "svcapp", "svcnew")
    served.ok("postgres:linked", "svcapp", "svcnew")
    assert url(served, "svcnew") == dsn
    assert report(served, "svcnew", "database-name") == "svcapp"
    assert len(backup_ids(served, "svcnew")) == 1
    served.ok("--force", "apps:destroy", "svcnew")
    served.ok("postgres:exists", "svcapp")  # the data outlives the app


def test_changing_the_engine_is_refused_before_anything_changes(served: Sandbox, tmp_path: Path) -> None:
    src = notes_copy(tmp_path, "fixed")
    deploy(served, "fixed", src)
    settings = settings_of(served, "fixed")
    edit_env(src, database={"engine": "mysql"})
    refused = served.push("fixed", src)
    assert refused.returncode != 0
    assert "database: engine is mysql, but this app's data is in a postgres database (fixed)" in output(refused)
    assert "Traceback" not in output(refused)
    assert settings_of(served, "fixed") == settings


def test_destroy_keeps_the_data_unless_the_admin_opted_in_to_purging(served: Sandbox, tmp_path: Path) -> None:
    deploy(served, "kept", notes_copy(tmp_path, "kept"))
    served.ok("ansible-deploy:backup", "kept")
    [taken] = backup_ids(served, "kept")
    destroyed = served.ok("--force", "apps:destroy", "kept")
    where = (served.lib / "data" / "ansible" / ".settings" / "--global" / "backup-repository").read_text()
    assert f"kept its postgres database kept and its 1 backup(s) in {where}" in destroyed
    assert "kept" in databases(served)
    served.ok("apps:create", "kept")  # the same name again: its backups are there to restore
    assert backup_ids(served, "kept") == [taken]

    deploy(served, "purged", notes_copy(tmp_path, "purged"))
    served.ok("ansible-deploy:backup", "purged")
    served.ok("ansible-deploy:set", "purged", "database-purge-on-destroy", "true")
    served.ok("--force", "apps:destroy", "purged")
    assert "purged" not in databases(served)
    served.ok("apps:create", "purged")
    assert backup_ids(served, "purged") == []


def test_rename_keeps_the_app_on_the_same_database(served: Sandbox, tmp_path: Path) -> None:
    deploy(served, "before", notes_copy(tmp_path, "before"))
    sql(served, "before", "CREATE TABLE items (name text)", "INSERT INTO items VALUES ('same')")
    served.ok("apps:rename", "before", "after")
    assert sql(served, "after", "SELECT name FROM items") == [("same",)]
    assert "before" in databases(served)
    served.ok("ansible-deploy:run", "after")  # provisioned again under the new name
    assert sql(served, "after", "SELECT name FROM items") == [("same",)]


def test_scheduled_backups_go_into_dokkus_crontab(served: Sandbox, tmp_path: Path) -> None:
    deploy(served, "cronned", notes_copy(tmp_path, "cronned", backups={"schedule": "*/30 * * * *", "keep": 3}))
    crontab = (served.lib / "data" / "cron" / "crontab").read_text()
    line = next(entry for entry in crontab.splitlines() if "ansible-deploy:backup cronned" in entry)
    schedule, command = line[: len("*/30 * * * *")], line[len("*/30 * * * *") + 1 :].split(" &>> ")[0]
    assert schedule == "*/30 * * * *"
    assert command == "dokku ansible-deploy:backup cronned --drill"
    served.ok(*command.split()[1:])  # what cron runs
    assert report(served, "cronned", "last-drill-result") == "succeeded"
    assert report(served, "cronned", "backups-kept") == "1"


@pytest.mark.parametrize("engine", ["postgres", "mysql"])
def test_no_database_password_shows_anywhere(served: Sandbox, tmp_path: Path, engine: str, started: float) -> None:
    app = f"canary-{engine}"
    canary = f"canary-db-password-{engine}-0123456789"
    served.ok("apps:create", app)
    store = served.lib / "data" / "ansible" / ".settings" / app
    store.mkdir(parents=True, exist_ok=True)
    (store / "database-password").write_text(canary)  # the plugin uses the stored password: make it a canary
    subprocess.run(["chown", "-R", "dokku:dokku", str(store)], check=True)
    src = notes_copy(tmp_path, app, database={"engine": engine})
    seen = [deploy(served, app, src)]
    assert canary in url(served, app)  # it did reach the app
    commands = [
        ("ansible-deploy:run", app, "--check"),
        ("ansible-deploy:backup", app, "--drill"),
        ("ansible-deploy:backups", app),
        ("ansible-deploy:report", app),
        ("ansible-deploy:report", app, "--format", "json"),
        ("ansible-deploy:history", app),
        ("ansible-deploy:logs", app),
        ("report", app),
    ]
    seen.extend(served.dokku(*command) for command in commands)
    edit_env(src, database={"engine": "mysql" if engine == "postgres" else "postgres"})
    seen.append(served.push(app, src))  # refused
    assert all(canary not in output(result) for result in seen)
    allowed = {store / "database-password", *dokku_secret_stores(served, app)}  # the 0600 secret stores
    assert files_holding(canary, served, started, allowed) == []


def _push_against_postgres_port(box: Sandbox, app: str, src: Path, port: int) -> subprocess.CompletedProcess[str]:
    """A first push of app with the server backend pointed at another port (put back afterwards)."""
    usual = services_facts(box)["postgres"]["port"]
    box.ok("apps:create", app)
    box.ok("ansible-deploy:set", "--global", "postgres-port", str(port))
    try:
        return box.push(app, src, timeout=180)
    finally:
        box.ok("ansible-deploy:set", "--global", "postgres-port", str(usual))


def test_a_database_server_that_never_answers_fails_the_push_within_its_timeout(
    served: Sandbox, tmp_path: Path
) -> None:
    """A server that accepts connections and says nothing (overloaded, or a firewall's tarpit) fails the push
    after the connect timeout, when the plugin first asks it whether the app's database name is free, instead of
    hanging the deploy; nothing has changed yet."""
    with silent_server() as silent:
        pushed = _push_against_postgres_port(served, "silent", notes_copy(tmp_path, "silent"), silent)
    text = output(pushed)
    assert pushed.returncode != 0
    assert f"database: cannot ask the postgres server at 127.0.0.1:{silent} whether silent is free" in text, text
    assert "timeout expired" in text
    assert "Traceback" not in text


def test_a_database_server_that_is_down_fails_the_push_naming_its_address(served: Sandbox, tmp_path: Path) -> None:
    """The first question to the admin's server (is the app's database name free?) names its address and cause."""
    with refused_port() as down:
        pushed = _push_against_postgres_port(served, "pgdown", notes_copy(tmp_path, "pgdown"), down)
    text = output(pushed)
    assert pushed.returncode != 0
    assert f"database: cannot ask the postgres server at 127.0.0.1:{down} whether pgdown is free" in text, text
    assert "Connection refused" in text and "Traceback" not in text


def test_a_forced_destroy_that_purges_a_linked_service_starts_no_deploy(served: Sandbox, tmp_path: Path) -> None:
    """A nested `dokku` call inherits the outer `--force` in DOKKU_GLOBAL_FLAGS, where dokku-postgres's unlink
    looks for `--no-restart`: the plugin's unlink must not restart the app being destroyed."""
    served.ok("apps:create", "gone")
    served.ok("ansible-deploy:set", "gone", "database-backend", "dokku-service")
    served.ok("ansible-deploy:set", "gone", "database-purge-on-destroy", "true")
    deploy(served, "gone", notes_copy(tmp_path, "gone"))
    destroyed = subprocess.run(
        [str(served.root / "bin" / "dokku"), "--force", "apps:destroy", "gone"],
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip  # the timeout only stops a hang
    assert destroyed.returncode == 0, output(destroyed)
    assert "Releasing gone" not in output(destroyed) and "Restarting app" not in output(destroyed)
    assert served.dokku("postgres:exists", "gone").returncode != 0
    assert not (served.lib / "data" / "apps" / "gone" / ".deploy.lock").exists()
    assert not (served.lib / "data" / "ps" / "gone").exists()


def test_a_link_made_under_an_outer_flag_restarts_nothing(served: Sandbox, tmp_path: Path) -> None:
    """`dokku --quiet ansible-deploy:run`: DOKKU_GLOBAL_FLAGS is `--quiet` for every nested call, so a nested
    `postgres:link ... --no-restart` alone would release and deploy the app inside the plugin's own run."""
    served.ok("apps:create", "relinked")
    served.ok("ansible-deploy:set", "relinked", "database-backend", "dokku-service")
    deploy(served, "relinked", notes_copy(tmp_path, "relinked"))
    served.ok("postgres:unlink", "relinked", "relinked")  # a restart of its own, outside the plugin
    pid = served.web("relinked")["pid"]
    ran = subprocess.run(
        [str(served.root / "bin" / "dokku"), "--quiet", "ansible-deploy:run", "relinked"],
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip  # the timeout only stops a hang
    assert ran.returncode == 0, output(ran)
    served.ok("postgres:linked", "relinked", "relinked")
    assert served.web("relinked")["pid"] == pid, "the link restarted the app"
    assert "Releasing relinked" not in output(ran)


def test_no_secret_is_ever_in_a_process_arguments(served: Sandbox, tmp_path: Path) -> None:
    """Every program a push starts, recorded by strace (sampling /proc would miss short calls): neither the database
    password nor a vault value may be in any argv, plain or as the base64 that config:set --encoded takes."""
    app = "argv-canary"
    canary = "canary-argv-password-0123456789"
    served.ok("apps:create", app)
    assert served.dokku("ansible-deploy:vault-password", app, input=EXAMPLE_VAULT_PASSWORD).returncode == 0
    store = served.lib / "data" / "ansible" / ".settings" / app
    store.mkdir(parents=True, exist_ok=True)
    (store / "database-password").write_text(canary)
    subprocess.run(["chown", "-R", "dokku:dokku", str(store)], check=True)
    src = notes_copy(tmp_path, app)
    shutil.copytree(EXAMPLE / "vault", src / "vault")  # its SECRET_KEY is a known value
    trace, log, done = tmp_path / "execve.log", tmp_path / "push.log", tmp_path / "push.log.rc"
    # strace follows every child, the app's processes too, and would wait for them: stop it once the push is done.
    tracer = subprocess.Popen(
        ["strace", "-ff", "-qq", "-e", "trace=execve", "-s", "100000", "-o", str(trace),
         "sh", "-c", '"$@" >"$0" 2>&1; echo $? >"$0.rc"', str(log),
         sys.executable, str(REPO / "scripts" / "sandbox"), "push", str(served.root), app, str(src)],
    )  # fmt: skip
    deadline = time.monotonic() + 600
    while not (done.exists() and done.stat().st_size) and tracer.poll() is None and time.monotonic() < deadline:
        time.sleep(0.5)
    tracer.kill()  # the tracees go on untraced; each finished process's own file (-ff) is complete
    tracer.wait(timeout=30)
    pushed = log.read_text()
    assert done.read_text().strip() == "0", pushed
    dsn = url(served, app)
    assert canary in dsn  # it did reach the app
    assert served.ok("config:get", app, "SECRET_KEY").strip() == EXAMPLE_SECRET_KEY  # and so did the vault's value
    calls = "".join(p.read_text(errors="replace") for p in tmp_path.glob("execve.log.*"))
    assert calls.count("execve(") > 100  # the whole push was traced, Ansible's forks included
    for secret in (canary, EXAMPLE_SECRET_KEY):
        assert secret not in calls and secret not in pushed
    for value in (dsn, EXAMPLE_SECRET_KEY):
        assert base64.b64encode(value.encode()).decode() not in calls


def test_a_clone_of_an_app_with_a_service_gets_its_own_database(served: Sandbox, tmp_path: Path) -> None:
    """apps:clone copies DATABASE_URL and adds the clone to the original service's links (dokku-postgres's
    post-app-clone-setup); a link then leaves DATABASE_URL alone. The clone must write to its own data."""
    served.ok("apps:create", "orig")
    served.ok("ansible-deploy:set", "orig", "database-backend", "dokku-service")
    src = notes_copy(tmp_path, "orig")
    edit_env(src, domains=None)  # a clone deploys the original's packaging, and may not take its domains
    deploy(served, "orig", src)
    sql(served, "orig", "CREATE TABLE items (name text)", "INSERT INTO items VALUES ('original')")
    cloned = served.dokku("apps:clone", "orig", "twin")
    assert cloned.returncode == 0, output(cloned)
    assert url(served, "twin") != url(served, "orig")
    assert urllib.parse.urlsplit(url(served, "twin")).hostname == "dokku-postgres-twin"
    assert served.dokku("postgres:linked", "orig", "twin").returncode != 0
    sql(served, "twin", "CREATE TABLE items (name text)", "INSERT INTO items VALUES ('clone')")
    assert sql(served, "orig", "SELECT name FROM items") == [("original",)]
    assert sql(served, "twin", "SELECT name FROM items") == [("clone",)]
    assert report(served, "twin", "database-name") == "twin"
    served.ok("ansible-deploy:backup", "twin", "--drill")
    assert report(served, "twin", "last-drill-result") == "succeeded"


def _storage_of(box: Sandbox, app: str) -> list[str]:
    return [m["entry_name"] for m in json.loads(box.ok("storage:list", app, "--format", "json"))]


def test_apps_whose_names_met_keep_their_own_folders_databases_and_passwords(served: Sandbox, tmp_path: Path) -> None:
    """shop + prod-uploads and shop-prod + uploads were one storage entry; shop-prod and shop.prod one database and
    role; shop's drill copy was shop-drill's database. Each keeps its own through deploys, drills, restores,
    renames and destroys; an app re-created under a name whose data was kept is refused, never handed that data."""
    apps = {"shop": "prod-uploads", "shop-prod": "uploads", "shop.prod": "files", "shop-drill": "files"}
    for app, storage in apps.items():
        deploy(served, app, notes_copy(tmp_path, app, storage=[{"name": storage, "path": "/app/attachments"}]))
        sql(served, app, "CREATE TABLE mine (owner text)", f"INSERT INTO mine VALUES ('{app}')")  # noqa: S608  # the test's own app names
    entries = {app: _storage_of(served, app) for app in apps}
    assert len({entry for found in entries.values() for entry in found}) == len(apps), entries
    for app, [entry] in entries.items():
        (served.lib / "data" / "storage" / entry / "owner.txt").write_text(app)
    served.ok("ansible-deploy:backup", "shop", "--drill")
    assert report(served, "shop", "last-drill-result") == "succeeded"
    served.ok("ansible-deploy:backup", "shop-prod")
    [taken] = backup_ids(served, "shop-prod")
    sql(served, "shop-prod", "DELETE FROM mine")
    served.ok("ansible-deploy:restore", "shop-prod", taken, "--force")
    served.ok("apps:rename", "shop.prod", "shop.renamed")
    for app in ("shop", "shop-prod", "shop.renamed", "shop-drill"):  # each URL still logs in, onto its own rows
        owner = "shop.prod" if app == "shop.renamed" else app
        assert sql(served, app, "SELECT owner FROM mine") == [(owner,)], app
        [entry] = _storage_of(served, app)
        assert (served.lib / "data" / "storage" / entry / "owner.txt").read_text() == owner

    served.ok("apps:create", "shop.prod")  # the old name again, while shop.renamed still uses its database
    refused = served.push("shop.prod", notes_copy(tmp_path, "again", storage=[{"name": "files", "path": "/app/a"}]))
    assert refused.returncode != 0
    assert "is not recorded as shop.prod's" in output(refused)
    assert "dokku ansible-deploy:set shop.prod adopt-" in output(refused)
    assert "Traceback" not in output(refused)
    served.ok("--force", "apps:destroy", "shop-drill")
    served.ok("apps:create", "shop-drill")
    refused = served.push("shop-drill", notes_copy(tmp_path, "re", storage=[{"name": "files", "path": "/app/a"}]))
    assert refused.returncode != 0
    assert "is not recorded as shop-drill's" in output(refused)
    assert sql(served, "shop.renamed", "SELECT owner FROM mine") == [("shop.prod",)]


def test_an_app_of_an_earlier_version_keeps_its_entry_and_a_drill_never_drops_another_apps_service(
    served: Sandbox, tmp_path: Path
) -> None:
    """dokku-service backend: fire's drill copy was fire.drill's service. And an app provisioned by an earlier
    version (state.json without storage entries) keeps the entry mounted on it under the earlier name."""
    for app in ("fire", "fire.drill"):
        served.ok("apps:create", app)
        served.ok("ansible-deploy:set", app, "database-backend", "dokku-service")
        deploy(served, app, notes_copy(tmp_path, app))
        sql(served, app, "CREATE TABLE mine (owner text)", f"INSERT INTO mine VALUES ('{app}')")  # noqa: S608  # the test's own app names
    served.ok("ansible-deploy:backup", "fire", "--drill")
    assert report(served, "fire", "last-drill-result") == "succeeded"
    assert sql(served, "fire.drill", "SELECT owner FROM mine") == [("fire.drill",)]

    state_file = served.data_dir("fire.drill") / "state.json"
    earlier = json.loads(state_file.read_text())
    [entry] = _storage_of(served, "fire.drill")
    served.ok("storage:unmount", "fire.drill", entry, "--container-dir", "/app/attachments")
    served.ok("storage:create", "fire-drill-attachments")  # the earlier name, mounted by the earlier version
    served.ok("storage:mount", "fire.drill", "fire-drill-attachments", "--container-dir", "/app/attachments")
    (served.lib / "data" / "storage" / "fire-drill-attachments" / "kept.txt").write_text("kept")
    del earlier["storage"]
    earlier["phases"] = {}
    state_file.write_text(json.dumps(earlier))
    deploy(served, "fire.drill", notes_copy(tmp_path, "later", env={"COLOUR": "new"}))
    assert _storage_of(served, "fire.drill") == ["fire-drill-attachments"]
    assert (served.lib / "data" / "storage" / "fire-drill-attachments" / "kept.txt").read_text() == "kept"
    assert sql(served, "fire.drill", "SELECT owner FROM mine") == [("fire.drill",)]


def _refused_first_push(box: Sandbox, app: str, src: Path, *said: str, check: bool = True) -> None:
    """The push is refused with a message naming what exists and the admin's command; nothing changed, and
    `ansible-deploy:run --check` refuses the same."""
    settings = settings_of(box, app)
    refused = box.push(app, src)
    assert refused.returncode != 0
    for text in said:
        assert text in output(refused), output(refused)
    assert "Traceback" not in output(refused)
    assert settings_of(box, app) == settings
    if not check:
        return
    checked = box.dokku("ansible-deploy:run", app, "--check")
    assert checked.returncode != 0
    for text in said:
        assert text in output(checked), output(checked)
    assert settings_of(box, app) == settings


@pytest.mark.parametrize("engine", ["postgres", "mysql"])
def test_a_linked_service_of_any_name_is_refused_then_adopted_never_replaced(
    served: Sandbox, tmp_path: Path, engine: str
) -> None:
    """dokku-service backend: an app already linked to a service of its own naming, holding rows, gets database:.
    The first push is refused; once the admin adopts the service it is the app's: same URL, same rows, backed up,
    drilled and restored."""
    app, service = f"had-{engine}", f"{engine}_of_old"
    served.ok("apps:create", app)
    served.ok("ansible-deploy:set", app, "database-backend", "dokku-service")
    served.ok(f"{engine}:create", service)
    served.ok(f"{engine}:link", service, app)
    before = url(served, app)
    sql(served, app, "CREATE TABLE items (name text)", "INSERT INTO items VALUES ('old')", service=service)
    src = notes_copy(tmp_path, app, database={"engine": engine})
    _refused_first_push(
        served,
        app,
        src,
        f"{app} is already linked to the {engine} service {service}",
        f"dokku ansible-deploy:set {app} adopt-database {service}",
    )
    assert served.dokku(f"{engine}:exists", app).returncode != 0  # no second service
    served.ok("ansible-deploy:set", app, "adopt-database", service)
    deploy(served, app, src)
    assert url(served, app) == before
    assert sql(served, app, "SELECT name FROM items") == [("old",)]
    assert report(served, app, "database-name") == service
    assert served.dokku(f"{engine}:exists", app).returncode != 0
    if engine == "postgres":  # the drill's scratch copy of an adopted service, once
        served.ok("ansible-deploy:backup", app, "--drill")
        assert report(served, app, "last-drill-result") == "succeeded"
    else:
        served.ok("ansible-deploy:backup", app)
    [taken] = backup_ids(served, app)
    sql(served, app, "DELETE FROM items")
    served.ok("ansible-deploy:restore", app, taken, "--force")
    assert sql(served, app, "SELECT name FROM items") == [("old",)]
    assert url(served, app) == before


def test_a_database_url_on_the_admins_server_is_refused_then_adopted_never_replaced(
    served: Sandbox, tmp_path: Path
) -> None:
    """server backend: DATABASE_URL already names a database on the admin's server (its own role and password),
    holding rows. One elsewhere is refused for good; one on the server is refused until adopted, then kept: the
    URL and password unchanged, backed up and restored."""
    facts = services_facts(served)["postgres"]
    host, port = "127.0.0.1", int(str(facts["port"]))
    conn = admin_connect(served)
    conn.autocommit = True
    conn.cursor().execute("CREATE ROLE old_owner LOGIN PASSWORD 'old-password-kept'")
    conn.cursor().execute("CREATE DATABASE old_data OWNER old_owner")
    conn.close()
    app = "hadurl"
    served.ok("apps:create", app)
    src = notes_copy(tmp_path, app)
    served.ok(
        "config:set", "--no-restart", app, "DATABASE_URL=postgres://someone:pw-elsewhere@db.example.test:5432/shop"
    )
    _refused_first_push(
        served,
        app,
        src,
        "DATABASE_URL points at the database shop on db.example.test:5432",
        "not on the server",
        check=False,
    )
    before = f"postgres://old_owner:old-password-kept@{host}:{port}/old_data"
    served.ok("config:set", "--no-restart", app, f"DATABASE_URL={before}")
    sql(served, app, "CREATE TABLE items (name text)", "INSERT INTO items VALUES ('old')")
    _refused_first_push(
        served,
        app,
        src,
        f"DATABASE_URL points at the database old_data on {host}:{port}",
        f"dokku ansible-deploy:set {app} adopt-database old_data",
    )
    assert app not in databases(served)
    served.ok("ansible-deploy:set", app, "adopt-database", "old_data")
    served.ok("config:set", "--no-restart", app, f"DATABASE_URL={before.replace('kept', 'guessed')}")
    guessed = served.push(app, src)  # a URL that does not log in proves nothing: env.yml could have set it
    assert guessed.returncode != 0
    assert "but it does not log in there" in output(guessed), output(guessed)
    assert "old-password-guessed" not in output(guessed)
    served.ok("config:set", "--no-restart", app, f"DATABASE_URL={before}")
    deploy(served, app, src)
    assert url(served, app) == before
    assert sql(served, app, "SELECT name FROM items") == [("old",)]  # logs in with the old password
    assert report(served, app, "database-name") == "old_data"
    assert app not in databases(served)
    served.ok("ansible-deploy:backup", app)
    [taken] = backup_ids(served, app)
    sql(served, app, "DELETE FROM items")
    served.ok("ansible-deploy:restore", app, taken, "--force")
    assert sql(served, app, "SELECT name FROM items") == [("old",)]
    assert url(served, app) == before
    served.ok("apps:rename", app, "hadurl2")  # renamed, then destroyed: still the adopted database, kept
    assert url(served, "hadurl2") == before
    assert report(served, "hadurl2", "database-name") == "old_data"
    destroyed = served.ok("--force", "apps:destroy", "hadurl2")
    assert "kept its postgres database old_data" in destroyed
    assert "old_data" in databases(served)


def test_a_clone_of_a_dotted_app_gets_its_own_empty_database(served: Sandbox, tmp_path: Path) -> None:
    """shop.example.test adopted its service shop_example_test, whose host name dokku-postgres-shop-example-test
    is no service's name. Its clone must write into a new empty database of its own, never the original's."""
    app, service, clone = "shop.example.test", "shop_example_test", "copy.example.test"
    served.ok("apps:create", app)
    served.ok("ansible-deploy:set", app, "database-backend", "dokku-service")
    served.ok("postgres:create", service)
    served.ok("postgres:link", service, app)
    sql(served, app, "CREATE TABLE items (name text)", "INSERT INTO items VALUES ('original')", service=service)
    served.ok("ansible-deploy:set", app, "adopt-database", service)
    src = notes_copy(tmp_path, "shop")
    edit_env(src, domains=None, storage=None)  # a clone may not take the original's domains; storage: not here
    deploy(served, app, src)
    cloned = served.dokku("apps:clone", app, clone)
    assert cloned.returncode == 0, output(cloned)
    assert url(served, clone) != url(served, app)
    assert report(served, clone, "database-name") not in ("", service)
    assert served.dokku("postgres:linked", service, clone).returncode != 0
    assert sql(served, clone, "SELECT count(*) FROM pg_tables WHERE tablename = 'items'") == [(0,)]  # empty
    sql(served, clone, "CREATE TABLE items (name text)", "INSERT INTO items VALUES ('clone')")
    assert sql(served, app, "SELECT name FROM items") == [("original",)]
    assert sql(served, clone, "SELECT name FROM items") == [("clone",)]
