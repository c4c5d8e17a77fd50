"""ports:*, domains:*, certs:*, storage:*, checks:* as Dokku answers them."""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import shlex
import shutil
import sys
import tarfile
from pathlib import Path

from double import nginx
from double.env import Env, Fail, info1, info1_quiet, privileged, quiet, verbose
from double.plugins import trigger
from double.report import report

DOMAIN = re.compile(r"^[a-z0-9.*-]*[a-z0-9*-]$")
STORAGE_NAME = re.compile(r"^[a-z0-9]([a-z0-9-]{0,43}[a-z0-9])?$")


# --- ports (Go, since 0.31.0): list property `map`, sorted lines scheme:host:container
def _parse_maps(maps: list[str]) -> list[str]:
    if not maps:
        raise Fail("No port mapping specified")
    for mapping in maps:
        parts = mapping.split(":")
        if len(parts) != 3 or not all(p.isdigit() for p in parts[1:]) or any(int(p) > 65536 for p in parts[1:]):
            raise Fail(f"Invalid port map {mapping} [len={len(parts)}]")
    return sorted(set(maps))


def ports_set(env: Env, args: list[str]) -> int:
    app = env.verify_app(args[0] if args else None)
    env.prop_list_set("ports", app, "map", _parse_maps(args[1:]))
    trigger(env, "post-proxy-ports-update", app, "set")
    nginx.build_config(env, app)
    return 0


def ports_add(env: Env, args: list[str]) -> int:
    app = env.verify_app(args[0] if args else None)
    current = env.prop_list("ports", app, "map")
    new = _parse_maps(args[1:])
    used = {":".join(m.split(":")[:2]) for m in current}
    for mapping in new:
        if ":".join(mapping.split(":")[:2]) in used:
            raise Fail(
                "Error validating all port mappings: The same scheme:host-port is being reused: "
                + ":".join(mapping.split(":")[:2])
            )
    env.prop_list_set("ports", app, "map", sorted(current + new))
    trigger(env, "post-proxy-ports-update", app, "add")
    nginx.build_config(env, app)
    return 0


def ports_remove(env: Env, args: list[str]) -> int:
    """plugins/ports/subcommands.go CommandRemove, functions.go removePortMaps: drop the exact mappings given (a
    bare host port, which Dokku also takes, is not modelled); none left deletes the property."""
    app = env.verify_app(args[0] if args else None)
    if len(args) < 2:
        raise Fail("No port mapping specified")
    gone = set(_parse_maps(args[1:]))
    kept = [m for m in env.prop_list("ports", app, "map") if m not in gone]
    if kept:
        env.prop_list_set("ports", app, "map", kept)
    else:
        env.prop_delete("ports", app, "map")
    trigger(env, "post-proxy-ports-update", app, "remove")
    nginx.build_config(env, app)
    return 0


def ports_clear(env: Env, args: list[str]) -> int:
    app = env.verify_app(args[0] if args else None)
    env.prop_delete("ports", app, "map")
    trigger(env, "post-proxy-ports-update", app, "clear")
    nginx.build_config(env, app)
    return 0


def ports_list(env: Env, args: list[str]) -> int:
    app = env.verify_app(args[0] if args else None)
    maps = env.prop_list("ports", app, "map")
    if not maps:
        raise Fail("No port mappings configured for app")
    info1_quiet(f"Port mappings for {app}")
    verbose(f"{'scheme':<12}{'host port':<12}container port")
    for mapping in maps:
        scheme, host, container = mapping.split(":")
        verbose(f"{scheme:<12}{host:<12}{container}")
    return 0


def _map_json(maps: list[str]) -> str:
    rows = [{"scheme": s, "host_port": int(h), "container_port": int(c)} for s, h, c in (m.split(":") for m in maps)]
    return json.dumps(rows, separators=(",", ":"))


