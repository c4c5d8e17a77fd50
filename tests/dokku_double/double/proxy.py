"""ports:*, domains:*, certs:*, storage:*, checks:* as Dokku answers them."""

from __future__ import annotations

import io
import json
import re
import shutil
import sys
import tarfile
from pathlib import Path

from double import nginx
from double.env import Env, Fail, info1_quiet, verbose
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
    _write_vhosts(env, app, [])
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


# --- storage (Go): named entries (0.38) and -v mounts in DOCKER_OPTIONS_DEPLOY/RUN
def _entry(env: Env, name: str) -> dict[str, object]:
    return env.prop_json("storage", "--global", f"entry-{name}")


def storage_create(env: Env, args: list[str]) -> int:
    names = [a for a in args if not a.startswith("--")]
    if not names or not STORAGE_NAME.match(names[0]):
        raise Fail("Storage entry name must be a DNS-1123 label of at most 45 characters")
    name = names[0]
    if _entry(env, name):
        raise Fail(f"Storage entry {name} already exists")
    path = names[1] if len(names) > 1 else str(env.lib_root / "data" / "storage" / name)
    Path(path).mkdir(parents=True, exist_ok=True)
    env.prop_set(
        "storage", "--global", f"entry-{name}", json.dumps({"name": name, "path": path, "scheduler": "docker-local"})
    )
    info1_quiet(f"Created storage entry {name}")
    return 0


def storage_info(env: Env, args: list[str]) -> int:
    entry = _entry(env, args[0]) if args else {}
    if not entry:
        raise Fail(f"Storage entry {args[0] if args else ''} does not exist")
    if "--format" in args and args[args.index("--format") + 1] == "json":
        print(json.dumps(entry))
    else:
        for key, value in entry.items():
            verbose(f"{key}: {value}")
    return 0


def storage_list_entries(env: Env, args: list[str]) -> int:
    folder = env.lib_root / "config" / "storage" / "--global"
    entries = [json.loads(p.read_text()) for p in sorted(folder.glob("entry-*"))] if folder.is_dir() else []
    if "--format" in args and args[args.index("--format") + 1] == "json":
        print(json.dumps(entries))
    else:
        for entry in entries:
            verbose(f"{entry['name']} {entry['path']}")
    return 0


def _options(env: Env, app: str, phase: str) -> Path:
    return env.app_dir(app) / f"DOCKER_OPTIONS_{phase}"


def _mounts(env: Env, app: str) -> list[str]:
    path = _options(env, app, "DEPLOY")
    lines = path.read_text().splitlines() if path.exists() else []
    return [line[3:] for line in lines if line.startswith("-v ")]


def _write_mounts(env: Env, app: str, mounts: list[str]) -> None:
    for phase in ("DEPLOY", "RUN"):
        path = _options(env, app, phase)
        kept = [line for line in (path.read_text().splitlines() if path.exists() else []) if not line.startswith("-v ")]
        path.write_text("".join(f"{line}\n" for line in kept + [f"-v {m}" for m in mounts]))


def storage_mount(env: Env, args: list[str]) -> int:
    app = env.verify_app(args[0] if args else None)
    mounts = _mounts(env, app)
    if "--container-dir" in args:  # named form: idempotent, updates in place
        name, container = args[1], args[args.index("--container-dir") + 1]
        entry = _entry(env, name)
        if not entry:
            raise Fail(f"Storage entry {name} does not exist")
        mounts = [m for m in mounts if m.split(":")[1] != container] + [f"{entry['path']}:{container}"]
    else:  # legacy host:container form
        spec = args[1] if len(args) > 1 else ""
        if ":" not in spec:
            raise Fail("Storage path must be two valid paths divided by colon.")
        if spec in mounts:
            raise Fail("Mount path already exists.")
        if spec.startswith("/") and not Path(spec.split(":")[0]).exists():
            raise Fail(f"Host path {spec.split(':')[0]} does not exist")
        mounts.append(spec)
    _write_mounts(env, app, mounts)
    return 0


