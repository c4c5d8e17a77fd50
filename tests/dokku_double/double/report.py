"""Dokku's :report conventions (common.ReportSingleApp), shared by every report of the double."""

from __future__ import annotations

import json
from collections.abc import Callable

from double.env import Env, Fail, info2_quiet, verbose, warn

Fields = Callable[[Env, str], dict[str, str]]


def report(env: Env, kind: str, fields: Fields, args: list[str], *, single_flag_error: bool = False) -> int:
    """common.go ParseReportArgs refuses two info flags; only docker-options' subcommands.go passes that error on
    (exit 1), the others (checks, domains, ports, storage) drop it and exit 0 silently."""
    fmt, flags, apps = "stdout", [], []
    it = iter(args)
    for arg in it:
        if arg == "--format":
            fmt = next(it, "")
        elif arg.startswith("--"):
            flags.append(arg)
        else:
            apps.append(arg)
    if flags and "--format" in args:
        raise Fail("--format flag cannot be specified when specifying an info flag")
    targets = [env.verify_app(apps[0])] if apps else env.apps()
    if not targets:
        warn("You haven't deployed any applications yet")
        return 0
    if len(flags) > 1:
        if single_flag_error:
            raise Fail(f"{kind}:report command allows only a single flag")
        return 0
    for app in targets:
        values = fields(env, app)
        if flags:
            key = flags[0].removeprefix(f"--{kind}-")
            if not flags[0].startswith(f"--{kind}-") or key not in values:
                valid = ", ".join(f"--{kind}-{k}" for k in sorted(values))
                raise Fail(f"Invalid flag passed, valid flags: {valid}")
            print(values[key])
        elif fmt == "json":
            print(json.dumps(values, separators=(",", ":")))
        else:
            info2_quiet(f"{app} {kind} information")
            labels = {k: f"{kind} {k}".replace("-", " ").replace(".", " ").capitalize() + ":" for k in values}
            width = max(31, *(len(label) for label in labels.values()))
            for key in sorted(values):
                verbose(f"{labels[key]:<{width}} {values[key]}".rstrip())
    return 0
