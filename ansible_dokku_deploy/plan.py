"""What a phase must provision: the roles, their variables, and a fingerprint that tells 'nothing changed'.

gather() reads the phase's inputs once (the one impure step); make_plan() is a function of them alone.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, TypeVar

from ansible_dokku_deploy import __version__, names
from ansible_dokku_deploy.database import Database, database_for
from ansible_dokku_deploy.dokku import Dokku
from ansible_dokku_deploy.packaging import Packaging
from ansible_dokku_deploy.resolve import Resolved
from ansible_dokku_deploy.roles import (
    BackupRun,
    BackupsRole,
    ConfigRole,
    DatabaseRole,
    DnsRole,
    DomainsRole,
    MonitoringRole,
    NginxRole,
    PortsRole,
    RoleInputs,
    StorageRole,
    TlsRole,
)
from ansible_dokku_deploy.server import Acme, Dns, acme_config, dns_config
from ansible_dokku_deploy.settings import SETTINGS, Store, is_input
from ansible_dokku_deploy.staging import Release
from ansible_dokku_deploy.state import Phase, State

PHASES = (Phase.PRE_DEPLOY, Phase.POST_DEPLOY)
BACKUPS_ACTIONS = (Phase.BACKUP, Phase.RESTORE, Phase.DRILL)
RELEASE_PATHS = ("ansible_deploy_release_dir", "nginx_release_dir")  # new with each push: not in the fingerprint
R = TypeVar("R", bound=RoleInputs)
SNIPPET_PREFIX = "ansible-deploy-"  # the only nginx.conf.d/ files the plugin writes or removes
ACME_SNIPPET = f"{SNIPPET_PREFIX}acme-challenge.conf"
PHASE_ROLES = {
    Phase.PRE_DEPLOY: ("database", "config", "ports", "domains", "storage", "nginx", "dns"),
    Phase.POST_DEPLOY: ("tls", "monitoring"),
    Phase.RENEW: ("tls",),
    Phase.DESTROY: ("dns", "database"),
    Phase.BACKUP: ("backups",),
    Phase.RESTORE: ("backups",),
    Phase.DRILL: ("backups",),
}


@dataclass(frozen=True)
class Owned:
    """What the plugin owns on the server once the plan's run succeeds (state.json keeps it for the next plan)."""

    config_keys: tuple[str, ...] = ()  # the app settings it set (removed when env.yml and the vault drop them)
    snippets: tuple[str, ...] = ()  # the nginx.conf.d/ files it placed
    dns: tuple[dict[str, str], ...] = ()  # the records it keeps: record, zone, type
    database: dict[str, str] = field(default_factory=dict)  # engine, backend, name: where the app's data is
    backups: dict[str, Any] = field(default_factory=dict)  # env.yml's schedule and keep, for the cron job


@dataclass(frozen=True)
class Plan:
    app: str
    phase: Phase
    release: Release
    role_inputs: tuple[RoleInputs, ...]  # one per role, in the order they run
    variables: dict[str, Any]  # the run's extra vars: every role's inputs and what the packager's steps can use
    fingerprint: str
    steps: tuple[str, ...] = ()  # the packager's playbooks for this phase, run after the roles
    on_failure: tuple[str, ...] = ()  # and those run when the phase fails
    owned: Owned = field(default_factory=Owned)

    @property
    def roles(self) -> tuple[str, ...]:
        return tuple(r.role for r in self.role_inputs)


# The user each builder runs the app as, in storage:create's --chown names (Dokku's
# docs/advanced-usage/persistent-storage.md): herokuish's herokuishuser (32767); pack's default builder,
# heroku/builder (DOKKU_CNB_BUILDER), uid 1000. An app on a paketo builder (2000) is the admin's to chown.
CHOWN_BY_BUILDER = {"herokuish": "herokuish", "pack": "heroku"}


