"""Routing tables for triggers and commands, Dokku-style help, and the single error sink."""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

from ansible_dokku_deploy import PLUGIN_NAME, output
from ansible_dokku_deploy.dokku import Dokku
from ansible_dokku_deploy.errors import DeployError
from ansible_dokku_deploy.outbox import OUTBOX

DESCRIPTION = "Provision apps from their packaging files (env.yml vault/ nginx.conf.d/ ansible/) with Ansible"
COMMANDS = (  # verb: the module ansible_dokku_deploy.commands.<verb with _>, imported only when it runs
    "backup",
    "backups",
    "drill",
    "history",
    "logs",
    "renew",
    "report",
    "restore",
    "rollback",
    "run",
    "set",
    "validate",
    "vault-password",
)


def command(verb: str) -> ModuleType:
    return importlib.import_module(f"ansible_dokku_deploy.commands.{verb.replace('-', '_')}")


APP_FIRST = (
    "report",
    "run",
    "history",
    "logs",
    "backup",
    "backups",
    "drill",
    "rollback",
)  # commands that take Dokku's global --app


def help_lines() -> list[str]:
    modules = {verb: command(verb) for verb in COMMANDS}
    return [f"    {PLUGIN_NAME}:{verb} {mod.USAGE}, {mod.DESCRIPTION}" for verb, mod in sorted(modules.items())]


def _columns(lines: list[str]) -> list[str]:
    """Like Dokku's `column -c2 -t -s,`: the command column padded, the description after it."""
    pairs = [line.split(", ", 1) for line in lines]
    width = max(len(left) for left, _ in pairs)
    return [f"{left.ljust(width)}  {right}" for left, right in pairs]


def print_help(args: list[str]) -> None:
    if args and args[0] == "help":
        # `dokku help` wants one line; `dokku help --all` every command (Dokku checks the parent's command line).
        try:
            parent = Path(f"/proc/{os.getppid()}/cmdline").read_bytes().split(b"\0")
        except OSError:
            parent = []
        lines = help_lines() if b"--all" in parent else [f"    {PLUGIN_NAME}, {DESCRIPTION}"]
        output.plain("\n".join(lines))
        return
    output.plain(f"Usage: dokku {PLUGIN_NAME}[:COMMAND]\n\n{DESCRIPTION}\n\nAdditional commands:")
    output.plain("\n".join(_columns(help_lines())))


def _route(args: list[str]) -> Callable[[], object]:
    if args and args[0] == "trigger":
        from ansible_dokku_deploy.triggers import TRIGGERS  # noqa: PLC0415  # commands don't need it

        trigger = TRIGGERS[args[1]]
        return lambda: trigger(*args[2:])
    word = args[0] if args else f"{PLUGIN_NAME}:help"
    if word in ("help", PLUGIN_NAME, f"{PLUGIN_NAME}:help", f"{PLUGIN_NAME}:default"):
        return lambda: print_help(args)
    verb = word.removeprefix(f"{PLUGIN_NAME}:")
    if verb not in COMMANDS:
        raise DeployError(f"`{word}` is not a dokku command.", hint="See `dokku ansible-deploy:help` for the commands.")
    rest = args[1:]
    app = os.environ.get("DOKKU_APP_NAME")
    if app and verb in APP_FIRST and (not rest or rest[0].startswith("-")):
        rest = [app, *rest]
    return lambda: command(verb).main(rest)


def main(args: list[str]) -> int:
    """Run a trigger or command; every error ends here as Dokku-style lines, never a traceback."""
    try:
        try:
            _route(args)()
        finally:
            if OUTBOX:  # runs finished or metrics changed, whether or not it failed after
                from ansible_dokku_deploy import announce  # noqa: PLC0415  # most hooks have nothing to announce

                announce.deliver(Dokku.from_environ())
    except DeployError as exc:
        for line in exc.lines():
            output.warn(line)
        return exc.exit_code
    except KeyboardInterrupt:
        output.warn("interrupted")
        return 130
    except BrokenPipeError:  # the reader went away (`... | head`): what it did not read is not an error of ours
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # the interpreter's last flush stays silent
        return 141
    except Exception as exc:  # noqa: BLE001  # the one sink: a short line for people, the traceback in a log
        import traceback  # noqa: PLC0415  # every hook starts this module: only on a crash

        log = _crash_log("".join(traceback.format_exception(exc)))
        output.warn(f"ansible-deploy failed unexpectedly ({type(exc).__name__}: {exc})")
        output.warn(f"The details are in {log}")
        return 1
    return 0


def _crash_log(text: str) -> str:
    import tempfile  # noqa: PLC0415  # only on a crash

    for directory in (Dokku.from_environ().data_root, Path(tempfile.gettempdir())):
        try:
            fd, path = tempfile.mkstemp(prefix="crash-", suffix=".log", dir=directory)
        except OSError:
            continue
        with os.fdopen(fd, "w") as f:
            f.write(output.redact(text))
        return path
    return "(nowhere: no writable directory)"


def validate_main() -> int:
    """Console script `ansible-deploy-validate [DIR]` for packagers, without Dokku."""
    return main([f"{PLUGIN_NAME}:validate", *sys.argv[1:]])
