"""plugn's trigger loop, Dokku's command routing to plugins, and plugin:* (root only)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from double.env import NOT_IMPLEMENTED, Env, Fail, info1

NOT_ROOT_OK = ("plugin:help", "plugin:list", "plugin:installed")


def enabled(env: Env) -> list[Path]:
    """Enabled plugins in glob (alphabetical) order, through their enabled/ symlinks as plugn runs them."""
    folder = env.plugin_path / "enabled"
    return sorted(folder.iterdir()) if folder.is_dir() else []


def plugin_toml(plugin: Path) -> dict | None:
    """The plugin's plugin.toml as plugn reads it; None when it cannot be read."""
    try:
        text = (plugin / "plugin.toml").read_text()
    except OSError:
        return None
    try:
        import tomllib  # here, not at the top: a tenth of every dokku call's start otherwise
    except ModuleNotFoundError:  # Python before 3.11 (a Debian 11 host, where the plugin's install refuses)
        return _tables(text)
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError:
        return None


def _tables(text: str) -> dict:
    """What plugin.toml holds (tables of `key = "string"`) without tomllib."""
    data: dict = {}
    table = data
    for raw in text.splitlines():
        line = raw.split("#", 1)[0].strip()
        if line.startswith("[") and line.endswith("]"):
            table = data
            for part in line[1:-1].split("."):
                table = table.setdefault(part.strip(), {})
        elif "=" in line:
            key, _, value = line.partition("=")
            table[key.strip()] = value.strip().strip('"')
    return data


def _toml_ok(plugin: Path) -> bool:
    data = plugin_toml(plugin) or {}
    return isinstance(data.get("plugin", {}).get("config"), dict)


def trigger(env: Env, hook: str, *args: str) -> int:
    """plugn trigger: run each enabled plugin's executable hook; the first failure stops the loop."""
    for plugin in enabled(env):
        script = plugin / hook
        if not script.exists():
            continue
        if not os.access(script, os.X_OK):
            print(f"Trigger '{hook}' is not executable, skipping plugin ({plugin.name})", file=sys.stderr)
            continue
        if not _toml_ok(plugin):  # plugn's config-export panics without an empty [plugin.config]
            print(f"panic: interface conversion: plugin.toml of {plugin.name} has no [plugin.config]", file=sys.stderr)
        started = time.monotonic()
        hook_process = subprocess.Popen([str(script), *args])  # the plugin's own hook, argv list
        _pid, status, usage = os.wait4(hook_process.pid, 0)
        hook_process.returncode = code = os.waitstatus_to_exitcode(status)
        trace(trigger=hook, plugin=plugin.name, seconds=time.monotonic() - started, maxrss_kb=usage.ru_maxrss)
        if code != 0:
            return code
    return 0


def trace(**event: object) -> None:
    """For bench/: one JSON line per trigger call and per command when DOKKU_DOUBLE_TRACE names a file (the
    command word only, never its arguments)."""
    path = os.environ.get("DOKKU_DOUBLE_TRACE")
    if path:
        with open(path, "a") as f:  # one short append per event
            f.write(json.dumps({"at": time.time(), **event}) + "\n")


def trigger_honoured(env: Env, hook: str, *args: str) -> None:
    """A trigger whose failure Dokku checks: a non-zero exit aborts the caller."""
    code = trigger(env, hook, *args)
    if code != 0:
        raise Fail("", code)


def cron_write(env: Env) -> None:
    """The cron plugin's crontab for the dokku user, from every plugin's `cron-entries` (SCHEDULE;COMMAND;LOGFILE).

    Dokku installs it with `crontab`; the double writes it to $DOKKU_LIB_ROOT/data/cron/crontab instead.
    """
    lines = ["SHELL=/bin/bash", "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"]
    for plugin in enabled(env):
        script = plugin / "cron-entries"
        if not os.access(script, os.X_OK):
            continue
        started = time.monotonic()
        done = subprocess.run([str(script), "docker-local"], capture_output=True, text=True, check=False)
        trace(trigger="cron-entries", plugin=plugin.name, seconds=time.monotonic() - started, maxrss_kb=0)
        for entry in done.stdout.splitlines():
            schedule, _, rest = entry.partition(";")
            command, _, log = rest.partition(";")
            if schedule and command:
                lines.append(f"{schedule} {command}" + (f" &>> {log}" if log else ""))
    folder = env.lib_root / "data" / "cron"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "crontab").write_text("\n".join(lines) + "\n")


