"""What a phase must provision: the roles, their variables, and a fingerprint that tells 'nothing changed'.

gather() reads the phase's inputs once (the one impure step); make_plan() is a function of them alone.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ansible_dokku_deploy import __version__
from ansible_dokku_deploy.database import Database, database_for
from ansible_dokku_deploy.dokku import Dokku
from ansible_dokku_deploy.packaging import Packaging
from ansible_dokku_deploy.resolve import Resolved
from ansible_dokku_deploy.server import Acme, Dns, acme_config, dns_config
from ansible_dokku_deploy.settings import SETTINGS, Store
from ansible_dokku_deploy.staging import Release
from ansible_dokku_deploy.state import BACKUP, DESTROY, DRILL, POST_DEPLOY, PRE_DEPLOY, RENEW, RESTORE, State

PHASES = (PRE_DEPLOY, POST_DEPLOY)
SNIPPET_PREFIX = "ansible-deploy-"  # the only nginx.conf.d/ files the plugin writes or removes
ACME_SNIPPET = f"{SNIPPET_PREFIX}acme-challenge.conf"
PHASE_ROLES = {
    PRE_DEPLOY: ("database", "config", "ports", "domains", "storage", "nginx", "dns"),
    POST_DEPLOY: ("tls", "monitoring"),
    RENEW: ("tls",),
    DESTROY: ("dns", "database"),
    BACKUP: ("backups",),
    RESTORE: ("backups",),
    DRILL: ("backups",),
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
    phase: str
    release: Release
    roles: tuple[str, ...]
    variables: dict[str, Any]
    fingerprint: str
    steps: tuple[str, ...] = ()  # the packager's playbooks for this phase, run after the roles
    on_failure: tuple[str, ...] = ()  # and those run when the phase fails
    owned: Owned = field(default_factory=Owned)


def storage_chown(spec: dict[str, Any], state: State) -> str:
    """Who gets the app's storage folders, as `storage:create --chown` takes it: herokuish runs the app as
    herokuishuser; a DOKKU_APP_USER of the app's own, or a Dockerfile's USER, is the admin's to chown to (""
    leaves the folders as they are)."""
    return "herokuish" if state.builder == "herokuish" and "DOKKU_APP_USER" not in spec.get("env", {}) else ""


def storage_entry(app: str, name: str) -> str:
    """Dokku storage entries are global: name them after the app (a DNS-1123 label of at most 45 characters)."""
    entry = re.sub(r"[^a-z0-9-]", "-", f"{app}-{name}")
    if len(entry) > 45:  # noqa: PLR2004  # Dokku's limit
        entry = entry[:36] + "-" + hashlib.sha256(entry.encode()).hexdigest()[:8]
    return entry


@dataclass(frozen=True)
class Inputs:
    """Everything one phase's plan is made of, read once by gather(): make_plan reads nothing else, so the same
    inputs always make the same plan."""

    dokku: Dokku  # where things are (paths only)
    app: str
    phase: str
    release: Release
    packaging: Packaging
    state: State  # what the plugin owns on the server, as the last runs left it
    settings: Mapping[str, str]  # every setting's computed value for the app
    secrets: Mapping[str, str] = field(default_factory=dict, repr=False)  # the vault's settings
    dns: Dns | None = None
    acme: Acme | None = None
    database: Database | None = None  # the app's, its password already created
    run: Mapping[str, Any] = field(default_factory=dict)  # this run's own (a backup's folder, its id, ...)
    python: str = sys.executable  # the venv's: the roles' check commands run in it
    uid: int = 0  # the dokku user's, who a restore hands the folders to while it writes


def gather(
    dokku: Dokku,
    app: str,
    phase: str,
    *,
    release: Release,
    resolved: Resolved,
    state: State,
    run: Mapping[str, Any] | None = None,
) -> Inputs:
    """Read what the plan needs, once; the one thing that must exist first is created here, before planning:
    the database password of a server-backend app (kept in the settings, so it is part of the skip key too)."""
    store = Store(dokku)
    spec = resolved.packaging.spec
    if phase == DESTROY and state.database and not spec.get("database"):  # env.yml dropped it: still the app's
        spec = {**spec, "database": {"engine": state.database["engine"]}}
    return Inputs(
        dokku=dokku,
        app=app,
        phase=phase,
        release=release,
        packaging=resolved.packaging,
        state=state,
        settings={key: store.computed(app, key) for key in SETTINGS},
        secrets=resolved.secrets,
        dns=dns_config(store, app),
        acme=acme_config(store, app),
        database=database_for(store, app, spec, state.database),
        run=run or {},
        uid=os.getuid(),
    )


def role_variables(inputs: Inputs) -> dict[str, dict[str, Any]]:
    """Inputs of every role that has something to do, by role name."""
    dokku, app, spec, state = inputs.dokku, inputs.app, inputs.packaging.spec, inputs.state
    destroying = inputs.phase == DESTROY
    dns = inputs.dns
    tls = inputs.acme if "tls" in inputs.packaging.features and spec.get("domains") else None
    roles: dict[str, dict[str, Any]] = {}
    _database_variables(inputs, roles)
    values = {k: env_value(v) for k, v in spec.get("env", {}).items()}
    database_url = roles.get("database", {}).pop("url", "")  # goes with the settings: one config:import in all
    if values or inputs.secrets or state.config_keys or database_url:
        owned = set(values) | set(inputs.secrets)
        roles["config"] = {
            "values": values,
            "secret_values": dict(inputs.secrets),
            "unset": sorted(set(state.config_keys) - owned),
            "database_url": database_url,  # not owned: removing `database` leaves DATABASE_URL alone
        }
    if "port" in spec:
        roles["ports"] = {"container_port": spec["port"], "https": tls is not None}
    if "domains" in spec:
        roles["domains"] = {"list": spec["domains"]}
    if spec.get("storage"):
        mounts = [{"entry": storage_entry(app, s["name"]), "path": s["path"]} for s in spec["storage"]]
        chown = storage_chown(spec, state)
        roles["storage"] = {"mounts": mounts, "entry_prefix": storage_entry(app, ""), "chown": chown}
    snippets = [{"name": f"{SNIPPET_PREFIX}{Path(rel).name}", "src": rel} for rel in inputs.packaging.snippets]
    if tls is not None and tls.challenge == "http-01":
        webroot = dokku.acme_webroot(app)
        content = f"location ^~ /.well-known/acme-challenge/ {{\n  alias {webroot}/;\n  default_type text/plain;\n}}\n"
        snippets.append({"name": ACME_SNIPPET, "content": content})
    if snippets or state.snippets:
        roles["nginx"] = {
            "snippets": snippets,
            "snippet_dir": str(dokku.app_dir(app) / "nginx.conf.d"),
            "prefix": SNIPPET_PREFIX,
            "check_command": f"{inputs.python} -m ansible_dokku_deploy.packaging.nginx_check",
        }
    if dns is not None:
        roles["dns"] = _dns_variables(dns, [] if destroying else spec.get("domains", []), state)
    if tls is not None:
        roles["tls"] = _tls_variables(dokku, app, spec["domains"], tls, dns)
    monitoring = _monitoring_variables(inputs, https=tls is not None)
    if monitoring is not None:
        roles["monitoring"] = monitoring
    return roles


def _database_variables(inputs: Inputs, roles: dict[str, dict[str, Any]]) -> None:
    """The database role's inputs (ensure it; on destroy, drop it only when the admin opted in) and the backups'."""
    app, spec, database = inputs.app, inputs.packaging.spec, inputs.database
    destroying = inputs.phase == DESTROY
    if database is not None:
        purge = inputs.settings["database-purge-on-destroy"] == "true"
        if not destroying or purge:
            url = database.url if database.backend == "server" else ""
            roles["database"] = {
                **database.role_inputs(),
                "state": "absent" if destroying else "present",
                "password": database.password,
                "url": url,
            }
    storage = [
        {"name": s["name"], "entry": entry, "path": str(inputs.dokku.lib_root / "data" / "storage" / entry)}
        for s in spec.get("storage", [])
        for entry in [storage_entry(app, s["name"])]
    ]
    if database is not None or storage:
        roles["backups"] = {
            "database": database.role_inputs() if database else {},
            "storage": storage,
            "storage_chown": storage_chown(spec, inputs.state),  # a restore takes the folders back for dokku
            "dokku_uid": inputs.uid,
        }


def _monitoring_variables(inputs: Inputs, *, https: bool) -> dict[str, Any] | None:
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
    return {
        "targets_dir": targets_dir,
        "rules_dir": settings["monitoring-rules-dir"],
        "probe_groups": probes,
        "metrics_groups": metrics,
        "cert_days": int(settings["monitoring-cert-days"]),
        "check_command": f"{inputs.python} -m ansible_dokku_deploy.prometheus_check",
    }


def _dns_variables(dns: Dns, domains: list[str], state: State) -> dict[str, Any]:
    """Records to have (A, and AAAA when an IPv6 target is set) and records to remove (those of dropped domains)."""
    wanted: list[dict[str, str]] = []
    for domain in domains:
        zone = dns.zone_of(domain) or ""
        wanted.append({"record": f"{domain}.", "zone": zone, "type": "A", "value": dns.ipv4})
        if dns.ipv6:
            wanted.append({"record": f"{domain}.", "zone": zone, "type": "AAAA", "value": dns.ipv6})
    keys = {(r["record"], r["type"]) for r in wanted}
    absent = [r for r in state.dns if (r["record"], r["type"]) not in keys]
    return {
        "server": dns.server,
        "port": dns.port,
        "key_name": dns.key_name,
        "key_algorithm": dns.algorithm,
        "key_secret": dns.secret,
        "ttl": dns.ttl,
        "records": wanted,
        "absent": absent,
    }


def _tls_variables(dokku: Dokku, app: str, domains: list[str], acme: Acme, dns: Dns | None) -> dict[str, Any]:
    account = hashlib.sha256(acme.directory.encode()).hexdigest()[:12]
    values: dict[str, Any] = {
        "domains": domains,
        "directory": acme.directory,
        "email": acme.email,
        "challenge": acme.challenge,
        "ca_file": acme.ca_file,
        "renew_days": acme.renew_days,
        "timeout": acme.timeout,
        "account_key": str(dokku.data_root / ".acme" / f"account-{account}.key"),
        "dir": str(dokku.data_dir(app) / "tls"),
        "webroot": str(dokku.acme_webroot(app)),
    }
    if acme.challenge == "dns-01" and dns is not None:  # else the role's defaults: it reads them for dns-01 only
        values.update(
            dns_server=dns.server,
            dns_port=dns.port,
            dns_key_name=dns.key_name,
            dns_key_algorithm=dns.algorithm,
            dns_key_secret=dns.secret,
            dns_zones={d: dns.zone_of(d) or "" for d in domains},
        )
    return values


def make_plan(inputs: Inputs) -> Plan:
    """The phase's roles and variables, from its inputs alone."""
    app, phase, release, packaging = inputs.app, inputs.phase, inputs.release, inputs.packaging
    wanted = role_variables(inputs)
    if "backups" in wanted:
        wanted["backups"].update(action=phase, **inputs.run)
    roles = tuple(r for r in PHASE_ROLES[phase] if r in wanted)
    steps = tuple(packaging.spec.get("steps", {}).get(phase, []))
    on_failure = tuple(packaging.spec.get("steps", {}).get("on-failure", [])) if phase in PHASES else ()
    variables: dict[str, Any] = {
        "ansible_deploy_roles": list(roles),
        # What the packager's own steps can use (see the README); roles take their role_* inputs.
        "ansible_deploy_app": app,
        "ansible_deploy_phase": phase,
        "ansible_deploy_domains": packaging.spec.get("domains", []),
        "ansible_deploy_port": packaging.spec.get("port"),
        "ansible_deploy_env": {k: env_value(v) for k, v in packaging.spec.get("env", {}).items()},
        "ansible_deploy_app_dir": str(inputs.dokku.app_dir(app)),
        "ansible_deploy_data_dir": str(inputs.dokku.data_dir(app)),
        "ansible_deploy_backups": packaging.spec.get("backups", {}),
    }
    for role in roles:
        variables[f"{role}_app"] = app
        variables.update({f"{role}_{key}": value for key, value in wanted[role].items()})
    basis = {"phase": phase, "digest": release.digest, "version": __version__, "variables": variables, "steps": steps}
    fingerprint = hashlib.sha256(json.dumps(basis, sort_keys=True).encode()).hexdigest()
    # The release's path changes with every push; its content is in the digest.
    variables["ansible_deploy_release_dir"] = str(release.path)
    if "nginx" in roles:
        variables["nginx_release_dir"] = str(release.path)
    return Plan(
        app=app,
        phase=phase,
        release=release,
        roles=roles,
        variables=variables,
        fingerprint=fingerprint,
        steps=tuple(str(release.path / s) for s in steps),
        on_failure=tuple(str(release.path / s) for s in on_failure),
        owned=_owned({role: wanted[role] for role in roles}, packaging.spec),
    )


def _owned(planned: dict[str, dict[str, Any]], spec: dict[str, Any]) -> Owned:
    config = planned.get("config", {})
    database = planned.get("database")
    return Owned(
        config_keys=tuple(sorted({*config.get("values", {}), *config.get("secret_values", {})})),
        snippets=tuple(s["name"] for s in planned.get("nginx", {}).get("snippets", [])),
        dns=tuple({k: r[k] for k in ("record", "zone", "type")} for r in planned.get("dns", {}).get("records", [])),
        database={k: database[k] for k in ("engine", "backend", "name")} if database else {},
        backups=spec.get("backups", {}),
    )


def env_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
