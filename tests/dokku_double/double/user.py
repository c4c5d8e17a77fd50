"""The switch to the dokku user, kept apart from the rest of the double: the entry point calls it before the
double's commands are imported, so a command run as root costs one import of them, in the dokku user's process."""

from __future__ import annotations

import os
import pwd
import sys
from pathlib import Path

ROOT_COMMANDS = ("plugin:",)  # run as root; everything else re-execs as the dokku user


def become_dokku(argv: list[str]) -> None:
    """`sudo -u dokku -E -H dokku …` for every command but plugin:*, when run as root and the user exists."""
    if os.geteuid() != 0 or (argv and argv[0].startswith(ROOT_COMMANDS)):
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