def _ports_fields(env: Env, app: str) -> dict[str, str]:
    maps, detected = env.prop_list("ports", app, "map"), env.prop_list("ports", app, "map-detected")
    return {
        "map": " ".join(maps),
        "map-json": _map_json(maps),
        "map-detected": " ".join(detected),
        "map-detected-json": _map_json(detected),
    }


# --- domains (bash; report in Go): $DOKKU_ROOT/APP/VHOST, one per line
def _vhosts(env: Env, app: str) -> list[str]:
    path = env.app_dir(app) / "VHOST"
    return [line for line in path.read_text().splitlines() if line] if path.exists() else []


def _write_vhosts(env: Env, app: str, domains: list[str]) -> None:
    (env.app_dir(app) / "VHOST").write_text("".join(f"{d}\n" for d in domains))


def _check_domains(domains: list[str]) -> None:
    for domain in domains:
        if domain != "_" and not DOMAIN.match(domain.lower()):
            raise Fail(f"{domain} is invalid. exiting...")


def domains_add(env: Env, args: list[str]) -> int:
    app = env.verify_app(args[0] if args else None)
    if len(args) < 2:
        raise Fail("Please specify a domain name")
    _check_domains(args[1:])
    current = _vhosts(env, app)
    for domain in args[1:]:
        if domain in current:
            info1_quiet(f"Skipping: {domain} already added to {app}")
        else:
            current.append(domain)
            info1_quiet(f"Added {domain} to {app}")
    _write_vhosts(env, app, current)
    trigger(env, "post-domains-update", app, "add", *args[1:])
    nginx.build_config(env, app)
    return 0


def domains_set(env: Env, args: list[str]) -> int:
    app = env.verify_app(args[0] if args else None)
    if len(args) < 2:
        raise Fail("Please specify a domain name")
    _check_domains(args[1:])
    _write_vhosts(env, app, list(dict.fromkeys(args[1:])))
    info1_quiet(f"Set {' '.join(args[1:])} for {app}")
    trigger(env, "post-domains-update", app, "set", *args[1:])
    nginx.build_config(env, app)
    return 0


def domains_remove(env: Env, args: list[str]) -> int:
    app = env.verify_app(args[0] if args else None)
    current = _vhosts(env, app)
    for domain in args[1:]:
        if domain in current:
            current.remove(domain)
            info1_quiet(f"Removed {domain} from {app}")
    _write_vhosts(env, app, current)
    trigger(env, "post-domains-update", app, "remove", *args[1:])
    nginx.build_config(env, app)
    return 0


def domains_clear(env: Env, args: list[str]) -> int:
    app = env.verify_app(args[0] if args else None)
    (env.app_dir(app) / "VHOST").unlink(missing_ok=True)  # plugins/domains/functions fn-domains-clear-app: rm -f
    info1_quiet(f"Cleared domains in {app}")
    trigger(env, "post-domains-update", app, "clear")
    nginx.build_config(env, app)
    return 0


def _domains_fields(env: Env, app: str) -> dict[str, str]:
    global_path = env.root / "VHOST"
    global_vhosts = global_path.read_text().split() if global_path.exists() else []
    return {
        "app-enabled": "true",
        "app-vhosts": " ".join(_vhosts(env, app)),
        "global-enabled": "true" if global_vhosts else "false",
        "global-vhosts": " ".join(global_vhosts),
    }


