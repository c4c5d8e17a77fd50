"""ansible-deploy:run <app> [--check [--format stdout|json] [--tree <dir>]] [--phase pre-deploy|post-deploy]"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ansible_dokku_deploy import output
from ansible_dokku_deploy.commands import take_format
from ansible_dokku_deploy.dokku import Dokku
from ansible_dokku_deploy.errors import AlreadyReportedError, DeployError, UsageError
from ansible_dokku_deploy.lock import dokku_deploy_lock
from ansible_dokku_deploy.phases import run_phase
from ansible_dokku_deploy.plan import PHASES
from ansible_dokku_deploy.staging import Release, Staging
from ansible_dokku_deploy.state import Phase

if TYPE_CHECKING:
    from ansible_dokku_deploy.runner import Outcome

USAGE = "<app> [--check [--format stdout|json] [--tree <dir>]] [--phase pre-deploy|post-deploy]"
DESCRIPTION = (
    "Provision an app again from its staged packaging without a push (--check: show what would change; --tree: "
    "what a push of that packaging dir would change before the first push)"
)


DNS_ACTION, ACME_ACTION = "community.general.nsupdate", "community.crypto.acme_certificate"


def main(args: list[str]) -> None:
    fmt, args = take_format(args)
    check = "--check" in args
    if fmt == "json" and not check:
        raise UsageError("--format json is for --check: a plan of what would change")
    if fmt == "json":
        output.progress_to_stderr()
    rest = [a for a in args if a != "--check"]
    tree, rest = _take_tree(rest)
    if tree is not None and not check:
        raise UsageError("--tree is for --check: what a push of that dir would change", hint=f"Usage: {USAGE}")
    phases: tuple[Phase, ...] = PHASES
    if "--phase" in rest:
        i = rest.index("--phase")
        if i + 1 >= len(rest) or rest[i + 1] not in PHASES:
            raise UsageError("--phase expects pre-deploy or post-deploy")
        phases = (Phase(rest[i + 1]),)
        del rest[i : i + 2]
    if len(rest) != 1:
        raise UsageError("Please specify one app", hint=f"Usage: dokku ansible-deploy:run {USAGE}")
    dokku = Dokku.from_environ()
    app = dokku.require_app(rest[0])
    if tree is None and Staging(dokku.data_dir(app)).current() is None:
        raise DeployError(
            f"{app} has no staged packaging",
            hint=f"Push the app with an env.yml first: git push dokku main. To see what that push would change: "
            f"dokku ansible-deploy:run {app} --check --tree DIR (DIR: the app's tree on the server)",
        )
    with tempfile.TemporaryDirectory(prefix="ansible-deploy-check-") as scratch:
        release = None if tree is None else _staged_aside(dokku, app, tree, Path(scratch))
        with dokku_deploy_lock(dokku.deploy_lock(app), app):
            outcomes = {
                phase: run_phase(dokku, app, phase, force=True, check=check, release=release) for phase in phases
            }
    if check:
        output.step("Check mode: nothing was changed")
    if fmt == "json":
        plan = _plan_document(app, outcomes)
        output.plain(json.dumps(plan, indent=2))
        raise AlreadyReportedError(2 if plan["would_change"] else 0)  # terraform plan -detailed-exitcode's codes


def _take_tree(args: list[str]) -> tuple[Path | None, list[str]]:
    """--tree DIR out of the arguments."""
    if "--tree" not in args:
        return None, args
    i = args.index("--tree")
    if i + 1 >= len(args) or not args[i + 1]:
        raise UsageError("--tree expects the packaging dir to check", hint=f"Usage: dokku ansible-deploy:run {USAGE}")
    tree = Path(args[i + 1])
    try:
        if not tree.is_dir():
            raise UsageError(f"--tree: {tree} is not a directory")
        next(tree.iterdir(), None)  # raises when the directory cannot be read
    except OSError as exc:
        raise UsageError(f"--tree: cannot read {tree}: {exc.strerror}") from None
    return tree, args[:i] + args[i + 2 :]


def _staged_aside(dokku: Dokku, app: str, tree: Path, scratch: Path) -> Release:
    """The tree's packaging, checked as a push's is and staged in scratch, never in the app's data: a check of a
    push that has not happened."""
    from ansible_dokku_deploy.resolve import resolve  # noqa: PLC0415  # --tree only

    packaging = resolve(dokku, app, tree).packaging
    return Staging(scratch).stage(packaging, "", keep=1, source="--tree")


def _plan_document(app: str, outcomes: dict[Phase, Outcome | None]) -> dict[str, Any]:
    """What check mode found, per phase, with the certificate order and the DNS records pulled out."""
    found = {phase: outcome.changes if outcome else [] for phase, outcome in outcomes.items()}
    phases = [{"phase": phase, "would_change": len(c), "changes": c} for phase, c in found.items()]
    changes = [change for phase_changes in found.values() for change in phase_changes]
    dns = []
    for change in changes:
        if change["action"] == DNS_ACTION:
            kind, _, record = str(change["item"] or "").partition(" ")
            dns.append({"type": kind, "record": record, "state": change.get("state") or "present"})
    return {
        "app": app,
        "would_change": bool(changes),
        "phases": phases,
        "certificate_order": any(change["action"] == ACME_ACTION for change in changes),
        "dns_records": dns,
    }
