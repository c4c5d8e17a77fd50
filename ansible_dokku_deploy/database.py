"""The app's database: which backend holds it, its name, and how the plugin logs in (secrets never leave 0600)."""

from __future__ import annotations

import secrets
import urllib.parse
from dataclasses import dataclass, field
from typing import Any

from ansible_dokku_deploy import names
from ansible_dokku_deploy.errors import DeployError
from ansible_dokku_deploy.settings import DATABASE_PASSWORD, GLOBAL, Store

SCHEMES = {"postgres": "postgres", "mysql": "mysql"}


@dataclass(frozen=True)
class Database:
    engine: str  # postgres or mysql
    backend: str  # dokku-service or server
    name: str  # the database (server) or the service (dokku-service)
    login: dict[str, Any] = field(default_factory=dict, repr=False)  # the server's admin login (server backend)
    password: str = field(default="", repr=False)  # the app's own password (server backend)
    adopted: bool = False  # one the app had before the plugin: kept as it is (password, URL), backed up

    @property
    def url(self) -> str:
        """DATABASE_URL of the server backend (the dokku-service plugins set their own on link)."""
        user, password = urllib.parse.quote(self.name), urllib.parse.quote(self.password)
        return f"{SCHEMES[self.engine]}://{user}:{password}@{self.login['host']}:{self.login['port']}/{self.name}"

    def role_inputs(self) -> dict[str, Any]:
        """What the backups role takes: the database, and the name of the restore drill's scratch copy."""
        scratch = names.scratch_name(self.name)
        return {
            "engine": self.engine,
            "backend": self.backend,
            "name": self.name,
            "scratch": scratch,
            "login": self.login,
        }


def default_name(app: str, backend: str) -> str:
    """The name a first provisioning gives the app's service or database (no other app's ever; see names)."""
    return names.service_name(app) if backend == "dokku-service" else names.database_name(app)


def _refuse_engine_change(wanted: str, recorded: dict[str, str]) -> None:
    if not recorded or recorded["engine"] == wanted:
        return
    raise DeployError(
        f"database: engine is {wanted}, but this app's data is in a {recorded['engine']} database ({recorded['name']})",
        where="env.yml",
        hint="The plugin never converts or drops a database. Keep the engine, or move the data yourself: "
        "back it up (dokku ansible-deploy:backup APP), then ask the admin to remove the old database.",
    )


def database_for(store: Store, app: str, spec: dict[str, Any], recorded: dict[str, str]) -> Database | None:
    """The app's database, or None when env.yml asks for none; the recorded backend and name win. A server-backend
    app's own password is created here the first time (plan.gather calls this before planning)."""
    wanted = spec.get("database")
    if not wanted:
        return None
    _refuse_engine_change(wanted["engine"], recorded)
    backend = recorded.get("backend") or store.computed(app, "database-backend")
    name = recorded.get("name") or default_name(app, backend)
    engine = wanted["engine"]
    if backend == "dokku-service":
        return Database(engine, backend, name, adopted=recorded.get("adopted") == "true")
    if recorded.get("adopted") == "true":  # its own password and URL are the admin's, never changed
        return Database(engine, backend, name, admin_login(store, engine), adopted=True)
    password = store.get(app, DATABASE_PASSWORD)
    if not password:
        password = secrets.token_urlsafe(24)
        store.put(app, DATABASE_PASSWORD, password)
    return Database(engine, backend, name, admin_login(store, engine), password)


def admin_login(store: Store, engine: str) -> dict[str, Any]:
    """The admin's credential for the server backend: host, port, user, and the password read from its file."""
    prefix = engine  # postgres-* or mysql-* settings
    host, password_file = (
        store.get(GLOBAL, f"{prefix}-host"),
        store.get(GLOBAL, f"{prefix}-admin-password-file"),
    )
    if not host or not password_file:
        raise DeployError(
            f"database: the server backend has no {engine} server configured",
            hint=f"The admin names one: dokku ansible-deploy:set --global {prefix}-host HOST, and "
            f"{prefix}-port, {prefix}-admin-user, {prefix}-admin-password-file FILE",
        )
    try:
        password = store.named_file(GLOBAL, f"{prefix}-admin-password-file")
    except OSError as exc:
        raise DeployError(
            f"database: cannot read {prefix}-admin-password-file {password_file}: {exc.strerror}",
            hint="The file must be readable by the dokku user (and nobody else: chmod 600).",
        ) from None
    return {
        "host": host,
        "port": store.computed_int(GLOBAL, f"{prefix}-port"),
        "user": store.computed(GLOBAL, f"{prefix}-admin-user"),
        "password": password,
    }
