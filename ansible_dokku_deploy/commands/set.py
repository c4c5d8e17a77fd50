"""ansible-deploy:set (<app>|--global) <key> [<value>]"""

from __future__ import annotations

import sys
from pathlib import Path

from ansible_dokku_deploy import output
from ansible_dokku_deploy.dokku import Dokku
from ansible_dokku_deploy.errors import DeployError, UsageError
from ansible_dokku_deploy.settings import CUSTOM_STEPS_GRANT, GLOBAL, Store, lookup

USAGE = "(<app>|--global) <key> [<value>|-|--from-file <path>]"
DESCRIPTION = "Set or clear a setting; a secret is read from stdin (-) or a file and never taken from the command line"


def _secret_value(key: str, args: list[str]) -> str:
    if args == ["-"]:
        value = sys.stdin.read()
    elif len(args) == 2 and args[0] == "--from-file":  # noqa: PLR2004  # flag and path
        try:
            value = Path(args[1]).read_text()
        except OSError as exc:
            raise DeployError(f"cannot read {args[1]}: {exc.strerror}") from None
    else:
        raise UsageError(
            f"{key} is a secret and is never taken as a command-line value (it would show in ps and shell history)",
            hint=f"Pipe it in: dokku ansible-deploy:set <app> {key} - < FILE, or use --from-file PATH.",
        )
    return value.strip()


def main(args: list[str]) -> None:
    if len(args) < 2:  # noqa: PLR2004  # app and key
        raise UsageError(
            "Please specify an app (or --global) and a key", hint=f"Usage: dokku ansible-deploy:set {USAGE}"
        )
    target, key, rest = args[0], args[1], args[2:]
    dokku = Dokku.from_environ()
    if target != GLOBAL:
        dokku.require_app(target)
    setting = lookup(key)
    if target != GLOBAL and not setting.per_app:
        raise UsageError(
            f"{key} cannot be set per app", hint=f"Set it for the server: dokku ansible-deploy:set --global {key} ..."
        )
    store = Store(dokku)
    if not rest or rest == [""]:
        store.delete(target, key)
        output.header(f"Unsetting {key}")
        return
    if setting.secret:
        store.put(target, key, setting.parse(_secret_value(key, rest)))
        output.header(f"Setting {key} (secret, not shown)")
        return
    if len(rest) > 1:
        raise UsageError(f"Unexpected argument(s): {' '.join(rest[1:])}", hint="Quote a value that has spaces.")
    store.put(target, key, setting.parse(rest[0]))
    output.header(f"Setting {key} to {rest[0]}")
    if key == "allow-custom-steps" and rest[0] == "true":
        allowed_for = "every app" if target == GLOBAL else target
        output.warn(f"Custom steps are allowed for {allowed_for}: {CUSTOM_STEPS_GRANT}.")