# --- certs (bash; report in Go): $DOKKU_ROOT/APP/tls/server.crt|key
def certs_add(env: Env, args: list[str]) -> int:
    app = env.verify_app(args[0] if args else None)
    tls = env.app_dir(app) / "tls"
    if len(args) >= 3:
        try:  # the files must be readable by the dokku user
            crt_data, key_data = Path(args[1]).read_bytes(), Path(args[2]).read_bytes()
        except OSError:
            raise Fail("CRT file specified not found, please check file paths") from None
    elif not sys.stdin.isatty():
        with tarfile.open(fileobj=io.BytesIO(sys.stdin.buffer.read())) as tar:
            members = [m for m in tar.getmembers() if m.isfile() and ".." not in m.name.split("/")]
            crts = [m for m in members if m.name.endswith(".crt")]
            keys = [m for m in members if m.name.endswith(".key")]
            if len(crts) != 1 or len(keys) != 1:
                raise Fail("Tar archive containing server.crt and server.key expected on stdin")
            crt_data, key_data = (tar.extractfile(m).read() for m in (crts[0], keys[0]))  # type: ignore[union-attr]
    else:
        raise Fail("Tar archive containing server.crt and server.key expected on stdin")
    tls.mkdir(mode=0o750, exist_ok=True)
    for name, data in (("server.crt", crt_data), ("server.key", key_data)):
        (tls / name).write_bytes(data)
        (tls / name).chmod(0o640)
    _https_for_http(env, app)
    trigger(env, "post-certs-update", app)
    trigger(env, "post-domains-update", app)
    nginx.build_config(env, app)
    return 0


def _https_for_http(env: Env, app: str) -> None:
    """ports' post-certs-update: add https:443:C for every http:80:C unless an https:443 mapping exists."""
    maps = env.prop_list("ports", app, "map")
    if any(m.startswith("https:443:") for m in maps):
        return
    extra = [f"https:443:{m.split(':')[2]}" for m in maps if m.startswith("http:80:")]
    if extra:
        env.prop_list_set("ports", app, "map", sorted(maps + extra))


def certs_remove(env: Env, args: list[str]) -> int:
    app = env.verify_app(args[0] if args else None)
    tls = env.app_dir(app) / "tls"
    if not (tls / "server.crt").exists():
        raise Fail("An app-specific SSL endpoint is not defined")
    shutil.rmtree(tls)
    trigger(env, "post-certs-remove", app)
    nginx.build_config(env, app)
    return 0


def _certs_fields(env: Env, app: str) -> dict[str, str]:
    tls = env.app_dir(app) / "tls"
    enabled = (tls / "server.crt").exists()
    return {
        "dir": str(tls),
        "enabled": "true" if enabled else "false",
        "hostnames": "",
        "expires-at": "",
        "issuer": "",
        "starts-at": "",
        "subject": "",
        "verified": "",
    }


# --- storage (Go, plugins/storage): entries in data/storage-registry (entry.go), attachments as the app's `mounts`
# property list (attachment.go), legacy `HOST:CONTAINER` mounts as synthesized legacy-<sha1> entries
ENTRY_FIELDS = (
    "name",
    "scheduler",
    "host_path",
    "size",
    "access_mode",
    "storage_class",
    "namespace",
    "chown",
    "mode",
    "reclaim_policy",
)
CHOWN_IDS = {"herokuish": "32767", "heroku": "1000", "paketo": "2000", "root": "0"}  # subcommands.go ResolveChownID
LEGACY_PREFIX = "legacy-"


def _entry_path(env: Env, name: str) -> Path:
    return env.lib_root / "data" / "storage-registry" / "entries" / f"{name}.json"


def _entry(env: Env, name: str) -> dict[str, object]:
    path = _entry_path(env, name)
    return json.loads(path.read_text()) if path.exists() else {}


def _save_entry(env: Env, entry: dict[str, object]) -> None:
    """SaveEntry: empty fields omitted (Go's omitempty), indented JSON, mode 0600."""
    path = _entry_path(env, str(entry["name"]))
    path.parent.mkdir(parents=True, exist_ok=True)
    kept = {k: entry[k] for k in ENTRY_FIELDS if entry.get(k) or k in ("name", "scheduler")}
    path.write_text(json.dumps({**kept, "schema_version": 1}, indent=2))
    path.chmod(0o600)


def _entries(env: Env) -> list[dict[str, object]]:
    folder = _entry_path(env, "x").parent
    return [json.loads(p.read_text()) for p in sorted(folder.glob("*.json"))] if folder.is_dir() else []


