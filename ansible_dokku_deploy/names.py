"""Global names derived from an app's name: storage entries, databases and roles, services, drill scratch copies.

Dokku's storage entries, a database server's databases and roles and the service plugins' services are shared by
every app on the server, so two different apps (or storage names) must never map to one name. Each function here
keeps a name that is safe as it stands as it is (the names earlier versions gave the common case), and otherwise
gives a readable prefix, a separator the plain names never contain, and a hash of the full, unmapped input: plain
names decode back to their input, hashed names differ from every plain one, and two hashed names are equal only
when their inputs are (a 130-bit digest: no collision can be searched for). Drill scratch copies start with `_`,
which no app-derived name does.
"""

from __future__ import annotations

import base64
import hashlib
import re

STORAGE_ENTRY_LIMIT = 45  # Dokku's storage entry names: a DNS-1123 label of at most 45 characters (entry.go)
DATABASE_LIMIT = 63  # PostgreSQL's identifiers; MariaDB allows 64 for a database and 80 for a user
SERVICE_LIMIT = 48  # the service's host name dokku-postgres-NAME (or dokku-mysql-) is one DNS label of 63
SCRATCH_PREFIX = "_drill_"  # no app-derived name starts with "_"
_DIGEST = 26  # base32 characters: 130 bits
_PLAIN = re.compile(r"[a-z0-9]+")


def _digest(full: str) -> str:
    return base64.b32encode(hashlib.sha256(full.encode()).digest()).decode().lower()[:_DIGEST]


def _hashed(readable: str, full: str, limit: int, separator: str) -> str:
    """readable's start, the separator and full's digest: at most limit characters."""
    return readable[: limit - len(separator) - _DIGEST] + separator + _digest(full)


def storage_entry(app: str, name: str) -> str:
    """APP-NAME when the app's name is letters and digits only and NAME has no "--" (the first "-" splits them);
    else a prefix, "--" and a hash of both. Never Dokku's reserved "legacy-" prefix."""
    plain = f"{app}-{name}"
    if _PLAIN.fullmatch(app) and "--" not in name and len(plain) <= STORAGE_ENTRY_LIMIT and app != "legacy":
        return plain
    readable = re.sub(r"[^a-z0-9-]", "-", plain)
    if readable.startswith("legacy-"):
        readable = "x" + readable
    return _hashed(readable, f"{app}/{name}", STORAGE_ENTRY_LIMIT, "--")


def database_name(app: str) -> str:
    """The server backend's database and role (MariaDB: user): APP when it is letters and digits only; else a
    prefix in [a-z0-9_], "__" and a hash of the app's name."""
    if _PLAIN.fullmatch(app) and len(app) <= DATABASE_LIMIT:
        return app
    return _hashed(re.sub(r"[^a-z0-9]", "_", app), app, DATABASE_LIMIT, "__")


def service_name(app: str) -> str:
    """The dokku-service backend's service: APP when it has no dot and no "--"; else a prefix, "--" and a hash of
    the app's name. Never "_": the service plugins turn it into "-" in the service's host name."""
    if re.fullmatch(r"[a-z0-9-]+", app) and "--" not in app and len(app) <= SERVICE_LIMIT:
        return app
    return _hashed(re.sub(r"[^a-z0-9-]", "-", app), app, SERVICE_LIMIT, "--")


def scratch_name(database: str) -> str:
    """The restore drill's scratch database or service for the app's database (or service) of that name."""
    plain = SCRATCH_PREFIX + database
    if len(plain) <= DATABASE_LIMIT:
        return plain
    return _hashed(plain, database, DATABASE_LIMIT, "__")


def legacy_storage_entry(app: str, name: str) -> str:
    """The entry earlier versions gave (not injective: `shop` + `prod-uploads` and `shop-prod` + `uploads` meet);
    an app they provisioned keeps the entries mounted on it under these names."""
    entry = re.sub(r"[^a-z0-9-]", "-", f"{app}-{name}")
    if len(entry) > STORAGE_ENTRY_LIMIT:
        entry = entry[:36] + "-" + hashlib.sha256(entry.encode()).hexdigest()[:8]
    return entry
