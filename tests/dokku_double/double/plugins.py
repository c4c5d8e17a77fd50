"""plugn's trigger loop, Dokku's command routing to plugins, and plugin:* (root only)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from double.env import NOT_IMPLEMENTED, Env, Fail, info1
from double.user import switch_to_dokku

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


def trigger(env: Env, hook: str, *args: str, collected: list[str] | None = None) -> int:
    """plugn trigger: run each enabled plugin's executable hook; the first failure stops the loop. With collected,
    the hooks' stdout is gathered there (the failing hook's too, up to its failure) instead of shown, as Dokku's Go
    plugins read a trigger's output."""
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
        with tempfile.TemporaryFile() as out:
            hook_process = subprocess.Popen(  # the plugin's own hook, argv list
                [str(script), *args], stdout=None if collected is None else out
            )
            _pid, status, usage = os.wait4(hook_process.pid, 0)
            hook_process.returncode = code = os.waitstatus_to_exitcode(status)
            if collected is not None:
                out.seek(0)
                collected.append(out.read().decode(errors="replace"))
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
    """The cron plugin's crontab for the dokku user, from the `cron-entries` trigger (SCHEDULE;COMMAND[;LOGFILE]).

    As Dokku's (plugins/cron/crontab.go, injectedCronTasks, writeCronTab): one plugn trigger over every plugin,
    whose failure is ignored but stops plugn's loop, so the lines of the plugins after a failing one are lost and
    the crontab is written from what came before; the whole output is trimmed and split on newlines, a blank line
    inside it drops every entry, and a line without two or three `;` fields fails the rewrite (the old crontab
    stays) and the trigger that asked for it. No entry at all removes the crontab. Dokku installs it with
    `crontab -u dokku`; the double writes it to $DOKKU_LIB_ROOT/data/cron/crontab instead.
    """
    collected: list[str] = []
    trigger(env, "cron-entries", "docker-local", collected=collected)
    lines = ["SHELL=/bin/bash", "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"]
    entries = []
    for line in "".join(collected).strip().split("\n"):
        if not line.strip():
            entries = []
            break
        parts = line.split(";")
        if len(parts) not in (2, 3):
            raise Fail(f"Invalid injected cron task: {line}")
        entries.append(f"{parts[0]} {parts[1]}" + (f" &>> {parts[2]}" if len(parts) == 3 and parts[2] else ""))
    crontab = env.lib_root / "data" / "cron" / "crontab"
    if not entries:
        crontab.unlink(missing_ok=True)
        return
    crontab.parent.mkdir(parents=True, exist_ok=True)
    crontab.write_text("\n".join(lines + entries) + "\n")
    info1("Updated schedule file")


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
        # plugins/plugin/functions uninstall_plugin: the `uninstall` trigger (every plugin's, with the name) under
        # `set -e`, so a failing hook leaves the plugin installed; then plugn uninstall removes it
        name = rest[0] if rest else ""
        if not name:
            raise Fail("Please specify a plugin to uninstall")
        if not (available / name).exists():
            raise Fail(f"Plugin ({name}) is not currently installed")
        code = trigger(env, "uninstall", name)
        if code != 0:
            return code
        (enabled_dir / name).unlink(missing_ok=True)
        if (available / name).is_symlink():
            (available / name).unlink()
        else:
            shutil.rmtree(available / name, ignore_errors=True)
        info1(f"Plugin {name} uninstalled")
        return 0
    if word == "plugin:trigger":
        switch_to_dokku()  # plugins/plugin/subcommands/trigger: `sudo -u dokku -E -H plugn trigger`
        code = trigger(env, rest[0], *rest[1:])
        if code == 0 and rest[0] == "scheduler-cron-write" and (len(rest) < 2 or rest[1] in ("", "docker-local")):
            cron_write(env)  # the cron plugin's implementation (plugins/cron/triggers.go TriggerSchedulerCronWrite)
        return code
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