def _flags(args: list[str], names: tuple[str, ...]) -> tuple[dict[str, str], list[str]]:
    """pflag: `--name value` or `--name=value` anywhere among the positional arguments."""
    flags, rest, it = {}, [], iter(args)
    for arg in it:
        key, eq, value = arg.removeprefix("--").partition("=")
        if arg.startswith("--") and key in names:
            flags[key] = value if eq else next(it, "")
        else:
            rest.append(arg)
    return flags, rest


def _chown_id(chown: str) -> str:
    if chown in CHOWN_IDS:
        return CHOWN_IDS[chown]
    if not chown.isdigit() or int(chown) > 65535:  # ParseUint(chown, 10, 16)
        raise Fail("Unsupported chown permissions")
    return str(int(chown))


def storage_create(env: Env, args: list[str]) -> int:
    """commands_entries.go CommandCreate: idempotent; --chown/--mode only on the default host path, re-applied."""
    flags, names = _flags(args, ("chown", "mode", "scheduler"))
    name = names[0] if names else ""
    if not name:
        raise Fail("storage entry name is required")
    if not STORAGE_NAME.match(name):
        raise Fail(f'storage entry name "{name}" must be a DNS-1123 label of at most 45 characters')
    if name.startswith(LEGACY_PREFIX):
        raise Fail(f'storage entry name "{name}" must not start with reserved prefix "{LEGACY_PREFIX}"')
    host = names[1] if len(names) > 1 else str(env.lib_root / "data" / "storage" / name)
    entry = {"name": name, "scheduler": "docker-local", "host_path": host, "chown": flags.get("chown", "")}
    entry["mode"] = _normal_mode(flags.get("mode", ""))
    if _entry(env, name):
        info1_quiet(f"Storage entry {name} already exists, leaving in place")
    _ensure_folder(env, entry)
    _save_entry(env, entry)
    info1(f"Storage entry {name} created")
    return 0


def _normal_mode(mode: str) -> str:
    """entry.go NormalizeDirectoryMode: 3 or 4 octal digits, stored as 4."""
    if mode and not re.fullmatch(r"[0-7]{3,4}", mode):
        raise Fail(f'Unsupported directory mode "{mode}". Value must be a 3 or 4 digit octal mode, such as 0755')
    return mode.rjust(4, "0") if mode else ""


def _ensure_folder(env: Env, entry: dict[str, object]) -> None:
    """commands_entries.go ensureDockerLocalPath: --chown/--mode only on the default host path, then MkdirAll 0755
    (owned by whoever runs dokku, the dokku user), chmod and `chown -R` through the root helpers."""
    name, host = str(entry["name"]), Path(str(entry["host_path"]))
    chown, mode = str(entry.get("chown") or ""), str(entry.get("mode") or "")
    default = env.lib_root / "data" / "storage" / name
    for flag, wanted in (("--chown", chown not in ("", "false")), ("--mode", bool(mode))):
        if wanted and host != default:  # requireDefaultHostPath
            raise Fail(
                f"{flag} is only supported when the storage entry uses the default host path ({default}); "
                f"omit {flag} and manage {host} manually"
            )
    if not host.is_dir():
        host.mkdir(parents=True, mode=0o755)
        verbose(f"Created {host}")
    if mode:
        privileged("chmod-storage-dir", name, mode)
    if chown not in ("", "false"):
        privileged("chown-storage-dir", name, _chown_id(chown))


SETTABLE = ("access-mode", "chown", "mode", "namespace", "reclaim-policy", "size", "storage-class-name")
ENTRY_KEYS = {"storage-class-name": "storage_class", "access-mode": "access_mode", "reclaim-policy": "reclaim_policy"}


