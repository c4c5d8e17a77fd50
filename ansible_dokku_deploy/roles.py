"""Each role's inputs as one frozen, typed value: the plan makes them, and the role's meta/argument_specs.yml
declares the same names and types (tests/unit/test_role_inputs.py holds the two together). A field left None is
not passed, so the role's own default applies; secrets stay out of repr()."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields, is_dataclass
from typing import Any, ClassVar

Record = Mapping[str, Any]


@dataclass(frozen=True)
class RoleInputs:
    role: ClassVar[str]  # the role's name, and the prefix of its variables

    def variables(self, app: str) -> dict[str, Any]:
        """The role's variables as it reads them ({role}_{field}, a part's fields too), in JSON's types."""
        return {f"{self.role}_app": app, **_named(self.role, self)}


def _named(prefix: str, value: object) -> dict[str, Any]:
    named: dict[str, Any] = {}
    for f in fields(value):  # type: ignore[arg-type]  # a dataclass instance
        part = getattr(value, f.name)
        if is_dataclass(part):
            named.update(_named(prefix, part))
        elif part is not None:
            named[f"{prefix}_{f.name}"] = _plain(part)
    return named


def _plain(value: object) -> object:
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


@dataclass(frozen=True)
class DatabaseRole(RoleInputs):
    role = "database"
    engine: str
    backend: str
    name: str
    login: Record
    state: str  # present, or absent on destroy
    password: str = field(repr=False)


@dataclass(frozen=True)
class ConfigRole(RoleInputs):
    role = "config"
    values: Mapping[str, str]
    secret_values: Mapping[str, str] = field(repr=False)
    unset: Sequence[str]  # the keys it set before that env.yml and the vault no longer have
    database_url: str = field(repr=False)  # not owned: removing `database` leaves DATABASE_URL alone


@dataclass(frozen=True)
class PortsRole(RoleInputs):
    role = "ports"
    container_port: int
    https: bool


@dataclass(frozen=True)
class DomainsRole(RoleInputs):
    role = "domains"
    list: Sequence[str]


@dataclass(frozen=True)
class StorageRole(RoleInputs):
    role = "storage"
    mounts: Sequence[Record]  # entry, path
    owned: Sequence[str]  # the entries recorded as the app's: only these are mounted as they are, or detached
    chown: str  # storage:create --chown


@dataclass(frozen=True)
class NginxRole(RoleInputs):
    role = "nginx"
    snippets: Sequence[Record]  # name, and src (in the release) or content
    snippet_dir: str
    prefix: str
    check_command: str
    release_dir: str


@dataclass(frozen=True)
class DnsRole(RoleInputs):
    role = "dns"
    server: str
    port: int
    key_name: str
    key_algorithm: str
    key_secret: str = field(repr=False)
    ttl: int
    records: Sequence[Record]  # record, zone, type, value
    absent: Sequence[Record]  # record, zone, type


@dataclass(frozen=True)
class TlsRole(RoleInputs):
    role = "tls"
    domains: Sequence[str]
    directory: str
    email: str
    challenge: str
    ca_file: str
    renew_days: int
    timeout: int
    account_key: str
    dir: str
    webroot: str
    # dns-01 only
    dns_server: str | None = None
    dns_port: int | None = None
    dns_key_name: str | None = None
    dns_key_algorithm: str | None = None
    dns_key_secret: str | None = field(default=None, repr=False)
    dns_zones: Mapping[str, str] | None = None


@dataclass(frozen=True)
class MonitoringRole(RoleInputs):
    role = "monitoring"
    targets_dir: str
    rules_dir: str
    probe_groups: Sequence[Record]
    metrics_groups: Sequence[Record]
    cert_days: int
    check_command: str


@dataclass(frozen=True)
class BackupRun:
    """A backup, restore or drill's own part of the backups role's inputs (backups.py makes it)."""

    id: str  # the backup's
    restic_env: Mapping[str, str] = field(repr=False)  # how to reach the repository, as restic.Repository runs it
    restic_flags: Sequence[str]
    timeout: int
    # The backup's snapshot of each part: a restore's or drill's to read; a backup's already in the repository
    # (none for a new one; None: the role lists the repository itself)
    snapshots: Record | None = None
    dir: str | None = None  # a backup's: where the dumps are written, with its time and release
    time: str | None = None
    release: str | None = None
    restic_lock: str = ""  # the plugin's own lock of the repository (restic.Repository.lock_file), held shared


@dataclass(frozen=True)
class BackupsRole(RoleInputs):
    role = "backups"
    action: str  # backup, restore or drill
    database: Record  # engine, backend, name, login; empty without one
    storage: Sequence[Record]  # name, entry, path
    dokku_uid: int
    run: BackupRun
