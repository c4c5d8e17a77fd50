"""config:* (Go plugin in Dokku): ENV files at $DOKKU_LIB_ROOT/config/(APP|--global)/ENV."""

from __future__ import annotations

import base64
import binascii
import json
import re
import shlex
import sys
from pathlib import Path

from double import deploy
from double.env import Env, Fail, info1, info1_quiet, verbose_quiet, warn
from double.plugins import trigger

KEY = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")


def env_path(env: Env, app: str):
    return env.lib_root / "config" / app / "ENV"


def read(env: Env, app: str) -> dict[str, str]:
    path = env_path(env, app)
    if not path.exists():
        return {}
    out = {}
    for line in path.read_text().splitlines():
        key, _, raw = line.partition("=")
        out[key] = json.loads(raw)
    return out


def write(env: Env, app: str, values: dict[str, str]) -> None:
    path = env_path(env, app)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(f"{k}={json.dumps(v)}\n" for k, v in sorted(values.items())))
    path.chmod(0o600)


def _split_flags(args: list[str], known: tuple[str, ...]) -> tuple[set[str], list[str], str | None]:
    """pflag style: flags may appear anywhere; returns (flags, positionals, --format value)."""
    flags, rest, fmt = set(), [], None
    it = iter(args)
    for arg in it:
        if arg == "--format":
            fmt = next(it, "")
        elif arg.startswith("--format="):
            fmt = arg.split("=", 1)[1]
        elif arg in known:
            flags.add(arg)
        elif arg.startswith("--") and arg != "--global":
            raise Fail(f"unknown flag: {arg}")
        else:
            rest.append(arg)
    return flags, rest, fmt


def _target(env: Env, rest: list[str], flags_global: bool) -> tuple[str, list[str]]:
    if flags_global or (rest and rest[0] == "--global"):
        return "--global", rest[1:] if rest and rest[0] == "--global" else rest
    if not rest:
        raise Fail("Please specify an app to run the command on")
    return env.verify_app(rest[0]), rest[1:]


def cmd_set(env: Env, args: list[str]) -> int:
    flags, rest, _ = _split_flags(args, ("--no-restart", "--encoded", "--global"))
    app, pairs = _target(env, rest, "--global" in flags)
    if not pairs:
        raise Fail("At least one env pair must be given")
    updates = {}
    for pair in pairs:
        if "=" not in pair:
            raise Fail(f"Invalid env pair: {pair}")
        key, value = pair.split("=", 1)
        if not KEY.match(key):
            raise Fail(f"Invalid key name: '{key}'")
        if "--encoded" in flags:
            try:
                value = base64.b64decode(value, validate=True).decode()
            except (binascii.Error, UnicodeDecodeError) as exc:
                raise Fail(f"{exc} for key '{key}'") from None
        updates[key] = value
    set_many(env, app, updates, flags)
    return 0


def set_many(env: Env, app: str, updates: dict[str, str], flags: set[str], *, replace: bool = False) -> None:
    """config.go SetMany: write (even when nothing changed), list the values unless quiet, restart unless told not."""
    values = {} if replace else read(env, app)
    values.update(updates)
    write(env, app, values)
    info1_quiet("Setting config vars")
    width = max(len(k) for k in updates) + 1
    for key, value in updates.items():
        verbose_quiet(f"{(key + ':').ljust(width)}  {value}")
    trigger(env, "post-config-update", app, "set", *updates)
    _maybe_restart(env, app, flags)


def cmd_import(env: Env, args: list[str]) -> int:
    """config:import (APP|--global) FILE|- [--format envfile|json] [--replace] [--no-restart], Dokku 0.37+
    (plugins/config/functions.go SubImport): every value is echoed unless --quiet, so callers pass --quiet."""
    flags, rest, fmt = _split_flags(args, ("--no-restart", "--replace", "--global"))
    app, names = _target(env, rest, "--global" in flags)
    source = names[0] if names else ""
    if source == "-":
        info1_quiet("Reading config vars from stdin")
    try:
        text = sys.stdin.read() if source == "-" else Path(source).read_text()
    except OSError as exc:
        raise Fail(f"Unable to read {source}: {exc.strerror}") from None
    fmt = fmt or "envfile"
    if fmt == "json":
        try:
            loaded = json.loads(text)
        except ValueError as exc:
            raise Fail(f"Unable to parse json: {exc}") from None
        if not isinstance(loaded, dict):
            raise Fail("Unable to parse json: expected an object of KEY: VALUE")
        updates = {str(k): str(v) for k, v in loaded.items()}
    elif fmt == "envfile":
        pairs = (line.partition("=") for line in text.splitlines() if line.strip() and not line.startswith("#"))
        updates = {k.removeprefix("export ").strip(): " ".join(shlex.split(v)) for k, _, v in pairs}
    else:
        raise Fail(f"Unknown format: {fmt}")
    if not updates:
        raise Fail("No config vars to set")
    for key, value in updates.items():
        if not KEY.match(key):
            raise Fail(f"Invalid key name: '{key}'")
        info1_quiet(f"Setting config var {key}={value}")
    set_many(env, app, updates, flags, replace="--replace" in flags)
    return 0


