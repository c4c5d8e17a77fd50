"""ansible-deploy:report [<app>] [--format json|stdout] [--ansible-deploy-<flag>]"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from functools import cache
from typing import TYPE_CHECKING

from ansible_dokku_deploy import backups, cron, health, monitoring, output, restic
from ansible_dokku_deploy.commands import take_format
from ansible_dokku_deploy.dokku import Dokku
from ansible_dokku_deploy.errors import DeployError, UsageError
from ansible_dokku_deploy.history import History, Run
from ansible_dokku_deploy.output import MASK
from ansible_dokku_deploy.packaging import Packaging
from ansible_dokku_deploy.plan import PHASES, env_value
from ansible_dokku_deploy.resolve import staged_packaging
from ansible_dokku_deploy.server import dns_config
from ansible_dokku_deploy.settings import GLOBAL, SETTINGS, Store
from ansible_dokku_deploy.staging import Release, Staging
from ansible_dokku_deploy.state import Phase, State

if TYPE_CHECKING:
    from cryptography.x509 import Certificate

USAGE = "[<app>] [--format json|stdout] [<flag>]"
DESCRIPTION = "Displays the ansible-deploy report for one or all apps"
PREFIX = "--ansible-deploy-"

Field = Callable[[Dokku, str], str]


# What the fields read, loaded once per app and process: a report of many apps reads each file once.
@cache
def _runs(dokku: Dokku, app: str) -> list[Run]:
    return History(dokku.data_dir(app)).runs()


@cache
def _state(dokku: Dokku, app: str) -> State:
    return State.load(dokku.data_dir(app))


@cache
def _release(dokku: Dokku, app: str) -> Release | None:
    return Staging(dokku.data_dir(app)).current()


@cache
def _packaging(dokku: Dokku, app: str) -> Packaging | None:
    """The staged packaging in the app's environment."""
    release = _release(dokku, app)
    return None if release is None else staged_packaging(dokku, app, release)


@cache
def _certificate_file(dokku: Dokku, app: str) -> Certificate | None:
    path = dokku.data_dir(app) / "tls" / "server.crt"
    if not path.exists():
        return None
    from cryptography import x509  # noqa: PLC0415  # only when there is a certificate

    return x509.load_pem_x509_certificate(path.read_bytes())


def _last_run(attr: str) -> Field:
    def read(dokku: Dokku, app: str) -> str:
        applied = [r for r in _runs(dokku, app) if not r.check]
        run = applied[-1] if applied else None
        if run is None:
            return "none" if attr == "status" else ""
        if attr == "at":
            return run.started_iso
        return str(getattr(run, attr))

    return read


def _staged(attr: str) -> Field:
    def read(dokku: Dokku, app: str) -> str:
        release = _release(dokku, app)
        return "" if release is None else str(getattr(release, attr))

    return read


def _last_renewal(attr: str) -> Field:
    def read(dokku: Dokku, app: str) -> str:
        runs = [r for r in _runs(dokku, app) if r.phase == Phase.RENEW]
        return "" if not runs else runs[-1].started_iso if attr == "at" else runs[-1].status

    return read


def _steps_ran(dokku: Dokku, app: str) -> str:
    """The packager's steps in the latest run of each deploy phase (run records list them after the roles)."""
    latest = {run.phase: run for run in _runs(dokku, app) if run.phase in PHASES}
    return " ".join(step for run in latest.values() for step in run.roles if step.endswith((".yml", ".yaml")))


def _dns_configured(dokku: Dokku, app: str) -> str:
    return "true" if dns_config(Store(dokku), app) else "false (no dns-server, dns-zones, TSIG key or target set)"


def _dns_records(dokku: Dokku, app: str) -> str:
    return " ".join(f"{r['type']}:{r['record'].rstrip('.')}" for r in _state(dokku, app).dns)


