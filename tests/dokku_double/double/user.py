"""The switch to the dokku user, kept apart from the rest of the double: the entry point calls it before the
double's commands are imported, so a command run as root costs one import of them, in the dokku user's process."""

from __future__ import annotations

import os
import pwd
import sys
from pathlib import Path

# Run as root (Dokku's `dokku` script); so is any command with "plugin" in it: the script tests `$1 =~ plugin:*`,
# an unanchored regex. Everything else re-execs as the dokku user.
ROOT_COMMANDS = ("ssh-keys:add", "ssh-keys:remove", "scheduler-k3s:initialize", "scheduler-k3s:uninstall")


def _command(argv: list[str]) -> str:
    """The command the script tests: the first word after the global flags it shifts (`--app` takes a value)."""
    rest = list(argv)
    while rest and rest[0].startswith("--") and rest[0] != "--version":
        rest = rest[2:] if rest[0] == "--app" else rest[1:]
    return rest[0] if rest else ""


def become_dokku(argv: list[str]) -> None:
    """`sudo -u dokku -E -H dokku …` (the `dokku` script), when run as root and the user exists. The whole command
    line goes on: the dokku user's process reads the global flags again, as the script's environment carries them."""
    command = _command(argv)
    if os.geteuid() != 0 or "plugin" in command or command in ROOT_COMMANDS:
        return
    try:
        pwd.getpwnam("dokku")
    except KeyError:
        return
    for name in ("DOKKU_PID", "TMP", "TMPDIR", "TEMP", "TEMPDIR"):
        os.environ.pop(name, None)
    os.environ["SSH_USER"] = "root"
    home = os.environ.get("DOKKU_ROOT") or "/home/dokku"
    script = str(Path(__file__).resolve().parent.parent / "dokku")
    os.execvp(  # noqa: S606  # re-exec as the dokku user, like Dokku's sudo -u dokku -E -H
        "runuser",
        [
            "runuser",
            "-u",
            "dokku",
            "-m",
            "--",
            "env",
            f"HOME={home}",
            "USER=dokku",
            "LOGNAME=dokku",
            sys.executable,
            script,
            *argv,
        ],
    )