def storage_set(env: Env, args: list[str]) -> int:
    """commands_entries.go CommandSet (property form): one property of an existing entry, an empty value unsets it;
    only chown and mode touch the folder; every other field of the entry stays as it is."""
    name, prop, value = [*args, "", "", ""][:3]
    entry = _entry(env, name)
    if not entry:
        raise Fail(f'storage entry "{name}" does not exist')
    if not prop:
        raise Fail("No property specified")
    if prop not in SETTABLE:
        raise Fail(f"Invalid property specified, valid properties include: {', '.join(SETTABLE)}")
    key = ENTRY_KEYS.get(prop, prop)
    if prop in ("access-mode", "storage-class-name"):
        if value != entry.get(key, ""):
            raise Fail(f"storage:set cannot change {prop} in place; recreate the entry")
    else:
        entry[key] = _normal_mode(value) if prop == "mode" else value
    if prop in ("size", "storage-class-name", "access-mode") and entry.get(key):  # Entry.Validate, docker-local
        raise Fail(f'storage entry "{name}" (docker-local) does not accept --{prop}')
    if prop == "reclaim-policy" and value not in ("", "Retain", "Delete"):
        raise Fail(f'storage entry "{name}" has unsupported reclaim policy "{value}"')
    _save_entry(env, entry)  # saved before the folder converges, as Dokku does: a refused chown stays recorded
    if prop in ("chown", "mode"):
        _ensure_folder(env, entry)
    info1(f"Storage entry {name} updated")
    return 0


def storage_info(env: Env, args: list[str]) -> int:
    entry = _entry(env, args[0]) if args else {}
    if not entry:
        raise Fail(f'storage entry "{args[0] if args else ""}" does not exist')
    if "--format" in args and args[args.index("--format") + 1] == "json":
        print(json.dumps(entry, indent=2))
    else:
        info1_quiet(f"Storage entry {entry['name']}")
        verbose(f"Scheduler:        {entry['scheduler']}")
        if entry.get("host_path"):
            verbose(f"Host path:        {entry['host_path']}")
    return 0


def storage_list_entries(env: Env, args: list[str]) -> int:
    entries = _entries(env)
    if "--format" in args and args[args.index("--format") + 1] == "json":
        print(json.dumps(entries, indent=2))
    elif not entries:
        info1_quiet("No storage entries registered")
    else:
        info1_quiet("Storage entries:")
        for entry in entries:
            verbose(f"{entry['name']}\t{entry['scheduler']}\t{entry.get('host_path', '')}")
    return 0


def _attachments(env: Env, app: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in env.prop_list("storage", app, "mounts")]


def _save_attachments(env: Env, app: str, attachments: list[dict[str, object]]) -> None:
    env.prop_list_set("storage", app, "mounts", [json.dumps(a, separators=(",", ":")) for a in attachments])


def mounts(env: Env, app: str) -> list[tuple[str, str, str]]:
    """(entry name, host path, container path) of each attachment, as ListAppMountEntries joins them."""
    rows = []
    for attachment in _attachments(env, app):
        entry = _entry(env, str(attachment["entry_name"]))
        if not entry:
            raise Fail(f'attachment on "{app}" references missing entry "{attachment["entry_name"]}"')
        rows.append(
            (str(entry["name"]), str(entry.get("host_path") or entry["name"]), str(attachment["container_path"]))
        )
    return rows


def container_mounts(env: Env, app: str) -> list[tuple[str, str, str]]:
    """mounts() as a container gets them: each attachment is a `-v HOST:CONTAINER` of its own (triggers.go
    TriggerDockerArgs, buildDockerVFlag), and Docker's daemon refuses to create a container with two on one
    container path (moby daemon/volumes.go registerMountPoints: "Duplicate mount point"), so the deploy fails."""
    rows, seen = mounts(env, app), set()
    for _name, _host, container in rows:
        target = os.path.normpath(container)  # Docker compares cleaned destinations
        if target in seen:
            raise Fail(f"Error response from daemon: Duplicate mount point: {target}")
        seen.add(target)
    return rows


