"""What a provisioning may create for an app: names taken at its first provisioning, recorded before the run.

Storage entries, databases, roles and services are global. One that exists but is not recorded as this app's is
another app's, or one that apps:destroy kept or apps:rename left behind: the push is refused, naming it and the
admin's command that hands it over, before anything changes. A name recorded here is the app's from then on, also
when the run that creates it fails part-way.

An app that already has a database when env.yml first asks for one (a linked service of any name, a DATABASE_URL
on the admin's server) keeps it: the push is refused, naming it and the command that adopts it, and once adopted
it is recorded as the app's (adopted: the plugin backs it up and restores it, but never changes its password nor
its URL). A clone (apps:clone copies the settings and the service links) is the exception: what it inherited is
the original's, and the clone gets a new, empty database of its own.
"""

from __future__ import annotations

import json
import os
import urllib.parse
from typing import Any

from ansible_dokku_deploy import names, output
from ansible_dokku_deploy.database import admin_login, default_name
from ansible_dokku_deploy.dokku import Dokku
from ansible_dokku_deploy.errors import DeployError
from ansible_dokku_deploy.settings import Store
from ansible_dokku_deploy.staging import secure_dir
from ansible_dokku_deploy.state import State

CONNECT_TIMEOUT = 10  # seconds, as the database role's own check that the server answers
ENGINES = ("postgres", "mysql")
_URL_ENGINES = {
    "postgres": "postgres",
    "postgresql": "postgres",
    "mysql": "mysql",
    "mysql2": "mysql",
    "mariadb": "mysql",
}
CLONED_FROM = "cloned-from"  # in a clone's data folder: the app it was cloned from
ADOPT_DATABASE = "adopt-database"


def claim(dokku: Dokku, app: str, spec: dict[str, Any], state: State, *, record: bool) -> None:
    """Record the names env.yml's database and storage need and the app has none for yet, or refuse a push that
    would take one that exists (record: False in check mode, which refuses the same but writes nothing)."""
    store = Store(dokku)
    claimed = _claim_storage(dokku, store, app, spec, state)
    if spec.get("database") and not state.database:
        state.database = _claim_database(dokku, store, app, spec["database"]["engine"])
        claimed = True
    if claimed and record:
        state.save()


def _claim_database(dokku: Dokku, store: Store, app: str, engine: str) -> dict[str, str]:
    backend = store.computed(app, "database-backend")
    adopted = _existing_database(dokku, store, app, engine, backend)
    if adopted:
        return {"engine": engine, "backend": backend, "name": adopted, "adopted": "true"}
    name = default_name(app, backend)
    if name != store.get(app, ADOPT_DATABASE):
        if backend == "dokku-service":
            taken = dokku.succeeds(f"{engine}:exists", name)
            what = f"the {engine} service {name}"
        else:
            taken = _on_server(store, engine, name)
            what = f"a database or {'role' if engine == 'postgres' else 'user'} {name} on the {engine} server"
        if taken:
            raise DeployError(
                f"database: {what} already exists and is not recorded as {app}'s",
                where="env.yml",
                hint=_handover(app, ADOPT_DATABASE, name),
            )
    return {"engine": engine, "backend": backend, "name": name}


def mark_clone(dokku: Dokku, original: str, clone: str) -> None:
    """post-app-clone-setup, after the settings are copied: what the clone inherited (the original's links and
    DATABASE_URL) is the original's, and the original's adopt-database is not the clone's."""
    (secure_dir(dokku.data_dir(clone)) / CLONED_FROM).write_text(original)
    Store(dokku).delete(clone, ADOPT_DATABASE)


def _inherited(dokku: Dokku, app: str) -> dict[str, str]:
    """The database of the app this one was cloned from, as its state.json records it (empty for no clone)."""
    try:
        original = (dokku.data_dir(app) / CLONED_FROM).read_text().strip()
        recorded = json.loads((dokku.data_dir(original) / "state.json").read_text()).get("database", {})
    except (OSError, ValueError):
        return {}
    return recorded if isinstance(recorded, dict) else {}


