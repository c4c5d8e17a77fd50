"""Properties of planning over any valid packaging and any server's settings: the plan is deterministic, a plan
applied and recorded plans nothing the next time, and every capability the packaging asks for is in the plan.

Each example is a generated env.yml (with its steps and snippets), validated and staged as a push stages it, and
planned by gather() from a real settings store in a folder of its own: no Dokku, no server is asked anything (the
names a first provisioning claims are recorded as claims.claim records them on a server that has none of them).
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import yaml
from hypothesis import given
from hypothesis import strategies as st

from ansible_dokku_deploy import names
from ansible_dokku_deploy.database import default_name
from ansible_dokku_deploy.dokku import Dokku
from ansible_dokku_deploy.packaging import Packaging
from ansible_dokku_deploy.packaging.validate import validate_tree
from ansible_dokku_deploy.plan import Plan, gather, make_plan
from ansible_dokku_deploy.resolve import Resolved
from ansible_dokku_deploy.roles import BackupRun
from ansible_dokku_deploy.settings import GLOBAL, Store
from ansible_dokku_deploy.staging import Release, Staging
from ansible_dokku_deploy.state import Phase, State

APP = "shop"
PLAYBOOK = "---\n- name: A packager's step\n  hosts: localhost\n  gather_facts: false\n  tasks: []\n"
SNIPPET = "gzip on;\n"
NAMES = st.sampled_from(["uploads", "cache", "media"])
PHASE_STEPS = ("pre-deploy", "post-deploy", "on-failure")
PLAYBOOKS = ("ansible/setup.yml", "ansible/warm.yml")
PHASES = (Phase.PRE_DEPLOY, Phase.POST_DEPLOY)
REMOVALS = ("config_unset", "dns_absent")  # what a plan removes: what earlier runs left, gone once it ran
SNIPPET_FLAG = "x-snippet"  # not env.yml's: whether the generated tree has an nginx snippet


@st.composite
def packagings(draw: st.DrawFn) -> tuple[dict[str, Any], str]:
    """A valid env.yml with any of the optional parts, and the environment the app runs ("" for the base)."""
    doc: dict[str, Any] = {"version": 1, SNIPPET_FLAG: draw(st.booleans())}
    if draw(st.booleans()):
        doc["port"] = draw(st.integers(1, 65535))
    if draw(st.booleans()):
        doc["domains"] = draw(st.lists(st.sampled_from(["shop.example.test", "www.example.test"]), unique=True))
    if draw(st.booleans()):
        doc["env"] = draw(st.dictionaries(st.sampled_from(["A", "B_1", "WORKERS"]), st.one_of(st.text(max_size=5),
                                          st.integers(), st.booleans()), max_size=2))  # fmt: skip
    if draw(st.booleans()):
        doc["tls"] = draw(st.sampled_from(["acme", "none"]))
    if draw(st.booleans()):
        doc["database"] = {"engine": draw(st.sampled_from(["postgres", "mysql"]))}
    if draw(st.booleans()):
        doc["backups"] = {"schedule": "0 3 * * *", "keep": draw(st.integers(1, 9))}
    if draw(st.booleans()):
        doc["monitoring"] = {"healthcheck": "/healthz", **({"metrics": "/metrics"} if draw(st.booleans()) else {})}
    storage = draw(st.lists(NAMES, unique=True, max_size=2))
    if storage:
        doc["storage"] = [{"name": n, "path": f"/app/{n}"} for n in storage]
    steps = {p: draw(st.lists(st.sampled_from(PLAYBOOKS), min_size=1, unique=True)) for p in PHASE_STEPS
             if draw(st.booleans())}  # fmt: skip
    if steps:
        doc["steps"] = steps
    environment = ""
    if draw(st.booleans()):
        override: dict[str, Any] = {"env": {"A": "staging"}}
        if draw(st.booleans()):
            override["domains"] = ["staging.example.test"]
        if draw(st.booleans()):
            override["storage"] = [{"name": "staged", "path": "/app/staged"}]
        doc["environments"] = {"staging": override}
        environment = draw(st.sampled_from(["", "staging"]))
    return doc, environment


@st.composite
def servers(draw: st.DrawFn) -> dict[str, str]:
    """The admin's global settings: DNS, an ACME CA, monitoring, the database backend, each there or not."""
    settings = {"database-backend": draw(st.sampled_from(["server", "dokku-service"]))}
    if draw(st.booleans()):
        settings |= {"dns-server": "127.0.0.1", "dns-zones": "example.test", "dns-tsig-key-name": "k",
                     "dns-tsig-secret": "c2VjcmV0LXRzaWcta2V5", "dns-target-ipv4": "192.0.2.1"}  # fmt: skip
        if draw(st.booleans()):
            settings["dns-target-ipv6"] = "2001:db8::1"
    if draw(st.booleans()):
        settings |= {"acme-directory": "https://ca.example.test/dir", "acme-challenge": draw(
            st.sampled_from(["http-01", "dns-01"]))}  # fmt: skip
    if draw(st.booleans()):
        settings |= {"monitoring-targets-dir": "/srv/targets", "monitoring-probe-through": draw(
            st.sampled_from(["nginx", "direct"]))}  # fmt: skip
    return settings