def storage_chown(spec: dict[str, Any], state: State) -> str:
    """Who gets the app's storage folders, as `storage:create --chown` takes it: the user the builder runs the app
    as; a DOKKU_APP_USER of the app's own, or a Dockerfile's USER, is the admin's to chown to (""
    leaves the folders as they are)."""
    return "" if "DOKKU_APP_USER" in spec.get("env", {}) else CHOWN_BY_BUILDER.get(state.builder, "")


def storage_entries(app: str, spec: dict[str, Any], state: State, *, recorded_only: bool) -> dict[str, str]:
    """The app's storage entry for each storage name of env.yml: the one recorded as the app's (claims.claim records
    it at the first provisioning; an app of an earlier version keeps its earlier name), else the name derived from
    the app's (only where the storage role, which refuses an entry the app does not own, is to create it)."""
    entries = {}
    for item in spec.get("storage", []):
        recorded = state.storage.get(item["name"])
        if recorded or not recorded_only:
            entries[item["name"]] = recorded or names.storage_entry(app, item["name"])
    return entries


@dataclass(frozen=True)
class Inputs:
    """Everything one phase's plan is made of, read once by gather(): make_plan reads nothing else, so the same
    inputs always make the same plan."""

    dokku: Dokku  # where things are (paths only)
    app: str
    phase: Phase
    release: Release
    packaging: Packaging
    state: State  # what the plugin owns on the server, as the last runs left it
    settings: Mapping[str, str]  # the computed value for the app of every setting that plans read
    secrets: Mapping[str, str] = field(default_factory=dict, repr=False)  # the vault's settings
    dns: Dns | None = None
    acme: Acme | None = None
    database: Database | None = None  # the app's, its password already created
    backup: BackupRun | None = None  # a backup, restore or drill's own inputs
    python: str = sys.executable  # the venv's: the roles' check commands run in it
    uid: int = 0  # the dokku user's, who a restore hands the folders to while it writes
    folders: Mapping[str, str] = field(default_factory=dict)  # storage entry: its host_path (backups phases only)
    served_certificate: bool = False  # Dokku serves one for the app (certs:add): its https port map stays


def gather(
    dokku: Dokku,
    app: str,
    phase: Phase,
    *,
    release: Release,
    resolved: Resolved,
    state: State,
    backup: BackupRun | None = None,
) -> Inputs:
    """Read what the plan needs, once; the one thing that must exist first is created here, before planning:
    the database password of a server-backend app (kept in the settings, so it is part of the skip key too)."""
    store = Store(dokku)
    spec = resolved.packaging.spec
    if phase == Phase.DESTROY and state.database and not spec.get("database"):  # env.yml dropped it: still the app's
        spec = {**spec, "database": {"engine": state.database["engine"]}}
    return Inputs(
        dokku=dokku,
        app=app,
        phase=phase,
        release=release,
        packaging=resolved.packaging,
        state=state,
        settings={key: store.computed(app, key) for key in SETTINGS if is_input(key)},
        secrets=resolved.secrets,
        dns=dns_config(store, app),
        acme=acme_config(store, app),
        # Past the first provisioning only the recorded database is the app's: a backup, restore, drill or purge
        # never reaches one the app was never given.
        database=database_for(store, app, spec, state.database)
        if phase == Phase.PRE_DEPLOY or state.database
        else None,
        backup=backup,
        uid=os.getuid(),
        folders=_storage_folders(dokku) if phase in BACKUPS_ACTIONS and state.storage else {},
        served_certificate=(dokku.app_dir(app) / "tls" / "server.crt").is_file(),
    )


def _storage_folders(dokku: Dokku) -> dict[str, str]:
    """Each storage entry's folder as Dokku records it (`host_path`): an adopted entry's may be anywhere."""
    return {e["name"]: e.get("host_path", "") for e in dokku.read_json("storage:list-entries", "--format", "json")}


