"""What a provisioning may create for an app: names taken at its first provisioning, recorded before the run.

Storage entries, databases, roles and services are global. One that exists but is not recorded as this app's is
another app's, or one that apps:destroy kept or apps:rename left behind: the push is refused, naming it and the
admin's command that hands it over, before anything changes. A name recorded here is the app's from then on, also
when the run that creates it fails part-way.
"""

from __future__ import annotations

import os
from typing import Any

from ansible_dokku_deploy import names
from ansible_dokku_deploy.database import admin_login, default_name
from ansible_dokku_deploy.dokku import Dokku
from ansible_dokku_deploy.errors import DeployError
from ansible_dokku_deploy.settings import Store
from ansible_dokku_deploy.state import State

CONNECT_TIMEOUT = 10  # seconds, as the database role's own check that the server answers


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
    name = default_name(app, backend)
    if name != store.get(app, "adopt-database"):
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
                hint=_handover(app, "adopt-database", name),
            )
    return {"engine": engine, "backend": backend, "name": name}


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


def _connect(engine: str, login: dict[str, Any]) -> Any:  # either driver's connection
    """The admin's connection, through the engine's driver (imported only here: only a first provisioning on the
    server backend needs one)."""
    common = {"host": login["host"], "port": login["port"], "user": login["user"], "password": login["password"]}
    if engine == "postgres":
        import psycopg2  # type: ignore[import-untyped]  # noqa: PLC0415

        return psycopg2.connect(**common, dbname="postgres", connect_timeout=CONNECT_TIMEOUT)
    import pymysql  # type: ignore[import-untyped]  # noqa: PLC0415

    return pymysql.connect(**common, connect_timeout=CONNECT_TIMEOUT)


def _taken(engine: str, login: dict[str, Any], name: str) -> bool:
    conn = _connect(engine, login)
    try:
        with conn.cursor() as cur:
            cur.execute(_TAKEN[engine], (name, name))
            return cur.fetchone() is not None
    finally:
        conn.close()