@dataclass
class Server:
    """A server's plugin folders (settings store, staged releases, state.json) in a folder of its own."""

    root: Path
    dokku: Dokku = field(init=False)
    validated: dict[tuple[Path, str], Packaging] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.dokku = Dokku(self.root / "home" / "dokku", self.root / "var" / "lib" / "dokku")

    def configure(self, settings: dict[str, str]) -> None:
        store = Store(self.dokku)
        for engine in ("postgres", "mysql"):
            password_file = self.root / f"{engine}-admin-password"
            password_file.write_text("admin-password-of-the-server")
            settings |= {f"{engine}-host": "127.0.0.1", f"{engine}-admin-password-file": str(password_file)}
        for key, value in settings.items():
            store.put(GLOBAL, key, value)

    def stage(self, doc: dict[str, Any], rev: str) -> Release:
        """The tree as pushed, validated and staged as the push's build stages it."""
        tree = self.root / f"tree-{rev}"
        (tree / "ansible").mkdir(parents=True)
        (tree / "env.yml").write_text(yaml.safe_dump({k: v for k, v in doc.items() if k != SNIPPET_FLAG}))
        for book in PLAYBOOKS:
            (tree / book).write_text(PLAYBOOK)
        if doc[SNIPPET_FLAG]:
            (tree / "nginx.conf.d").mkdir()
            (tree / "nginx.conf.d" / "gzip.conf").write_text(SNIPPET)
        return Staging(self.dokku.data_dir(APP)).stage(validate_tree(tree, check_nginx=False), rev, keep=5)

    def packaging(self, release: Release, environment: str) -> Packaging:
        """The staged tree as the app's environment sees it, validated once."""
        key = (release.path, environment)
        if key not in self.validated:
            self.validated[key] = validate_tree(release.path, check_nginx=False, environment=environment)
        return self.validated[key]

    def plan(self, release: Release, environment: str, phase: Phase, state: State, **kw: Any) -> Plan:
        packaging = self.packaging(release, environment)
        resolved = Resolved(packaging, secrets={"SECRET_KEY": "a-vault-value"})
        return make_plan(gather(self.dokku, APP, phase, release=release, resolved=resolved, state=state, **kw))

    def claimed(self, spec: dict[str, Any]) -> State:
        """state.json after claims.claim on a server that has none of the names: each storage entry and the
        database recorded as the app's before the first plan."""
        state = State(self.dokku.data_dir(APP) / "state.json")
        state.storage = {s["name"]: names.storage_entry(APP, s["name"]) for s in spec.get("storage", [])}
        if "database" in spec:
            backend = Store(self.dokku).computed(APP, "database-backend")
            state.database = {
                "engine": spec["database"]["engine"],
                "backend": backend,
                "name": default_name(APP, backend),
            }
        return state


@contextmanager
def server(settings: dict[str, str]) -> Iterator[Server]:
    with tempfile.TemporaryDirectory() as folder:
        box = Server(Path(folder))
        box.configure(dict(settings))
        yield box


@given(packagings(), servers())
def test_the_same_inputs_make_the_same_plan_whatever_the_release_folder(
    generated: tuple[dict[str, Any], str], settings: dict[str, str]
) -> None:
    doc, environment = generated
    with server(settings) as box:
        first = box.stage(doc, "a")
        spec = box.packaging(first, environment).spec
        for phase in (Phase.PRE_DEPLOY, Phase.POST_DEPLOY, Phase.DESTROY):
            plan = box.plan(first, environment, phase, box.claimed(spec))
            assert box.plan(first, environment, phase, box.claimed(spec)) == plan, "planned twice, planned alike"
        second = box.stage(doc, "b")  # the same tree pushed again: another release folder, the same content
        assert second.path != first.path
        for phase in (Phase.PRE_DEPLOY, Phase.POST_DEPLOY):
            again = box.plan(second, environment, phase, box.claimed(spec))
            assert again.fingerprint == box.plan(first, environment, phase, box.claimed(spec)).fingerprint