def role_inputs(inputs: Inputs) -> dict[str, RoleInputs]:
    """Inputs of every role that has something to do in the phase, by role name."""
    dokku, app, spec, state = inputs.dokku, inputs.app, inputs.packaging.spec, inputs.state
    destroying = inputs.phase == Phase.DESTROY
    dns = inputs.dns
    tls = inputs.acme if "tls" in inputs.packaging.features and spec.get("domains") else None
    roles: list[RoleInputs | None] = [_database_role(inputs), _backups_role(inputs), _config_role(inputs)]
    https = tls is not None or inputs.served_certificate  # an admin's certificate keeps serving HTTPS
    if "port" in spec:
        roles.append(PortsRole(container_port=spec["port"], https=https))
    if "domains" in spec:
        roles.append(DomainsRole(list=tuple(spec["domains"])))
    if spec.get("storage"):
        entries = storage_entries(app, spec, state, recorded_only=False)
        mounts = tuple({"entry": entries[s["name"]], "path": s["path"]} for s in spec["storage"])
        owned = tuple(sorted(set(state.storage.values())))
        roles.append(StorageRole(mounts=mounts, owned=owned, chown=storage_chown(spec, state)))
    roles.append(_nginx_role(inputs, http_01=tls is not None and tls.challenge == "http-01"))
    if dns is not None:
        roles.append(_dns_role(dns, [] if destroying else spec.get("domains", []), state))
    if tls is not None:
        roles.append(_tls_role(dokku, app, spec["domains"], tls, dns))
    roles.append(_monitoring_role(inputs, https=https))  # nginx redirects plain HTTP once it serves HTTPS
    wanted = {r.role: r for r in roles if r is not None}
    return {role: wanted[role] for role in PHASE_ROLES[inputs.phase] if role in wanted}


def _database_role(inputs: Inputs) -> DatabaseRole | None:
    """Ensure the app's database; on destroy, drop it only when the admin opted in."""
    database, destroying = inputs.database, inputs.phase == Phase.DESTROY
    if database is None or (destroying and inputs.settings["database-purge-on-destroy"] != "true"):
        return None
    if database.adopted and not destroying:  # it is there, and its role, password and links stay the admin's
        return None
    return DatabaseRole(
        engine=database.engine,
        backend=database.backend,
        name=database.name,
        login=database.login,
        state="absent" if destroying else "present",
        password=database.password,
    )


def _backups_role(inputs: Inputs) -> BackupsRole | None:
    """A backup, restore or drill of the app's database and storage folders, with the run's own inputs."""
    app, spec, database = inputs.app, inputs.packaging.spec, inputs.database
    storage = tuple(  # the recorded ones only: never another app's folder, nor one an earlier app of the name left
        {
            "name": name,
            "entry": entry,
            "path": inputs.folders.get(entry) or default,
            "default_path": default,  # Dokku's own folder for the entry: the only one storage:set chown touches
        }
        for name, entry in storage_entries(app, spec, inputs.state, recorded_only=True).items()
        for default in [str(inputs.dokku.lib_root / "data" / "storage" / entry)]
    )
    if inputs.phase not in BACKUPS_ACTIONS or inputs.backup is None or (database is None and not storage):
        return None
    return BackupsRole(
        action=inputs.phase,
        database=database.role_inputs() if database else {},
        storage=storage,
        dokku_uid=inputs.uid,
        run=inputs.backup,
    )


def _config_role(inputs: Inputs) -> ConfigRole | None:
    """env.yml's settings and the vault's, in one config:import; the database's URL with them."""
    database, state = inputs.database, inputs.state
    values = {k: env_value(v) for k, v in inputs.packaging.spec.get("env", {}).items()}
    url = database.url if database is not None and database.backend == "server" and not database.adopted else ""
    if not (values or inputs.secrets or state.config_keys or url):
        return None
    owned = set(values) | set(inputs.secrets)
    return ConfigRole(
        values=values,
        secret_values=dict(inputs.secrets),
        unset=tuple(sorted(set(state.config_keys) - owned)),
        database_url=url,
    )