def _existing_database(dokku: Dokku, store: Store, app: str, engine: str, backend: str) -> str:
    """The name of the database the app already has and the admin adopted for it; empty when it has none. Any
    other it has is refused: env.yml's database would replace it, or stand beside it unused."""
    inherited = _inherited(dokku, app)
    url = dokku.answer("config:get", app, "DATABASE_URL") or ""
    parts = urllib.parse.urlsplit(url)
    if parts.password:
        output.register_secret(urllib.parse.unquote(parts.password))
    if backend == "dokku-service":
        return _linked_service(dokku, store, app, engine, inherited=inherited, url=url)
    if not url or (inherited.get("backend") == "server" and parts.path[1:] == inherited.get("name")):
        return ""
    return _database_url(dokku, store, app, engine, parts)


def _linked_service(dokku: Dokku, store: Store, app: str, engine: str, *, inherited: dict[str, str], url: str) -> str:
    original = (inherited.get("engine"), inherited.get("name")) if inherited.get("backend") == "dokku-service" else None
    linked = [
        (kind, service)
        for kind in ENGINES
        for service in (dokku.answer(f"{kind}:app-links", app) or "").split()
        if (kind, service) != original
    ]
    if not linked:
        if url and not inherited:
            raise DeployError(
                f"database: {app}'s DATABASE_URL is already set, to {_place(urllib.parse.urlsplit(url))}, and no "
                f"{engine} service is linked to {app}",
                where="env.yml",
                hint="A new service would be linked beside it, unused. Link the service that holds it "
                f"(dokku {engine}:link SERVICE {app}) and adopt it; if it is on the admin's database server, the admin "
                f"sets database-backend server for {app}; if the app does not use it, unset it "
                f"(dokku config:unset {app} DATABASE_URL).",
            )
        return ""
    adopt = store.get(app, ADOPT_DATABASE)
    if (engine, adopt) in linked:
        other = _recorded_elsewhere(dokku, app, "dokku-service", adopt)
        if other:
            raise DeployError(
                f"database: the {engine} service {adopt} linked to {app} is recorded as {other}'s database",
                where="env.yml",
                hint=f"An app never adopts another app's database. Unlink it (dokku {engine}:unlink {adopt} {app}).",
            )
        return adopt
    listed = ", ".join(f"the {kind} service {service}" for kind, service in linked)
    same = [service for kind, service in linked if kind == engine]
    if not same:
        raise DeployError(
            f"database: engine is {engine}, but {app} is already linked to {listed}",
            where="env.yml",
            hint="The plugin never converts a database. Keep the engine of the database the app has.",
        )
    raise DeployError(
        f"database: {app} is already linked to {listed}; a new database would replace it",
        where="env.yml",
        hint=f"If it is {app}'s database, the admin adopts it (the plugin then backs it up and keeps it, never "
        f"changing its password or URL): dokku ansible-deploy:set {app} {ADOPT_DATABASE} {same[0]}",
    )


def _port(parts: urllib.parse.SplitResult) -> int | None:
    try:
        return parts.port
    except ValueError:  # not a number, or out of range
        return None


def _place(parts: urllib.parse.SplitResult) -> str:
    """Where a URL points, without its user and password: `the database NAME on HOST:PORT`."""
    host = parts.hostname or "no host"
    return f"the database {parts.path[1:] or '(none)'} on {host}:{_port(parts) or 'its default port'}"