def _certificate(attr: str) -> Field:
    def read(dokku: Dokku, app: str) -> str:
        cert = _certificate_file(dokku, app)
        if cert is None:
            return ""
        if attr == "expires-at":
            return cert.not_valid_after_utc.strftime("%Y-%m-%dT%H:%M:%SZ")
        if attr == "issuer":
            return cert.issuer.rfc4514_string()
        from cryptography import x509  # noqa: PLC0415  # loaded with the certificate

        names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        return " ".join(names.get_values_for_type(x509.DNSName))

    return read


def _health(attr: str) -> Field:
    def read(dokku: Dokku, app: str) -> str:
        if attr == "path":
            packaging = _packaging(dokku, app)
            if packaging is None:
                return ""
            monitoring = packaging.spec.get("monitoring") or {}
            return str(monitoring.get("healthcheck", "none declared"))
        return str(health.last(dokku, app).get(attr, ""))

    return read


def _resolved(key: str) -> Field:
    """The value the app's environment resolves to; vault settings by name only, masked."""

    def read(dokku: Dokku, app: str) -> str:
        try:
            packaging = _packaging(dokku, app)
        except DeployError:
            return "invalid"
        if packaging is None:
            return ""
        spec = packaging.spec
        if key != "env":
            value = spec.get(key, "")
            return " ".join(value) if isinstance(value, list) else str(value)
        plain = {k: env_value(v) for k, v in spec.get("env", {}).items()}
        masked = {k: MASK for k in _state(dokku, app).config_keys if k not in plain}
        return " ".join(f"{k}={v}" for k, v in sorted({**plain, **masked}.items()))

    return read


def _database(attr: str) -> Field:
    """Where the app's data is (never its password)."""

    def read(dokku: Dokku, app: str) -> str:
        return _state(dokku, app).database.get(attr, "")

    return read


def _schedule(attr: str) -> Field:
    """The app's backup schedule, where its backups go, and when cron runs the next one."""

    def read(dokku: Dokku, app: str) -> str:
        schedule = str(_state(dokku, app).backups.get("schedule", ""))
        if attr == "schedule":
            return schedule
        if attr == "repository":
            return restic.location(dokku) if schedule or backups.records(dokku, app) else ""
        upcoming = cron.next_run(schedule, time.time()) if schedule else None
        return time.strftime("%Y-%m-%dT%H:%MZ", time.gmtime(upcoming)) if upcoming else ""

    return read


def _backups(attr: str) -> Field:
    def read(dokku: Dokku, app: str) -> str:
        done = backups.records(dokku, app)
        if attr == "kept":
            return str(done.get("kept", ""))
        kind, _, field = attr.partition("-")
        record = done.get(kind, {})
        if not record:
            return ""
        if field == "at":
            return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(record["time"]))
        if field == "size":
            return backups.human_size(record["size"])
        if field == "skipped":  # what tar could not read: not in the backup
            return " ".join(record.get("skipped", []))
        return str(record.get(field, ""))

    return read


def _features(dokku: Dokku, app: str) -> str:
    try:
        packaging = _packaging(dokku, app)
    except DeployError:
        return "invalid"
    return "" if packaging is None else " ".join(packaging.features)


def _setting(key: str, scope: str) -> Field:
    setting = SETTINGS[key]

    def read(dokku: Dokku, app: str) -> str:
        store = Store(dokku)
        value = {"app": lambda: store.get(app, key), "global": lambda: store.get(GLOBAL, key)}.get(
            scope, lambda: store.computed(app, key)
        )()
        return MASK if setting.secret and value else value

    return read