def _nginx_role(inputs: Inputs, *, http_01: bool) -> NginxRole | None:
    """The packager's nginx.conf.d/ snippets, and the ACME http-01 answers' location."""
    dokku, app, state = inputs.dokku, inputs.app, inputs.state
    snippets = [{"name": f"{SNIPPET_PREFIX}{Path(rel).name}", "src": rel} for rel in inputs.packaging.snippets]
    if http_01:
        webroot = dokku.acme_webroot(app)
        content = f"location ^~ /.well-known/acme-challenge/ {{\n  alias {webroot}/;\n  default_type text/plain;\n}}\n"
        snippets.append({"name": ACME_SNIPPET, "content": content})
    if not snippets and not state.snippets:
        return None
    return NginxRole(
        snippets=tuple(snippets),
        snippet_dir=str(dokku.app_dir(app) / "nginx.conf.d"),
        prefix=SNIPPET_PREFIX,
        check_command=f"{inputs.python} -m ansible_dokku_deploy.packaging.nginx_check",
        release_dir=str(inputs.release.path),
    )


def _monitoring_role(inputs: Inputs, *, https: bool) -> MonitoringRole | None:
    """Prometheus target groups: a blackbox probe of each domain's health URL, and the metrics path when declared."""
    app, spec, settings = inputs.app, inputs.packaging.spec, inputs.settings
    declared = spec.get("monitoring") or {}
    targets_dir = settings["monitoring-targets-dir"]
    if not declared or not targets_dir or not spec.get("domains"):
        return None
    scheme = "https" if https else "http"
    through_nginx = settings["monitoring-probe-through"] == "nginx"
    nginx = f"{settings['healthcheck-address']}:{settings['healthcheck-' + scheme + '-port']}"
    probes = []
    for domain in spec["domains"]:
        labels = {"app": app, "domain": domain}
        if through_nginx:  # blackbox sends the domain as Host and TLS server name
            labels["__param_hostname"] = domain
        host = nginx if through_nginx else domain
        probes.append({"targets": [f"{scheme}://{host}{declared['healthcheck']}"], "labels": labels})
    metrics = []
    if "metrics" in declared:
        metrics_labels = {"app": app, "__metrics_path__": declared["metrics"], "__scheme__": scheme}
        metrics.append({"targets": [f"{spec['domains'][0]}:{443 if https else 80}"], "labels": metrics_labels})
    return MonitoringRole(
        targets_dir=targets_dir,
        rules_dir=settings["monitoring-rules-dir"],
        probe_groups=tuple(probes),
        metrics_groups=tuple(metrics),
        cert_days=int(settings["monitoring-cert-days"]),
        check_command=f"{inputs.python} -m ansible_dokku_deploy.prometheus_check",
    )


def _dns_role(dns: Dns, domains: list[str], state: State) -> DnsRole | None:
    """Records to have (A, and AAAA when an IPv6 target is set) and records to remove (those of dropped domains);
    None when there are neither, so that a run with no DNS work never holds the TSIG key (nor do its steps)."""
    wanted: list[dict[str, str]] = []
    for domain in domains:
        zone = dns.zone_of(domain) or ""
        wanted.append({"record": f"{domain}.", "zone": zone, "type": "A", "value": dns.ipv4})
        if dns.ipv6:
            wanted.append({"record": f"{domain}.", "zone": zone, "type": "AAAA", "value": dns.ipv6})
    keys = {(r["record"], r["type"]) for r in wanted}
    absent = tuple(r for r in state.dns if (r["record"], r["type"]) not in keys)
    if not wanted and not absent:
        return None
    return DnsRole(**_dns_update(dns), ttl=dns.ttl, records=tuple(wanted), absent=absent)


def _dns_update(dns: Dns) -> dict[str, Any]:
    """How the dns role, and the tls role for dns-01, reach the DNS server (RFC 2136 updates signed with TSIG)."""
    return {
        "server": dns.server,
        "port": dns.port,
        "key_name": dns.key_name,
        "key_algorithm": dns.algorithm,
        "key_secret": dns.secret,
    }