def cmd_unset(env: Env, args: list[str]) -> int:
    flags, rest, _ = _split_flags(args, ("--no-restart", "--global"))
    app, keys = _target(env, rest, "--global" in flags)
    if not keys:
        raise Fail("At least one key must be given")
    values = read(env, app)
    changed = False
    for key in keys:
        if key in values:
            info1_quiet(f"Unsetting {key}")
            del values[key]
            changed = True
        else:
            info1_quiet(f"Skipping {key}, it is not set in the environment")
    if changed:
        write(env, app, values)
        trigger(env, "post-config-update", app, "unset", *keys)
    _maybe_restart(env, app, flags)  # Dokku restarts even when nothing changed
    return 0


def _maybe_restart(env: Env, app: str, flags: set[str]) -> None:
    if app == "--global" or "--no-restart" in flags or not deploy.is_deployed(env, app):
        return
    if env.prop_get("ps", app, "restore", "true") == "false":
        return
    info1(f"Restarting app {app}")
    try:
        deploy.release_and_deploy(env, app)
    except Fail as failure:  # config.go triggerRestart: a failed release is only a warning, the exit status stays 0
        warn(f"Failure while restarting app: {failure.message.splitlines()[0] if failure.message else failure.code}")


def cmd_get(env: Env, args: list[str]) -> int:
    flags, rest, _ = _split_flags(args, ("--global", "--quoted"))
    app, keys = _target(env, rest, "--global" in flags)
    if len(keys) != 1:
        raise Fail(f"Unexpected argument(s): {' '.join(keys[1:])}" if keys else "Expected: key")
    values = read(env, app)
    if keys[0] not in values:
        return 1
    value = values[keys[0]]
    print(shlex.quote(value) if "--quoted" in flags else value)
    return 0


def cmd_export(env: Env, args: list[str]) -> int:
    flags, rest, fmt = _split_flags(args, ("--global", "--merged"))
    app, extra = _target(env, rest, "--global" in flags)
    if extra:
        raise Fail(f"Unexpected argument(s): {' '.join(extra)}")
    values = read(env, app)
    if "--merged" in flags and app != "--global":
        values = {**read(env, "--global"), **values}
    fmt = fmt or "exports"
    if fmt == "json":
        print(json.dumps(values, separators=(",", ":")))
    elif fmt == "exports":
        for key, value in sorted(values.items()):
            escaped = value.replace("'", "'\\''")
            print(f"export {key}='{escaped}'")
    elif fmt == "shell":
        print(" ".join(f"{k}={shlex.quote(v)}" for k, v in sorted(values.items())))
    elif fmt == "envfile":
        for key, value in sorted(values.items()):
            print(f"{key}={value}")
    else:
        raise Fail(f"Unknown export format: {fmt}")
    return 0


def cmd_keys(env: Env, args: list[str]) -> int:
    flags, rest, _ = _split_flags(args, ("--global", "--merged"))
    app, _extra = _target(env, rest, "--global" in flags)
    for key in sorted(read(env, app)):
        print(key)
    return 0


def cmd_show(env: Env, args: list[str]) -> int:
    flags, rest, _ = _split_flags(args, ("--global", "--merged"))
    app, _extra = _target(env, rest, "--global" in flags)
    values = read(env, app)
    if not values:
        raise Fail(f"no config vars for {app}")
    info2_header = f"{app} env vars" if app != "--global" else "global env vars"
    print(f"=====> {info2_header}")
    width = max(len(k) for k in values) + 1
    for key, value in sorted(values.items()):
        print(f"{(key + ':').ljust(width)}  {value}")
    return 0


COMMANDS = {
    "config:set": cmd_set,
    "config:import": cmd_import,
    "config:unset": cmd_unset,
    "config:get": cmd_get,
    "config:export": cmd_export,
    "config:keys": cmd_keys,
    "config:show": cmd_show,
    "config": cmd_show,
}
