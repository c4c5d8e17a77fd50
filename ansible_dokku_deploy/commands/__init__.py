"""One module per `dokku ansible-deploy:<verb>`: its usage line, description and handler side by side."""

from __future__ import annotations

from ansible_dokku_deploy.errors import UsageError

FORMATS = ("stdout", "json")  # Dokku's --format values


def take_format(args: list[str]) -> tuple[str, list[str]]:
    """`--format stdout|json` anywhere in args: the format (stdout unless given) and the other arguments."""
    if "--format" not in args:
        return "stdout", list(args)
    i = args.index("--format")
    fmt = args[i + 1] if i + 1 < len(args) else ""
    if fmt not in FORMATS:
        raise UsageError(f"Invalid --format value specified: {fmt!r}", hint="Use --format json or --format stdout.")
    return fmt, args[:i] + args[i + 2 :]