FIELDS: dict[str, Field] = {
    "staged-rev": _staged("rev"),
    "staged-at": _staged("staged_at"),
    "staged-release": _staged("id"),
    "features": _features,
    "last-run-id": _last_run("id"),
    "last-run-phase": _last_run("phase"),
    "last-run-status": _last_run("status"),
    "last-run-at": _last_run("at"),
    "last-run-changed": _last_run("changed"),
    "steps-ran": _steps_ran,
    "dns-configured": _dns_configured,
    "dns-records": _dns_records,
    "tls-expires-at": _certificate("expires-at"),
    "tls-issuer": _certificate("issuer"),
    "tls-domains": _certificate("domains"),
    "tls-last-renewal-at": _last_renewal("at"),
    "tls-last-renewal-status": _last_renewal("status"),
    "resolved-port": _resolved("port"),
    "resolved-domains": _resolved("domains"),
    "resolved-env": _resolved("env"),
    "health-path": _health("path"),
    "health-last-result": _health("result"),
    "health-last-at": _health("at"),
    "database-engine": _database("engine"),
    "database-backend-in-use": _database("backend"),
    "database-name": _database("name"),
    "backup-schedule": _schedule("schedule"),
    "backup-destination": _schedule("repository"),
    "next-backup-at": _schedule("next"),
    "last-backup-result": _backups("attempt-result"),
    "last-backup-error": _backups("attempt-message"),
    "backups-kept": _backups("kept"),
    "last-backup-id": _backups("backup-id"),
    "last-backup-at": _backups("backup-at"),
    "last-backup-size": _backups("backup-size"),
    "last-backup-skipped": _backups("backup-skipped"),
    "last-drill-at": _backups("drill-at"),
    "last-drill-result": _backups("drill-result"),
    "last-drill-backup": _backups("drill-backup"),
    "monitoring-targets": lambda dokku, app: " ".join(
        str(p) for p in monitoring.target_files(dokku, app) if p.exists()
    ),
}
OWN_FIELDS = frozenset(FIELDS)  # the report's own; a setting of the same name would hide one
for _key in SETTINGS:
    FIELDS[_key] = _setting(_key, "app")
    FIELDS[f"global-{_key}"] = _setting(_key, "global")
    FIELDS[f"computed-{_key}"] = _setting(_key, "computed")


def collect(dokku: Dokku, app: str) -> dict[str, str]:
    return {flag: read(dokku, app) for flag, read in sorted(FIELDS.items())}


def print_report(dokku: Dokku, app: str) -> None:
    """Dokku's report shape: a header, then `Label: value` lines sorted by flag, labels padded to 31+."""
    values = collect(dokku, app)
    output.header(f"{app} ansible-deploy information")
    labels = {flag: (f"ansible deploy {flag}".replace("-", " ").capitalize() + ":") for flag in values}
    width = max(31, *(len(label) for label in labels.values()))
    for flag, value in values.items():
        output.detail(f"{labels[flag]:<{width}} {value}".rstrip())


def _parse(args: list[str]) -> tuple[str, list[str], list[str]]:
    """(format, info flags, apps) from Dokku's report syntax."""
    fmt, rest = take_format(args)
    flags = [arg for arg in rest if arg.startswith("--")]
    apps = [arg for arg in rest if not arg.startswith("--")]
    if len(apps) > 1:
        raise UsageError(f"Unexpected argument(s): {' '.join(apps[1:])}")
    if flags and "--format" in args:
        raise UsageError("--format flag cannot be specified when specifying an info flag")
    for flag in flags:
        if not flag.startswith(PREFIX) or flag[len(PREFIX) :] not in FIELDS:
            raise UsageError(f"Invalid flag passed, valid flags: {', '.join(PREFIX + f for f in sorted(FIELDS))}")
    return fmt, flags, apps


def main(args: list[str]) -> None:
    fmt, flags, apps = _parse(args)
    dokku = Dokku.from_environ()
    targets = [dokku.require_app(apps[0])] if apps else dokku.apps()
    if not targets:
        output.warn("You haven't deployed any applications yet")
        return
    if len(flags) > 1:
        return  # Dokku's report silently does nothing with more than one info flag
    for app in targets:
        if flags:
            output.plain(FIELDS[flags[0][len(PREFIX) :]](dokku, app))
        elif fmt == "json":
            output.plain(json.dumps(collect(dokku, app), separators=(",", ":")))
        else:
            print_report(dokku, app)