def has_trigger(env: Env, hook: str) -> bool:
    return any(os.access(p / hook, os.X_OK) for p in enabled(env))


def route(env: Env, args: list[str]) -> int:
    """execute_dokku_cmd for commands no core plugin of the double owns."""
    word = args[0]
    ns, _, sub = word.partition(":")
    candidates = [env.plugin_path / "enabled" / word / "subcommands" / "default"] if not sub else []
    candidates += [env.plugin_path / "enabled" / word / "subcommands" / word]
    if sub:
        candidates.append(env.plugin_path / "enabled" / ns / "subcommands" / sub)
    for script in candidates:
        if script.is_file() and os.access(script, os.X_OK):
            return subprocess.call([str(script), *args])  # plugin subcommand
    claimed = False
    for plugin in enabled(env):
        commands = plugin / "commands"
        if not os.access(commands, os.X_OK):
            continue
        code = subprocess.call([str(commands), *args])  # plugin catch-all
        if code == NOT_IMPLEMENTED:
            continue
        claimed = True
        if code != 0:
            return code
    if not claimed:
        raise Fail(
            f"`{' '.join(args)}` is not a dokku command.\n !     See `dokku help` for a list of available commands."
        )
    return 0


def community_help(env: Env) -> list[str]:
    lines: list[str] = []
    for plugin in enabled(env):
        if os.access(plugin / "commands", os.X_OK):
            out = subprocess.run([str(plugin / "commands"), "help"], capture_output=True, text=True, check=False)
            lines.extend(line for line in out.stdout.splitlines() if line.strip())
    return lines


def _require_root(word: str) -> None:
    if word not in NOT_ROOT_OK and os.geteuid() != 0:
        raise Fail("This command must be run as root")


def plugin_command(env: Env, args: list[str]) -> int:
    word, rest = args[0], args[1:]
    _require_root(word)
    available, enabled_dir = env.plugin_path / "available", env.plugin_path / "enabled"
    if word == "plugin:install":
        if not rest:
            return trigger(env, "install")
        return _install(env, rest)
    if word == "plugin:enable":
        name = rest[0]
        if not (available / name).is_dir():
            raise Fail(f"Plugin {name} is not installed")
        enabled_dir.mkdir(parents=True, exist_ok=True)
        link = enabled_dir / name
        if not link.is_symlink():
            link.symlink_to(available / name)
        info1(f"Plugin {name} enabled")
        return 0
    if word == "plugin:installed":
        return 0 if (available / rest[0]).is_dir() else 1
    if word == "plugin:list":
        for plugin in enabled(env):
            meta = (plugin_toml(plugin) or {}).get("plugin", {})
            print(f"  {plugin.name:<20} {meta.get('version', ''):<5} {'enabled':<10} {meta.get('description', '')}")
        return 0
    if word == "plugin:install-dependencies":
        return trigger(env, "dependencies")
    if word == "plugin:update":
        return trigger(env, "update")
    if word == "plugin:uninstall":
        name = rest[0]
        code = trigger(env, "uninstall", name)
        (enabled_dir / name).unlink(missing_ok=True)
        shutil.rmtree(available / name, ignore_errors=True)
        return code
    if word == "plugin:trigger":
        return trigger(env, rest[0], *rest[1:])
    raise Fail(f"`{word}` is not a dokku command.")


def _install(env: Env, rest: list[str]) -> int:
    url, name = rest[0], None
    if "--name" in rest:
        name = rest[rest.index("--name") + 1]
    if not url.startswith(("https:", "git", "ssh:", "file:")) and not url.endswith((".tar.gz", ".tgz")):
        raise Fail("First argument must be --core or url to plugin")
    name = name or Path(url.rstrip("/")).name.removesuffix(".git").removeprefix("dokku-")
    target = env.plugin_path / "available" / name
    info1(f"Cloning plugin repo {url} to {target}")
    if target.exists():
        print(f"Plugin '{name}' is already installed.", file=sys.stderr)
    else:
        target.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run(["git", "clone", "-q", url, str(target)], check=True)
    if (env.plugin_path / "enabled" / name).exists():
        raise Fail("Plugin already enabled")
    plugin_command(env, ["plugin:enable", name])
    return trigger(env, "install")