@given(packagings(), servers(), st.lists(st.sampled_from(["OLD", "A"]), unique=True), st.booleans())
def test_a_plan_applied_and_recorded_plans_nothing_the_next_time(
    generated: tuple[dict[str, Any], str], settings: dict[str, str], earlier_keys: list[str], earlier_files: bool
) -> None:
    """Once this packaging's plan has run, planning it again finds it unchanged: state.json, saved and read back,
    tells the phase to skip. What an earlier run left (a setting, a snippet, a DNS record the plugin owned) is
    removed by the first run; the next plan removes nothing more and wants the same, and is then a fixed point."""
    doc, environment = generated
    with server(settings) as box:
        release = box.stage(doc, "a")
        spec = box.packaging(release, environment).spec
        state = box.claimed(spec)
        state.config_keys = earlier_keys
        if earlier_files:
            state.snippets = ["ansible-deploy-old.conf"]
            state.dns = [{"record": "old.example.test.", "zone": "example.test", "type": "A"}]
        leftovers = bool(earlier_keys or earlier_files)
        first = {}
        for phase in PHASES:
            first[phase] = box.plan(release, environment, phase, state)
            assert not state.unchanged(first[phase])
            state.record(first[phase], succeeded=True)
            state.save()
        state = State.load(state.path.parent)
        for phase in PHASES:
            again = box.plan(release, environment, phase, state)
            if not leftovers:
                assert state.unchanged(again), f"{phase} plans changes after its own plan was applied"
            assert not again.variables.get("config_unset") and not again.variables.get("dns_absent")
            assert set(again.roles) <= set(first[phase].roles)
            for role in again.roles:
                assert _wants(again, role) == _wants(first[phase], role), f"{phase}: {role} wants something else"
            state.record(again, succeeded=True)
            state.save()
        state = State.load(state.path.parent)
        for phase in PHASES:
            assert state.unchanged(box.plan(release, environment, phase, state)), f"{phase} is no fixed point"


@given(packagings(), servers())
def test_every_capability_the_packaging_asks_for_is_in_the_plan(
    generated: tuple[dict[str, Any], str], settings: dict[str, str]
) -> None:
    doc, environment = generated
    with server(settings) as box:
        release = box.stage(doc, "a")
        packaging = box.packaging(release, environment)
        spec, features = packaging.spec, set(packaging.features)
        state = box.claimed(spec)
        pre = box.plan(release, environment, Phase.PRE_DEPLOY, state)
        post = box.plan(release, environment, Phase.POST_DEPLOY, state)
        # A backup's plan of the storage folders may ask Dokku where each entry is: the folders a backup takes are
        # checked by the shapes' life cycle (tests/integration/test_shapes.py), the database's here.
        run = BackupRun(id=f"{APP}-20261201T030000Z", restic_env={}, restic_flags=(), timeout=60)
        database_only = replace(state, storage={})
        backup = box.plan(release, environment, Phase.BACKUP, database_only, backup=run)
        domains = spec.get("domains", [])
        v = pre.variables

        assert "config" in pre.roles, "the vault's settings are always there"
        assert v["config_values"] == {k: _text(value) for k, value in spec.get("env", {}).items()}
        assert v["config_secret_values"] == {"SECRET_KEY": "a-vault-value"}
        if "ports" in features:
            assert "ports" in pre.roles and v["ports_container_port"] == spec["port"]
        if "domains" in features:
            assert "domains" in pre.roles and v["domains_list"] == domains
        if domains and "dns-server" in settings:
            assert "dns" in pre.roles
            assert {r["record"] for r in v["dns_records"]} == {f"{d}." for d in domains}
        if "storage" in features:
            assert "storage" in pre.roles
            assert [m["path"] for m in v["storage_mounts"]] == [s["path"] for s in spec["storage"]]
            assert [m["entry"] for m in v["storage_mounts"]] == [state.storage[s["name"]] for s in spec["storage"]]
        if "nginx" in features:
            assert "nginx" in pre.roles and "ansible-deploy-gzip.conf" in {s["name"] for s in v["nginx_snippets"]}
        if "database" in features:
            assert "database" in pre.roles and v["database_engine"] == spec["database"]["engine"]
            assert backup.roles == ("backups",)
            assert backup.variables["backups_database"]["engine"] == spec["database"]["engine"]
        if "backups" in features:
            assert pre.owned.backups == spec["backups"], "the schedule the cron job is made of"
        if "tls" in features and domains and "acme-directory" in settings:
            assert "tls" in post.roles and post.variables["tls_domains"] == domains
        if "monitoring" in features and domains and "monitoring-targets-dir" in settings:
            assert "monitoring" in post.roles
            assert len(post.variables["monitoring_probe_groups"]) == len(domains)
        for phase, plan in (("pre-deploy", pre), ("post-deploy", post)):
            wanted = spec.get("steps", {}).get(phase, [])
            assert [Path(s).relative_to(release.path).as_posix() for s in plan.steps] == wanted
            failure_steps = spec.get("steps", {}).get("on-failure", [])
            assert [Path(s).relative_to(release.path).as_posix() for s in plan.on_failure] == failure_steps


def _wants(plan: Plan, role: str) -> dict[str, Any]:
    """What the role's inputs ask to be there (not what they ask to remove)."""
    return {k: v for k, v in plan.variables.items() if k.startswith(f"{role}_") and k not in REMOVALS}


def _text(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
