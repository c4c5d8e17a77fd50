"""What the last runs left on the server (state.json), and the inputs that tell a phase it has nothing to do.

Kept apart from plan (which reads the vault and the servers' settings) so a hook that only checks this imports
little: a no-op redeploy decides here.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ansible_dokku_deploy import __version__
from ansible_dokku_deploy.dokku import Dokku
from ansible_dokku_deploy.staging import Release, write_private

if TYPE_CHECKING:
    from ansible_dokku_deploy.plan import Plan


class Phase(StrEnum):
    """What a provisioning run does: a deploy's two runs, and those without a push."""

    PRE_DEPLOY = "pre-deploy"
    POST_DEPLOY = "post-deploy"
    RENEW = "renew"
    DESTROY = "destroy"
    BACKUP = "backup"  # the backups role's actions, one phase each
    RESTORE = "restore"
    DRILL = "drill"


@dataclass
class State:
    """What the last runs left behind: per-phase fingerprints and what the plugin owns on the server."""

    path: Path
    phases: dict[str, dict[str, str]] = field(default_factory=dict)
    config_keys: list[str] = field(default_factory=list)
    snippets: list[str] = field(default_factory=list)
    dns: list[dict[str, str]] = field(default_factory=list)
    database: dict[str, str] = field(default_factory=dict)  # engine, backend, name: where the app's data is
    storage: dict[str, str] = field(default_factory=dict)  # env.yml's storage name: the app's storage entry
    backups: dict[str, Any] = field(default_factory=dict)  # env.yml's schedule and keep, for the cron job
    builder: str = ""  # the last build's (herokuish, dockerfile, ...): whose uid the app's processes run as

    @classmethod
    def load(cls, data_dir: Path) -> State:
        path = data_dir / "state.json"
        try:
            raw = json.loads(path.read_text())
        except (FileNotFoundError, ValueError):
            return cls(path)
        return cls(path, **{k: raw[k] for k in STATE_KEYS if k in raw})

    def save(self) -> None:
        raw = {key: getattr(self, key) for key in STATE_KEYS}
        write_private(self.path, json.dumps(raw, sort_keys=True).encode())

    def unchanged(self, plan: Plan) -> bool:
        return self.phases.get(plan.phase, {}).get("fingerprint") == plan.fingerprint

    def settled(self, phase: Phase, inputs: str) -> bool:
        """Whether a plan made from these inputs (see plan_inputs) is known to be the last successful run's."""
        last = self.phases.get(phase, {})
        return bool(last.get("fingerprint")) and last.get("inputs") == inputs

    def settle(self, phase: Phase, inputs: str) -> None:
        """Remember that these inputs make the last successful run's plan again."""
        self.phases.setdefault(phase, {})["inputs"] = inputs

    def record(self, plan: Plan, *, succeeded: bool) -> None:
        """What a run of the plan leaves: its fingerprint (not yet settled: see settle) and what it owns."""
        self.phases[plan.phase] = {"fingerprint": plan.fingerprint} if succeeded else {}
        if plan.phase == Phase.PRE_DEPLOY:
            owned = plan.owned
            if not succeeded:  # it may have set some before failing: own them all, so the next run removes extras
                self.config_keys = sorted({*self.config_keys, *owned.config_keys})
                self.snippets = sorted({*self.snippets, *owned.snippets})
                self.dns = [*self.dns, *(dict(r) for r in owned.dns if r not in self.dns)]
                return
            self.config_keys = list(owned.config_keys)
            self.snippets = list(owned.snippets)
            self.dns = [dict(r) for r in owned.dns]
            if owned.database:
                self.database = dict(owned.database)
            self.backups = dict(owned.backups)
        if succeeded and plan.phase == Phase.DESTROY:
            self.dns = []


STATE_KEYS = ("phases", "config_keys", "snippets", "dns", "database", "storage", "backups", "builder")


def dns_names(dokku: Dokku) -> dict[str, list[str]]:
    """The names of the DNS records the plugin keeps for each app (state.json's dns), by app: one listing of the
    plugin's data folder and one small read per app it provisions (a push on a server of 500 apps reads them
    all)."""
    try:
        folders = [e.name for e in os.scandir(dokku.data_root) if not e.name.startswith(".") and e.is_dir()]
    except OSError:
        return {}
    found = {}
    for folder in folders:
        try:
            records = json.loads((dokku.data_root / folder / "state.json").read_bytes()).get("dns", [])
        except (OSError, ValueError, AttributeError):
            continue
        found[folder] = (
            [str(r.get("record", "")) for r in records if isinstance(r, dict)] if isinstance(records, list) else []
        )
    return found


def plan_inputs(dokku: Dokku, phase: Phase, release: Release, state: State, settings: str) -> str:
    """A fingerprint of everything plan.gather reads: the release, the settings (Store.fingerprint: every one its
    checks and plans may consult, and the files they name), what the plugin owns on the server, the plugin's
    version and paths. Equal inputs make equal plans, so a phase whose inputs are settled skips without decrypting
    the vault or planning (the no-op redeploy's fast path)."""
    owned = {key: getattr(state, key) for key in STATE_KEYS if key != "phases"}
    basis = {
        "phase": phase,
        "digest": release.digest,
        "settings": settings,
        "owned": owned,
        "version": __version__,
        "paths": [sys.executable, str(dokku.root), str(dokku.lib_root)],
    }
    return hashlib.sha256(json.dumps(basis, sort_keys=True).encode()).hexdigest()
