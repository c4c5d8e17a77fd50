"""What a phase must provision: the roles, their variables, and a fingerprint that tells 'nothing changed'."""

from __future__ import annotations

import hashlib
import json
import os
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ansible_dokku_deploy import __version__
from ansible_dokku_deploy.database import database_for
from ansible_dokku_deploy.dokku import Dokku
from ansible_dokku_deploy.packaging import Packaging
from ansible_dokku_deploy.resolve import Resolved
from ansible_dokku_deploy.server import Acme, Dns, acme_config, dns_config
from ansible_dokku_deploy.settings import GLOBAL, Store
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
class Plan:
    app: str
    phase: str
    release: Release
    roles: tuple[str, ...]
    variables: dict[str, Any]
    fingerprint: str
    steps: tuple[str, ...] = ()  # the packager's playbooks for this phase, run after the roles
    on_failure: tuple[str, ...] = ()  # and those run when the phase fails


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


def role_variables(
    dokku: Dokku,
    app: str,
    packaging: Packaging,
    state: State,
    *,
    secrets: dict[str, str],
    destroying: bool = False,
) -> dict[str, dict[str, Any]]:
    """Inputs of every role that has something to do, by role name."""
    spec = packaging.spec
    store = Store(dokku)
    dns, acme = dns_config(store, app), acme_config(store, app)
    tls = acme if "tls" in packaging.features and spec.get("domains") else None
    roles: dict[str, dict[str, Any]] = {}
    _database_variables(dokku, store, app, spec, state, roles, destroying=destroying)
    values = {k: env_value(v) for k, v in spec.get("env", {}).items()}
    database_url = roles.get("database", {}).pop("url", "")  # goes with the settings: one config:import in all
    if values or secrets or state.config_keys or database_url:
        owned = set(values) | set(secrets)
        roles["config"] = {
            "values": values,
            "secret_values": secrets,
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
    snippets = [{"name": f"{SNIPPET_PREFIX}{Path(rel).name}", "src": rel} for rel in packaging.snippets]
    if tls is not None and tls.challenge == "http-01":
        webroot = dokku.acme_webroot(app)
        content = f"location ^~ /.well-known/acme-challenge/ {{\n  alias {webroot}/;\n  default_type text/plain;\n}}\n"
        snippets.append({"name": ACME_SNIPPET, "content": content})
    if snippets or state.snippets:
        roles["nginx"] = {
            "snippets": snippets,
            "snippet_dir": str(dokku.app_dir(app) / "nginx.conf.d"),
            "prefix": SNIPPET_PREFIX,
            "check_command": f"{sys.executable} -m ansible_dokku_deploy.packaging.nginx_check",
        }
    if dns is not None:
        roles["dns"] = _dns_variables(dns, [] if destroying else spec.get("domains", []), state)
    if tls is not None:
        roles["tls"] = _tls_variables(dokku, app, spec["domains"], tls, dns)
    monitoring = _monitoring_variables(store, app, spec, https=tls is not None)
    if monitoring is not None:
        roles["monitoring"] = monitoring
    return roles


def _database_variables(  # noqa: PLR0917  # the shared inputs of role_variables
    dokku: Dokku,
    store: Store,
    app: str,
    spec: dict[str, Any],
    state: State,
    roles: dict[str, dict[str, Any]],
    *,
    destroying: bool,
) -> None:
    """The database role's inputs (ensure it; on destroy, drop it only when the admin opted in) and the backups'."""
    if destroying and state.database and not spec.get("database"):
        spec = {**spec, "database": {"engine": state.database["engine"]}}
    database = database_for(store, app, spec, state.database)
    if database is not None:
        purge = store.computed(app, "database-purge-on-destroy") == "true"
        if not destroying or purge:
            url = database.url if database.backend == "server" else ""
            roles["database"] = {
                **database.role_inputs(),
                "state": "absent" if destroying else "present",
                "password": database.password,
                "url": url,
            }
    storage = [
        {"name": s["name"], "entry": entry, "path": str(dokku.lib_root / "data" / "storage" / entry)}
        for s in spec.get("storage", [])
        for entry in [storage_entry(app, s["name"])]
    ]
    if database is not None or storage:
        roles["backups"] = {
            "database": database.role_inputs() if database else {},
            "storage": storage,
            "storage_chown": storage_chown(spec, state),  # a restore takes the folders back for the dokku user
            "dokku_uid": os.getuid(),
        }


def _monitoring_variables(store: Store, app: str, spec: dict[str, Any], *, https: bool) -> dict[str, Any] | None:
    """Prometheus target groups: a blackbox probe of each domain's health URL, and the metrics path when declared."""
    declared = spec.get("monitoring") or {}
    targets_dir = store.get(GLOBAL, "monitoring-targets-dir")
    if not declared or not targets_dir or not spec.get("domains"):
        return None
    scheme = "https" if https else "http"
    through_nginx = store.computed(app, "monitoring-probe-through") == "nginx"
    nginx = f"{store.computed(app, 'healthcheck-address')}:{store.computed(app, 'healthcheck-' + scheme + '-port')}"
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
        "rules_dir": store.get(GLOBAL, "monitoring-rules-dir"),
        "probe_groups": probes,
        "metrics_groups": metrics,
        "cert_days": store.computed_int(app, "monitoring-cert-days"),
        "check_command": f"{sys.executable} -m ansible_dokku_deploy.prometheus_check",
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
        "dns_server": "",
        "dns_port": 53,
        "dns_key_name": "",
        "dns_key_algorithm": "",
        "dns_key_secret": "",
        "dns_zones": {},
    }
    if acme.challenge == "dns-01" and dns is not None:
        values.update(
            dns_server=dns.server,
            dns_port=dns.port,
            dns_key_name=dns.key_name,
            dns_key_algorithm=dns.algorithm,
            dns_key_secret=dns.secret,
            dns_zones={d: dns.zone_of(d) or "" for d in domains},
        )
    return values


def make_plan(
    dokku: Dokku,
    app: str,
    phase: str,
    *,
    release: Release,
    resolved: Resolved,
    state: State,
    inputs: dict[str, Any] | None = None,
) -> Plan:
    """The phase's roles and variables; inputs adds variables of this one run (such as a backup's folder)."""
    packaging = resolved.packaging
    wanted = role_variables(dokku, app, packaging, state, secrets=resolved.secrets, destroying=phase == DESTROY)
    if "backups" in wanted:
        wanted["backups"].update(action=phase, **(inputs or {}))
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
        "ansible_deploy_app_dir": str(dokku.app_dir(app)),
        "ansible_deploy_data_dir": str(dokku.data_dir(app)),
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
    )


def env_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