def _legacy_entry(env: Env, spec: str) -> tuple[str, str]:
    """LegacyMountToEntry: `legacy-` and the first 10 hex digits of sha1(host path); saved on first use."""
    host, _, container = spec.partition(":")
    if not container or not host:
        raise Fail("Storage path must be two valid paths divided by colon.")
    if host.startswith("/") and not Path(host).exists():
        raise Fail(f"Host path {host} does not exist")  # VerifyPaths
    name = LEGACY_PREFIX + hashlib.sha1(host.encode()).hexdigest()[:10]  # noqa: S324  # Dokku's naming, not security
    if not _entry(env, name):
        _save_entry(env, {"name": name, "scheduler": "docker-local", "host_path": host})
    return name, container.split(":")[0]


def storage_mount(env: Env, args: list[str]) -> int:
    flags, rest = _flags(args, ("container-dir",))
    app = env.verify_app(rest[0] if rest else None)
    target = rest[1] if len(rest) > 1 else ""
    if ":" in target:  # mountLegacyColon
        name, container = _legacy_entry(env, target)
    else:  # named form
        name, container = target, flags.get("container-dir", "")
        if not _entry(env, name):
            raise Fail(f'storage entry "{name}" does not exist; create it first with `dokku storage:create`')
        if not container:
            raise Fail("--container-dir is required when mounting a named storage entry")
    attachments = _attachments(env, app)
    present = any(a["entry_name"] == name and a["container_path"] == container for a in attachments)
    if present and ":" in target:  # a legacy duplicate is an error
        raise Fail("Mount path already exists.")
    if present:  # the named form is an upsert keyed on (entry, container dir, process type)
        info1(f"Storage entry {name} mount at {container} on {app} updated")
        return 0
    if ":" not in target:
        info1(f"Storage entry {name} mounted at {container} on {app}")
    attachment = {"entry_name": name, "container_path": container, "phases": ["deploy", "run"]}
    _save_attachments(env, app, [*attachments, {**attachment, "process_type": "_default_"}])
    return 0


def storage_unmount(env: Env, args: list[str]) -> int:
    flags, rest = _flags(args, ("container-dir",))
    app = env.verify_app(rest[0] if rest else None)
    target = rest[1] if len(rest) > 1 else ""
    name, container = _legacy_entry(env, target) if ":" in target else (target, flags.get("container-dir", ""))
    attachments = _attachments(env, app)
    kept = [a for a in attachments if not (a["entry_name"] == name and container in ("", a["container_path"]))]
    if len(kept) == len(attachments):
        raise Fail(
            "Mount path does not exist." if ":" in target else f'storage entry "{name}" is not mounted on app "{app}"'
        )
    _save_attachments(env, app, kept)
    return 0


def storage_list(env: Env, args: list[str]) -> int:
    app = env.verify_app(args[0] if args else None)
    rows = mounts(env, app)
    if "--format" in args and args[args.index("--format") + 1] == "json":
        keys = ("entry_name", "host_path", "container_path")
        print(json.dumps([dict(zip(keys, row, strict=True)) for row in rows], separators=(",", ":")))
        return 0
    info1_quiet(f"{app} volume bind-mounts:")
    for _name, host, container in rows:
        print(f"{host}:{container}") if quiet() else verbose(f"{host}:{container}")
    return 0


# --- docker-options (Go): one option per line in DOCKER_OPTIONS_PHASE (the legacy layout, as for mounts)
PHASES = ("build", "deploy", "run")


def _options(env: Env, app: str, phase: str) -> Path:
    return env.app_dir(app) / f"DOCKER_OPTIONS_{phase}"


def docker_options(env: Env, app: str, phase: str) -> list[str]:
    path = _options(env, app, phase.upper())
    return [line.strip() for line in (path.read_text().splitlines() if path.exists() else []) if line.strip()]


SHELL_SPECIAL = set(" \t\n\"'$`\\*?[]<>|&;(){}!#~")  # dockeroptions.go needsShellQuoting