def _database_url(dokku: Dokku, store: Store, app: str, engine: str, parts: urllib.parse.SplitResult) -> str:
    """server backend: the database the app's DATABASE_URL names, adoptable when it is on the admin's server."""
    found = _URL_ENGINES.get(parts.scheme.lower(), "")
    said = f"{app}'s DATABASE_URL points at {_place(parts)}"
    if found != engine:
        raise DeployError(
            f"database: engine is {engine}, but {said} ({parts.scheme}: {found or 'an engine the plugin has not'})",
            where="env.yml",
            hint="The plugin never converts a database. Keep the engine of the database the app has.",
        )
    login = admin_login(store, engine)
    server = f"{login['host']}:{login['port']}"
    if (parts.hostname, _port(parts)) != (login["host"], login["port"]):
        raise DeployError(
            f"database: {said}, not on the server of the server backend ({server}); a new database would replace it",
            where="env.yml",
            hint="The plugin adopts only a database on the admin's server (a Dokku service's: the admin sets "
            f"database-backend dokku-service for {app}, then adopts the service). Move the data there and point "
            "DATABASE_URL at it, or leave `database:` out of env.yml (the app keeps its DATABASE_URL as it is).",
        )
    name = parts.path[1:]
    other = _recorded_elsewhere(dokku, app, "server", name)
    if other:
        raise DeployError(
            f"database: {said}, which is recorded as {other}'s database",
            where="env.yml",
            hint=f"An app never adopts another app's database. Point DATABASE_URL at {app}'s own.",
        )
    if name == store.get(app, ADOPT_DATABASE):
        _logs_in(engine, parts, said)
        return name
    raise DeployError(
        f"database: {said} ({engine} server); a new database would replace it",
        where="env.yml",
        hint=f"If it is {app}'s database, the admin adopts it (the plugin then backs it up and keeps it, never "
        f"changing its password or URL): dokku ansible-deploy:set {app} {ADOPT_DATABASE} {parts.path[1:]}",
    )


def _claim_storage(dokku: Dokku, store: Store, app: str, spec: dict[str, Any], state: State) -> bool:
    """Record an entry for each storage name without one: the entry an earlier version gave it when that one is
    mounted on the app (it has been the app's all along), an entry the admin hands over, else a new one. One that
    exists is refused, and so is a path the app already has something mounted on: Docker refuses a second mount
    on one path, and a new empty folder there would hide the app's data."""
    wanted = [s for s in spec.get("storage", []) if s["name"] not in state.storage]
    if not wanted:
        return False
    mounts = dokku.read_json("storage:list", app, "--format", "json")
    mounted = {m.get("entry_name") or m.get("host_path") for m in mounts}
    existing = {e["name"] for e in dokku.read_json("storage:list-entries", "--format", "json")}
    adopted = set(store.get(app, "adopt-storage").split())
    for item in wanted:
        legacy, entry = names.legacy_storage_entry(app, item["name"]), names.storage_entry(app, item["name"])
        here = [m for m in mounts if os.path.normpath(m["container_path"]) == os.path.normpath(item["path"])]
        if legacy in mounted:
            entry = legacy
        elif here:
            entry = _mounted_entry(app, item, here, adopted | {entry})
        elif entry in existing and entry not in adopted and entry not in mounted:
            raise DeployError(
                f"storage: {item['name']}: the storage entry {entry} already exists and is not recorded as {app}'s",
                where="env.yml",
                hint=_handover(app, "adopt-storage", entry),
            )
        state.storage[item["name"]] = entry
    return True


def _mounted_entry(app: str, item: dict[str, str], here: list[dict[str, str]], adopted: set[str]) -> str:
    """The entry already mounted on the storage's path, when the admin handed it over (adopt-storage) or it has the
    name the plugin gives (an earlier version's): it stays where it is and becomes the app's storage; else the
    push is refused, naming it."""
    found = [(m.get("entry_name") or m["host_path"], m["host_path"]) for m in here]
    if len(found) == 1 and found[0][0] in adopted:
        return found[0][0]
    listed = ", ".join(f"{name} ({host})" for name, host in found)
    unmount = " or ".join(f"dokku storage:unmount {app} {name} --container-dir {item['path']}" for name, _ in found)
    raise DeployError(
        f"storage: {item['name']}: {listed} {'is' if len(found) == 1 else 'are'} already mounted on {item['path']}",
        where="env.yml",
        hint="Docker refuses a second mount on one path, and the plugin never puts an empty folder in the place of "
        f"the app's data. If it holds {app}'s {item['name']}, the admin hands it over (it stays where it is, and is "
        f"backed up, restored and kept on a rename as the app's own) with: dokku ansible-deploy:set {app} "
        f"adopt-storage {found[0][0]}; otherwise unmount it ({unmount}) or give env.yml another path.",
    )