def _tls_role(dokku: Dokku, app: str, domains: list[str], acme: Acme, dns: Dns | None) -> TlsRole:
    account = hashlib.sha256(acme.directory.encode()).hexdigest()[:12]
    role = TlsRole(
        domains=tuple(domains),
        directory=acme.directory,
        email=acme.email,
        challenge=acme.challenge,
        ca_file=acme.ca_file,
        renew_days=acme.renew_days,
        timeout=acme.timeout,
        account_key=str(dokku.data_root / ".acme" / f"account-{account}.key"),
        dir=str(dokku.data_dir(app) / "tls"),
        webroot=str(dokku.acme_webroot(app)),
    )
    if acme.challenge != "dns-01" or dns is None:  # the role reads the DNS key for dns-01 only
        return role
    zones = {d: dns.zone_of(d) or "" for d in domains}
    return replace(role, **{f"dns_{key}": value for key, value in _dns_update(dns).items()}, dns_zones=zones)


def make_plan(inputs: Inputs) -> Plan:
    """The phase's roles and variables, from its inputs alone."""
    app, phase, release, packaging = inputs.app, inputs.phase, inputs.release, inputs.packaging
    wanted = role_inputs(inputs)
    steps = tuple(packaging.spec.get("steps", {}).get(phase, []))
    on_failure = tuple(packaging.spec.get("steps", {}).get("on-failure", [])) if phase in PHASES else ()
    variables: dict[str, Any] = {
        "ansible_deploy_roles": list(wanted),
        # What the packager's own steps can use (see the README); roles take their role_* inputs.
        "ansible_deploy_app": app,
        "ansible_deploy_phase": phase,
        "ansible_deploy_domains": packaging.spec.get("domains", []),
        "ansible_deploy_port": packaging.spec.get("port"),
        "ansible_deploy_env": {k: env_value(v) for k, v in packaging.spec.get("env", {}).items()},
        "ansible_deploy_app_dir": str(inputs.dokku.app_dir(app)),
        "ansible_deploy_data_dir": str(inputs.dokku.data_dir(app)),
        "ansible_deploy_backups": packaging.spec.get("backups", {}),
        "ansible_deploy_release_dir": str(release.path),
    }
    for role in wanted.values():
        variables.update(role.variables(app))
    # The release's path changes with every push; its content is in the digest.
    same = {k: v for k, v in variables.items() if k not in RELEASE_PATHS}
    basis = {"phase": phase, "digest": release.digest, "version": __version__, "variables": same, "steps": steps}
    return Plan(
        app=app,
        phase=phase,
        release=release,
        role_inputs=tuple(wanted.values()),
        variables=variables,
        fingerprint=hashlib.sha256(json.dumps(basis, sort_keys=True).encode()).hexdigest(),
        steps=tuple(str(release.path / s) for s in steps),
        on_failure=tuple(str(release.path / s) for s in on_failure),
        owned=_owned(wanted, packaging.spec),
    )


def _owned(planned: Mapping[str, RoleInputs], spec: dict[str, Any]) -> Owned:
    config, nginx = _find(planned, ConfigRole), _find(planned, NginxRole)
    dns, database = _find(planned, DnsRole), _find(planned, DatabaseRole)
    return Owned(
        config_keys=tuple(sorted({*config.values, *config.secret_values})) if config else (),
        snippets=tuple(s["name"] for s in nginx.snippets) if nginx else (),
        dns=tuple({k: r[k] for k in ("record", "zone", "type")} for r in dns.records) if dns else (),
        database={"engine": database.engine, "backend": database.backend, "name": database.name} if database else {},
        backups=spec.get("backups", {}),
    )


def _find(planned: Mapping[str, RoleInputs], kind: type[R]) -> R | None:
    found = planned.get(kind.role)
    return found if isinstance(found, kind) else None


def env_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