def _quote(token: str) -> str:
    if not token:
        return "''"
    return "'" + token.replace("'", "'\\''") + "'" if SHELL_SPECIAL & set(token) else token


def split_options(option: str) -> list[str]:
    """dockeroptions.go SplitOptionString: shell words, grouped at each flag, each group re-quoted."""
    try:
        words = shlex.split(option)
    except ValueError as exc:
        raise Fail(f"Unable to parse docker option: {exc}") from None
    groups: list[list[str]] = []
    for word in words:
        if (len(word) > 1 and word[0] == "-") or not groups:
            groups.append([])
        groups[-1].append(word)
    return [" ".join(_quote(w) for w in group) for group in groups]


def _docker_options_change(env: Env, args: list[str], *, add: bool) -> int:
    """docker-options:add appends each option (no check for an equal one) and sorts; remove drops equal words."""
    app = env.verify_app(args[0] if args else None)
    phases = args[1].split(",") if len(args) > 1 else []
    if not phases or any(p not in PHASES for p in phases):
        raise Fail(f"Phase must be one of [{' '.join(PHASES)}]")
    options = split_options(" ".join(args[2:]))
    if not options:
        raise Fail(f"Please specify docker options to {'add to' if add else 'remove from'} the phase")
    for phase in phases:
        current = docker_options(env, app, phase)
        if add:
            current = sorted([*current, *options])
        else:
            gone = [shlex.split(o) for o in options]
            current = sorted(line for line in current if shlex.split(line) not in gone)
        _options(env, app, phase.upper()).write_text("".join(f"{line}\n" for line in current))
    return 0


def _docker_options_fields(env: Env, app: str) -> dict[str, str]:
    return {phase: " ".join(docker_options(env, app, phase)) for phase in PHASES}


def _storage_fields(env: Env, app: str) -> dict[str, str]:
    volumes = " ".join(f"-v {host}:{container}" for _name, host, container in mounts(env, app))
    return {"build-mounts": "", "deploy-mounts": volumes, "run-mounts": volumes}


# --- checks (bash; report in Go)
def checks_set(env: Env, args: list[str]) -> int:
    app = args[0] if args else ""
    if app != "--global":
        env.verify_app(app)
    if len(args) < 2:
        raise Fail("No key specified")
    if args[1] != "wait-to-retire":
        raise Fail("Invalid key specified, valid keys include: wait-to-retire")
    if len(args) > 2:
        env.prop_set("checks", app, args[1], args[2])
        info2 = f"Setting {args[1]} to {args[2]}"
    else:
        env.prop_delete("checks", app, args[1])
        info2 = f"Unsetting {args[1]}"
    info1_quiet(info2)
    return 0


def checks_disabled(env: Env, app: str, proc: str = "web") -> bool:
    disabled = env.prop_get("checks", app, "disabled").split(",")
    return "_all_" in disabled or proc in disabled


def _checks_toggle(env: Env, args: list[str], *, mode: str) -> int:
    """checks:disable|skip|enable APP [procs]: the `disabled` and `skipped` properties, `_all_` for the whole app.
    A process type is in at most one of the lists: disabling it takes it out of `skipped` and skipping it out of
    `disabled`; enabling takes it out of both (plugins/checks/subcommands/disable, skip, enable). Dokku's own
    check-deploy (plugins/scheduler-docker-local/check-deploy) still fires for a skipped type and exits at once;
    only a disabled one gets no check-deploy and no zero downtime."""
    app = env.verify_app(args[0] if args else None)
    procs = args[1] if len(args) > 1 and args[1] else "_all_"
    lists = {key: [p for p in env.prop_get("checks", app, key).split(",") if p] for key in ("disabled", "skipped")}
    verb = {"disabled": "Disabling", "skipped": "Skipping", "": "Enabling"}[mode]
    if procs == "_all_":
        whose = "app" if mode else "app's"  # Dokku's wording for each
        info1_quiet(f"{verb} zero downtime for {whose} ({app})")
        for key in lists:
            lists[key] = ["_all_"] if key == mode else []
    else:
        info1_quiet(f"{verb} zero downtime for app's ({app}) proctypes ({procs})")
        for proc in procs.split(","):
            for key, values in lists.items():
                if key == mode and proc not in values:
                    values.append(proc)
                elif key != mode and proc in values:
                    values.remove(proc)
        if mode:
            lists[mode] = [p for p in lists[mode] if p != "_all_"]
    for key, values in lists.items():
        if values:
            env.prop_set("checks", app, key, ",".join(values))
        else:
            env.prop_delete("checks", app, key)
    return 0