def _handover(app: str, key: str, name: str) -> str:
    return (
        "It is another app's, or one apps:destroy kept or apps:rename left behind: the plugin never takes over data "
        f"because a name matches. If it holds {app}'s own data, the admin hands it over with: "
        f"dokku ansible-deploy:set {app} {key} {name}"
    )


def _on_server(store: Store, engine: str, name: str) -> bool:
    """Whether the admin's server has a database, or a role (MariaDB: user), of that name."""
    login = admin_login(store, engine)
    where = f"{login['host']}:{login['port']}"
    try:
        return _taken(engine, login, name)
    except Exception as exc:  # noqa: BLE001  # either driver's errors: the server's answer, in plain words
        raise DeployError(
            f"database: cannot ask the {engine} server at {where} whether {name} is free: {str(exc).strip()}",
            hint="Check that the server answers and the admin's login (the *-host, *-port, *-admin-* settings).",
        ) from None


# The question each engine's server is asked: a database or a role (MariaDB: a user) of that name.
_TAKEN = {
    "postgres": "SELECT 1 FROM pg_database WHERE datname = %s UNION ALL SELECT 1 FROM pg_roles WHERE rolname = %s",
    "mysql": "SELECT 1 FROM information_schema.schemata WHERE schema_name = %s "
    "UNION ALL SELECT 1 FROM mysql.user WHERE user = %s",
}


def _connect(engine: str, login: dict[str, Any], database: str = "") -> Any:  # either driver's connection
    """A connection (the admin's, or the app's own URL's), through the engine's driver (imported only here: only a
    first provisioning on the server backend needs one)."""
    common = {"host": login["host"], "port": login["port"], "user": login["user"], "password": login["password"]}
    if engine == "postgres":
        import psycopg2  # type: ignore[import-untyped]  # noqa: PLC0415

        return psycopg2.connect(**common, dbname=database or "postgres", connect_timeout=CONNECT_TIMEOUT)
    import pymysql  # type: ignore[import-untyped]  # noqa: PLC0415

    return pymysql.connect(**common, database=database or None, connect_timeout=CONNECT_TIMEOUT)


def _logs_in(engine: str, parts: urllib.parse.SplitResult, said: str) -> None:
    """An adopted URL must log in to its database: the proof that the app has it (a pusher can set DATABASE_URL
    through env.yml, but does not know another database's password)."""
    login = {
        "host": parts.hostname,
        "port": _port(parts),
        "user": urllib.parse.unquote(parts.username or ""),
        "password": urllib.parse.unquote(parts.password or ""),
    }
    try:
        _connect(engine, login, parts.path[1:]).close()
    except Exception as exc:  # noqa: BLE001  # either driver's errors: the server's answer, in plain words
        raise DeployError(
            f"database: {said}, but it does not log in there: {str(exc).strip()}",
            where="env.yml",
            hint="Only a database the app's own DATABASE_URL reaches is adopted. Fix its DATABASE_URL first.",
        ) from None


def _recorded_elsewhere(dokku: Dokku, app: str, backend: str, name: str) -> str:
    """Another app whose state.json records this database or service as its own (empty: none)."""
    try:
        folders = [e.name for e in os.scandir(dokku.data_root) if not e.name.startswith(".") and e.is_dir()]
    except OSError:
        return ""
    for folder in folders:
        if folder == app:
            continue
        try:
            recorded = json.loads((dokku.data_root / folder / "state.json").read_bytes()).get("database") or {}
        except (OSError, ValueError, AttributeError):
            continue
        if isinstance(recorded, dict) and (recorded.get("backend"), recorded.get("name")) == (backend, name):
            return folder
    return ""


def _taken(engine: str, login: dict[str, Any], name: str) -> bool:
    conn = _connect(engine, login)
    try:
        with conn.cursor() as cur:
            cur.execute(_TAKEN[engine], (name, name))
            return cur.fetchone() is not None
    finally:
        conn.close()