def storage_unmount(env: Env, args: list[str]) -> int:
    app = env.verify_app(args[0] if args else None)
    mounts = _mounts(env, app)
    if "--container-dir" in args:
        entry, container = _entry(env, args[1]), args[args.index("--container-dir") + 1]
        spec = f"{entry.get('path')}:{container}"
    else:
        spec = args[1] if len(args) > 1 else ""
    if spec not in mounts:
        raise Fail("Mount path does not exist.")
    mounts.remove(spec)
    _write_mounts(env, app, mounts)
    return 0


def storage_list(env: Env, args: list[str]) -> int:
    app = env.verify_app(args[0] if args else None)
    mounts = _mounts(env, app)
    if "--format" in args and args[args.index("--format") + 1] == "json":
        rows = [{"host_path": m.split(":")[0], "container_path": m.split(":")[1], "volume_options": ""} for m in mounts]
        print(json.dumps(rows))
        return 0
    info1_quiet(f"{app} volume bind-mounts:")
    for mount in mounts:
        verbose(mount)
    return 0


# --- docker-options (Go): one option per line in DOCKER_OPTIONS_PHASE (the legacy layout, as for mounts)
PHASES = ("build", "deploy", "run")


def docker_options(env: Env, app: str, phase: str) -> list[str]:
    path = _options(env, app, phase.upper())
    return [line.strip() for line in (path.read_text().splitlines() if path.exists() else []) if line.strip()]


def _docker_options_change(env: Env, args: list[str], *, add: bool) -> int:
    app = env.verify_app(args[0] if args else None)
    phases = args[1].split(",") if len(args) > 1 else []
    if not phases or any(p not in PHASES for p in phases):
        raise Fail(f"Phase must be one of [{' '.join(PHASES)}]")
    option = " ".join(args[2:]).strip()
    if not option:
        raise Fail(f"Please specify docker options to {'add to' if add else 'remove from'} the phase")
    for phase in phases:
        current = docker_options(env, app, phase)
        if add and option not in current:
            current.append(option)
        if not add:
            current = [line for line in current if line != option]
        _options(env, app, phase.upper()).write_text("".join(f"{line}\n" for line in current))
    return 0


def _docker_options_fields(env: Env, app: str) -> dict[str, str]:
    return {phase: " ".join(docker_options(env, app, phase)) for phase in PHASES}


def _storage_fields(env: Env, app: str) -> dict[str, str]:
    mounts = " ".join(f"-v {m}" for m in _mounts(env, app))
    return {"build-mounts": "", "deploy-mounts": mounts, "run-mounts": mounts}


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


def _checks_toggle(env: Env, args: list[str], *, disable: bool) -> int:
    """checks:disable|enable APP [procs]: the `disabled` property, `_all_` for the whole app."""
    app = env.verify_app(args[0] if args else None)
    procs = [p for p in (args[1] if len(args) > 1 else "_all_").split(",") if p]
    verb = "Disabling" if disable else "Enabling"
    if procs == ["_all_"]:
        info1_quiet(f"{verb} zero downtime for app ({app})")
        wanted = ["_all_"] if disable else []
    else:
        info1_quiet(f"{verb} zero downtime for app's ({app}) proctypes ({','.join(procs)})")
        current = [p for p in env.prop_get("checks", app, "disabled").split(",") if p and p != "_all_"]
        wanted = sorted({*current, *procs}) if disable else [p for p in current if p not in procs]
    if wanted:
        env.prop_set("checks", app, "disabled", ",".join(wanted))
    else:
        env.prop_delete("checks", app, "disabled")
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


COMMANDS = {
    "ports:set": ports_set,
    "ports:add": ports_add,
    "ports:clear": ports_clear,
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
    "storage:info": storage_info,
    "storage:list-entries": storage_list_entries,
    "storage:mount": storage_mount,
    "storage:unmount": storage_unmount,
    "storage:list": storage_list,
    "storage:report": lambda env, args: report(env, "storage", _storage_fields, args),
    "checks:set": checks_set,
    "checks:disable": lambda env, args: _checks_toggle(env, args, disable=True),
    "checks:enable": lambda env, args: _checks_toggle(env, args, disable=False),
    "checks:report": lambda env, args: report(env, "checks", _checks_fields, args),
    "docker-options:add": lambda env, args: _docker_options_change(env, args, add=True),
    "docker-options:remove": lambda env, args: _docker_options_change(env, args, add=False),
    "docker-options:report": lambda env, args: report(env, "docker-options", _docker_options_fields, args),
}
