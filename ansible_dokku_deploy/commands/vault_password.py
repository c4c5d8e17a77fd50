"""ansible-deploy:vault-password (<app>|--global)"""

from __future__ import annotations

import sys

from ansible_dokku_deploy import output
from ansible_dokku_deploy.dokku import Dokku
from ansible_dokku_deploy.errors import UsageError
from ansible_dokku_deploy.settings import GLOBAL, Store, lookup

USAGE = "(<app>|--global) < password-file"
DESCRIPTION = "Sets the password of the app's vault/ files: read from stdin (never from the command line)"


def main(args: list[str]) -> None:
    if len(args) != 1:
        raise UsageError(
            "Please specify an app or --global", hint=f"Usage: dokku ansible-deploy:vault-password {USAGE}"
        )
    dokku = Dokku.from_environ()
    target = args[0] if args[0] == GLOBAL else dokku.require_app(args[0])
    if sys.stdin.isatty():
        raise UsageError(
            "The password is read from stdin", hint=f"dokku ansible-deploy:vault-password {target} < password-file"
        )
    password = sys.stdin.read().strip()
    if not password:
        raise UsageError(
            "No password on stdin", hint="To clear it: dokku ansible-deploy:set (APP|--global) vault-password"
        )
    Store(dokku).put(target, "vault-password", lookup("vault-password").parse(password))
    output.header(f"Setting vault-password for {target} (secret, not shown)")
