"""Shared by the dokku_deploy.dokku modules: one argv runner for `dokku`, the commands it ran, the result."""

from __future__ import annotations

import os
from typing import Any

from ansible.module_utils.basic import AnsibleModule


class DokkuCli:
    """Runs `dokku --quiet ...` as an argv list (never a shell) and remembers what it ran, values redacted."""

    def __init__(self, module: AnsibleModule) -> None:
        self.module = module
        self.binary = module.get_bin_path("dokku", required=True)
        self.commands: list[list[str]] = []
        # Dokku keeps the outermost command's flags in DOKKU_GLOBAL_FLAGS for every nested call, and some plugins
        # read `--no-restart` only there (dokku-postgres's link and unlink): each command here states its own.
        os.environ.pop("DOKKU_GLOBAL_FLAGS", None)

    def run(
        self, *args: str, shown: list[str] | None = None, check: bool = True, stdin: str | None = None
    ) -> tuple[int, str, str]:
        """Run a command; `shown` is how it is reported (to hide values); `stdin` keeps values off the argv."""
        argv = [self.binary, "--quiet", *args]
        rc, out, err = self.module.run_command(argv, data=stdin)
        self.commands.append(["dokku", *(shown if shown is not None else args)])
        if check and rc != 0:
            detail = (err or out).strip().replace(" !     ", "")
            self.module.fail_json(msg=f"dokku {args[0]} failed (exit {rc}): {detail}", commands=self.commands)
        return rc, out, err

    def read(self, *args: str) -> str:
        return self.run(*args)[1].strip()

    def write(self, *args: str, shown: list[str] | None = None, stdin: str | None = None) -> None:
        """A write command; in check mode it is only recorded, not run."""
        if self.module.check_mode:
            self.commands.append(["dokku", *(shown if shown is not None else args)])
            return
        self.run(*args, shown=shown, stdin=stdin)

    def exit(self, *, changed: bool, before: Any, after: Any, **extra: Any) -> None:
        self.module.exit_json(changed=changed, diff={"before": before, "after": after}, commands=self.commands, **extra)
