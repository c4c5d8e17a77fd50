"""The double's entry: global flags, Dokku's environment, the switch to the dokku user, and dispatch."""

from __future__ import annotations

import os
import pwd
import sys
from pathlib import Path

from double import apps, config, deploy, git, nginx, plugins, proxy, services
from double.env import VERSION, Env, Fail, warn

CORE = {
    **apps.COMMANDS,
    **config.COMMANDS,
    **proxy.COMMANDS,
    **deploy.COMMANDS,
    **git.COMMANDS,
    **nginx.COMMANDS,
    **services.COMMANDS,
}


def _global_flags(args: list[str]) -> list[str]:
    """Strip --quiet/--trace/--force/--app before the command, as the entrypoint does."""
    while args and args[0].startswith("--"):
        flag = args.pop(0)
        if flag == "--quiet":
            os.environ["DOKKU_QUIET_OUTPUT"] = "1"
        elif flag == "--trace":
            os.environ["DOKKU_TRACE"] = "1"
        elif flag == "--force":
            os.environ["DOKKU_APPS_FORCE_DELETE"] = "1"
        elif flag == "--app":
            os.environ["DOKKU_APP_NAME"] = args.pop(0)
        elif flag in ("--version", "-v"):
            return ["version"]
        else:
            args.insert(0, flag)
            break
    return args


def _inherit_global_flags(argv: list[str]) -> None:
    """parse_args (plugins/common/functions): every `--flag` of the whole command line, but only when
    DOKKU_GLOBAL_FLAGS is empty, so a `dokku` call made inside another keeps the outer command's flags."""
    if os.environ.get("DOKKU_GLOBAL_FLAGS"):
        return
    flags, it = [], iter(argv)
    for arg in it:
        if arg == "--app":
            flags.append(f"--app={next(it, '')}")
        elif arg.startswith("--"):
            flags.append(arg)
    os.environ["DOKKU_GLOBAL_FLAGS"] = " ".join(flags)


def _export_environment() -> Env:
    root = Path(os.environ.get("DOKKU_ROOT") or "/home/dokku")
    lib_root = Path(os.environ.get("DOKKU_LIB_PATH") or "/var/lib/dokku")  # an inherited DOKKU_LIB_ROOT is overwritten
    plugin_path = Path(os.environ.get("PLUGIN_PATH") or lib_root / "plugins")
    core = lib_root / "core-plugins"
    os.environ.update(
        {
            "DOKKU_ROOT": str(root),
            "DOKKU_HOST_ROOT": str(root),
            "DOKKU_LIB_ROOT": str(lib_root),
            "PLUGIN_PATH": str(plugin_path),
            "PLUGIN_AVAILABLE_PATH": str(plugin_path / "available"),
            "PLUGIN_ENABLED_PATH": str(plugin_path / "enabled"),
            "PLUGIN_CORE_PATH": str(core),
            "PLUGIN_CORE_AVAILABLE_PATH": str(core / "available"),
            "PLUGIN_CORE_ENABLED_PATH": str(core / "enabled"),
            "DOKKU_SYSTEM_USER": "dokku",
            "DOKKU_SYSTEM_GROUP": "dokku",
            "DOKKU_API_VERSION": "1",
            "DOKKU_NOT_IMPLEMENTED_EXIT": "10",
            "DOKKU_VALID_EXIT": "0",
            "DOKKU_DISTRO": "debian",
            "DOKKU_LOGS_DIR": str(lib_root / "logs"),
            "DOKKU_EVENTS_LOGFILE": str(lib_root / "logs" / "events.log"),
            "DOCKER_BIN": "docker",
            "DOKKU_IMAGE": "gliderlabs/herokuish",
        }
    )
    os.environ.setdefault("DOKKU_PID", str(os.getpid()))
    os.environ.setdefault("SSH_USER", pwd.getpwuid(os.getuid()).pw_name)
    os.environ.setdefault("SSH_NAME", "default")
    return Env(root, lib_root)


def _help(env: Env) -> int:
    print("Usage: dokku [--quiet|--trace|--force] COMMAND <app> [command-specific-options]\n")
    print(
        'Primary help options, type "dokku COMMAND:help" for more details, or dokku help --all to see all commands.\n'
    )
    print("Commands:\n")
    for name in sorted({c.split(":")[0] for c in CORE}):
        print(f"    {name}")
    community = plugins.community_help(env)
    if community:
        print("\nCommunity plugin commands:\n")
        for line in _columns(sorted(community)):
            print(line)
    return 0


def _columns(lines: list[str]) -> list[str]:
    """`sort | column -c2 -t -s,` (the `dokku` script's help, lines 255-276): every comma starts a column, so a
    description with a comma of its own is cut into columns of its own, each padded to its widest cell."""
    rows = [[cell.strip() if i else cell.rstrip() for i, cell in enumerate(line.split(","))] for line in lines]
    widths = [max(len(row[i]) for row in rows if i < len(row)) for i in range(max(len(row) for row in rows))]
    return ["  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip() for row in rows]


def _report(env: Env, args: list[str]) -> int:
    """plugins/00_dokku-standard/subcommands/report: the system block, then `report` for APP, or every app with
    --all; without an app, nothing more."""
    if args and args[0] == "--format":
        raise Fail("--format flag not supported on global report")
    print(f"-----> uname: {os.uname().sysname} {os.uname().release}")
    print(f"-----> dokku version: dokku version {VERSION} (test double)")
    targets = env.apps() if args[:1] == ["--all"] else [env.verify_app(args[0])] if args else []
    for app in targets:
        code = plugins.trigger(env, "report", app)
        if code:
            return code
    return 0


def dispatch(env: Env, args: list[str]) -> int:
    if not args or args[0] in ("help", "--help", "-h"):
        return _help(env)
    word = args[0]
    if word in ("version", "--version", "-v"):
        print(f"dokku version {VERSION}")
        return 0
    if word == "git-hook":
        return deploy.git_hook(env, args[1:], sys.stdin)
    if word == "report":
        return _report(env, args[1:])
    if word.startswith("plugin:"):
        return plugins.plugin_command(env, args)
    if word in CORE:
        return CORE[word](env, args[1:])
    return plugins.route(env, args)


def main(argv: list[str]) -> int:
    _inherit_global_flags(argv)
    args = _global_flags(list(argv))
    env = _export_environment()
    plugins.trace(command=args[0] if args else "help")
    try:
        return dispatch(env, args)
    except Fail as exc:
        if exc.message:
            for line in exc.message.split("\n"):
                warn(line.removeprefix(" !     "))
        return exc.code