def _checks_fields(env: Env, app: str) -> dict[str, str]:
    own, default = env.prop_get("checks", app, "wait-to-retire"), env.prop_get("checks", "--global", "wait-to-retire")
    return {
        "disabled-list": env.prop_get("checks", app, "disabled") or "none",
        "skipped-list": env.prop_get("checks", app, "skipped") or "none",
        "wait-to-retire": own,
        "global-wait-to-retire": default,
        "computed-wait-to-retire": own or default or "60",
    }


# --- scheduler (Go: plugins/scheduler/subcommands.go, report.go; common.CommandPropertySet)
SCHEDULER_PROPERTIES = ("selected", "shell")  # both may be set globally


def scheduler_set(env: Env, args: list[str]) -> int:
    app, prop, value = [*args, "", "", ""][:3]
    if app != "--global":
        env.verify_app(app or None)
    env.command_property_set("scheduler", app, prop, value, SCHEDULER_PROPERTIES)
    return 0


def _scheduler_fields(env: Env, app: str) -> dict[str, str]:
    fields = {}
    for prop in SCHEDULER_PROPERTIES:
        own, default = env.prop_get("scheduler", app, prop), env.prop_get("scheduler", "--global", prop)
        fields |= {prop: own, f"global-{prop}": default, f"computed-{prop}": own or default}
    fields["computed-selected"] = fields["computed-selected"] or "docker-local"
    return fields


COMMANDS = {
    "scheduler:set": scheduler_set,
    "scheduler:report": lambda env, args: report(env, "scheduler", _scheduler_fields, args),
    "ports:set": ports_set,
    "ports:add": ports_add,
    "ports:clear": ports_clear,
    "ports:remove": ports_remove,
    "ports:list": ports_list,
    "ports:report": lambda env, args: report(env, "ports", _ports_fields, args),
    "domains:add": domains_add,
    "domains:set": domains_set,
    "domains:remove": domains_remove,
    "domains:clear": domains_clear,
    "domains:report": lambda env, args: report(env, "domains", _domains_fields, args),
    "certs:add": certs_add,
    "certs:update": certs_add,
    "certs:remove": certs_remove,
    "certs:report": lambda env, args: report(env, "ssl", _certs_fields, args),
    "storage:create": storage_create,
    "storage:set": storage_set,
    "storage:info": storage_info,
    "storage:list-entries": storage_list_entries,
    "storage:mount": storage_mount,
    "storage:unmount": storage_unmount,
    "storage:list": storage_list,
    "storage:report": lambda env, args: report(env, "storage", _storage_fields, args),
    "checks:set": checks_set,
    "checks:disable": lambda env, args: _checks_toggle(env, args, mode="disabled"),
    "checks:skip": lambda env, args: _checks_toggle(env, args, mode="skipped"),
    "checks:enable": lambda env, args: _checks_toggle(env, args, mode=""),
    "checks:report": lambda env, args: report(env, "checks", _checks_fields, args),
    "docker-options:add": lambda env, args: _docker_options_change(env, args, add=True),
    "docker-options:remove": lambda env, args: _docker_options_change(env, args, add=False),
    "docker-options:report": lambda env, args: report(
        env, "docker-options", _docker_options_fields, args, single_flag_error=True
    ),
}
