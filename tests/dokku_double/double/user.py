"""The switch to the dokku user, kept apart from the rest of the double: the entry point calls it before the
double's commands are imported, so that they are imported once, by the dokku user."""

from __future__ import annotations

import os
import pwd

# Run as root (Dokku's `dokku` script); so is any command with "plugin" in it: the script tests `$1 =~ plugin:*`,
# an unanchored regex. Everything else runs as the dokku user.
ROOT_COMMANDS = ("ssh-keys:add", "ssh-keys:remove", "scheduler-k3s:initialize", "scheduler-k3s:uninstall")


def _command(argv: list[str]) -> str:
    """The command the script tests: the first word after the global flags it shifts (`--app` takes a value)."""
    rest = list(argv)
    while rest and rest[0].startswith("--") and rest[0] != "--version":
        rest = rest[2:] if rest[0] == "--app" else rest[1:]
    return rest[0] if rest else ""


def become_dokku(argv: list[str]) -> None:
    """`sudo -u dokku -E -H dokku …` (the `dokku` script), when run as root and the user exists: the environment
    kept, with the dokku user's HOME. The process itself becomes the dokku user and goes on with the command, as the
    script's second run does: like sudo, nothing of its own is printed and the exit status is the command's.

    The caller's locale stays as it is, LANG and LC_* included (the `dokku` script, lines 92-94: only DOKKU_PID and
    the TMP variables are unset before `sudo -E`), and so do the triggers', which inherit this process's
    environment as plugn's do: a push brings the pusher's SSH session's locale, a command the admin's shell's."""
    command = _command(argv)
    if "plugin" in command or command in ROOT_COMMANDS:
        return
    switch_to_dokku()


def switch_to_dokku() -> None:
    """The switch itself, for root only; also `plugin:trigger`'s `sudo -u dokku -E -H plugn trigger`
    (plugins/plugin/subcommands/trigger): hooks a root user triggers still run as the dokku user."""
    if os.geteuid() != 0:
        return
    try:
        dokku = pwd.getpwnam("dokku")
    except KeyError:
        return
    for name in ("DOKKU_PID", "TMP", "TMPDIR", "TEMP", "TEMPDIR"):
        os.environ.pop(name, None)
    os.environ.update(
        SSH_USER="root", HOME=os.environ.get("DOKKU_ROOT") or "/home/dokku", USER="dokku", LOGNAME="dokku"
    )
    os.initgroups("dokku", dokku.pw_gid)
    os.setgid(dokku.pw_gid)
    os.setuid(dokku.pw_uid)
