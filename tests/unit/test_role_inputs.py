"""Each role's meta/argument_specs.yml is the one statement of its inputs: the role's typed value (roles.py) has
a field for each input, of the declared type, optional only where the spec has a default; full plans pass values
of those types; every required input has no default anywhere, and defaults/main.yml says no more than the specs
(the same defaults, for the inputs a plan may leave out)."""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import EXAMPLE, EXAMPLE_VAULT_PASSWORD, REPO

from ansible_dokku_deploy.dokku import Dokku
from ansible_dokku_deploy.packaging.validate import validate_tree
from ansible_dokku_deploy.plan import BACKUPS_ACTIONS, PHASE_ROLES, Plan, gather, make_plan
from ansible_dokku_deploy.resolve import Resolved, resolve
from ansible_dokku_deploy.roles import BackupRun, RoleInputs
from ansible_dokku_deploy.settings import GLOBAL, SETTINGS, Store
from ansible_dokku_deploy.staging import Staging
from ansible_dokku_deploy.state import Phase, State

ROLES = sorted(p.name for p in (REPO / "roles").iterdir())
TYPES = {"str": str, "path": str, "int": int, "bool": bool, "list": list, "dict": dict}
ANNOTATED = {str: ("str", "path"), int: ("int",), bool: ("bool",), Sequence: ("list",), Mapping: ("dict",)}
TYPED = {kind.role: kind for kind in RoleInputs.__subclasses__()}


def _spec(role: str) -> dict[str, Any]:
    return yaml.safe_load((REPO / "roles" / role / "meta" / "argument_specs.yml").read_text())["argument_specs"][
        "main"
    ]["options"]


def _defaults(role: str) -> dict[str, Any]:
    path = REPO / "roles" / role / "defaults" / "main.yml"
    return (yaml.safe_load(path.read_text()) or {}) if path.exists() else {}


def _full_server(root: Path) -> Dokku:
    """Every capability on: the server backend, DNS, dns-01 ACME, monitoring, custom steps."""
    dokku = Dokku(root / "home", root / "lib")
    store = Store(dokku)
    (root / "pg-password").write_text("admin")
    for key, value in {
        "dns-server": "127.0.0.1", "dns-zones": "example.test", "dns-tsig-key-name": "k", "dns-tsig-secret": "c2Vj",
        "dns-target-ipv4": "192.0.2.1", "dns-target-ipv6": "2001:db8::1", "acme-directory": "https://ca/dir",
        "acme-challenge": "dns-01", "monitoring-targets-dir": str(root / "targets"), "database-backend": "server",
        "monitoring-rules-dir": str(root / "rules"), "postgres-host": "127.0.0.1",
        "postgres-admin-password-file": str(root / "pg-password"), "vault-password": EXAMPLE_VAULT_PASSWORD,
        "allow-custom-steps": "true",
    }.items():  # fmt: skip
        store.put(GLOBAL, key, value)
    return dokku


def _every_plan(dokku: Dokku, root: Path, *, check: bool = False) -> Iterator[Plan]:
    """Each phase's plan for both examples (check: through the push's checks, vault included, as phases do)."""
    for app, source in (("hello", EXAMPLE), ("notes", EXAMPLE.parent / "notes")):
        release = Staging(root / app).stage(validate_tree(source), "rev", keep=5)
        if check:
            resolved = resolve(dokku, app, release.path, check_nginx=False)
        else:
            resolved = Resolved(validate_tree(release.path, check_nginx=False), secrets={"SECRET_KEY": "s"})
        for phase in PHASE_ROLES:
            extra = None
            if phase in BACKUPS_ACTIONS:  # what backups.py adds: the backup, and Repository.role_inputs
                extra = BackupRun(id="b", restic_env={}, restic_flags=[], timeout=60)
                if phase == Phase.BACKUP:
                    extra = dataclasses.replace(extra, dir="/tmp/b", time="t", release="r")
            # What the first provisioning recorded (claims.claim): backups, restores, drills and purges use it alone.
            recorded = {"engine": "postgres", "backend": "server", "name": app}
            state = State(root / app / "state.json", database={} if phase == Phase.PRE_DEPLOY else recorded)
            yield make_plan(gather(dokku, app, phase, release=release, resolved=resolved, state=state, backup=extra))


@pytest.fixture(scope="module")
def plans(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[dict[str, Any]]]:
    """Each role's inputs in full plans."""
    root = tmp_path_factory.mktemp("server")
    inputs: dict[str, list[dict[str, Any]]] = {}
    for plan in _every_plan(_full_server(root), root):
        for role in plan.roles:
            passed = {k: v for k, v in plan.variables.items() if k.startswith(f"{role}_")}
            inputs.setdefault(role, []).append(passed)
    return inputs


def test_checks_and_plans_read_only_settings_the_skip_key_covers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A setting the registry marks `plans=False` is left out of Store.fingerprint, the skip key's settings part:
    reading one while checking or planning would let a change to it go unprovisioned."""
    dokku = _full_server(tmp_path)
    read: set[str] = set()
    get = Store.get

    def spy(self: Store, app: str, key: str) -> str:
        read.add(key)
        return get(self, app, key)

    monkeypatch.setattr(Store, "get", spy)
    assert len(list(_every_plan(dokku, tmp_path, check=True))) == 2 * len(PHASE_ROLES)
    assert {"dns-zones", "vault-password", "database-backend"} <= read  # the spy sees the reads
    assert sorted(k for k in read if k in SETTINGS and not SETTINGS[k].plans) == []


def test_every_role_has_a_typed_value() -> None:
    assert sorted(TYPED) == ROLES


def _typed_fields(kind: type) -> dict[str, tuple[dataclasses.Field[Any], Any]]:
    """A value's fields with their types, a part's (a dataclass-typed field) in its place."""
    hints, found = typing.get_type_hints(kind), {}
    for f in dataclasses.fields(kind):
        if dataclasses.is_dataclass(hints[f.name]):
            found |= _typed_fields(hints[f.name])
        else:
            found[f.name] = (f, hints[f.name])
    return found


@pytest.mark.parametrize("role", ROLES)
def test_the_typed_value_declares_what_the_spec_declares(role: str) -> None:
    spec = _spec(role)
    fields = {f"{role}_{name}": typed for name, typed in _typed_fields(TYPED[role]).items()}
    assert sorted(fields) == sorted(set(spec) - {f"{role}_app"}), "the value's fields are the spec's inputs"
    for name, (f, annotated) in fields.items():
        hint = annotated
        if typing.get_origin(hint) is types.UnionType and type(None) in typing.get_args(hint):
            hint = next(a for a in typing.get_args(hint) if a is not type(None))
        if f.default is not dataclasses.MISSING or f.default_factory is not dataclasses.MISSING:
            assert "default" in spec[name], f"{name} may be left out or left empty, so the role needs a default"
        base = typing.get_origin(hint) or hint
        assert spec[name].get("type", "str") in ANNOTATED[base], f"{name}: {hint} is not {spec[name].get('type')}"


def test_every_role_is_planned_somewhere(plans: dict[str, list[dict[str, Any]]]) -> None:
    assert sorted(plans) == ROLES


@pytest.mark.parametrize("role", ROLES)
def test_the_plan_passes_what_the_role_declares_with_the_declared_types(
    role: str, plans: dict[str, list[dict[str, Any]]]
) -> None:
    spec = _spec(role)
    required = {name for name, option in spec.items() if option.get("required")}
    for passed in plans[role]:
        assert sorted(set(passed) - set(spec)) == [], "passed but not declared"
        for name, value in passed.items():
            assert isinstance(value, TYPES[spec[name].get("type", "str")]), f"{name}: {value!r}"
        assert sorted(required - set(passed)) == [], "required but not passed"


@pytest.mark.parametrize("role", ROLES)
def test_defaults_say_no_more_than_the_specs(role: str) -> None:
    spec, defaults = _spec(role), _defaults(role)
    assert sorted(set(defaults) - set(spec)) == [], "a default for an input the spec does not declare"
    for name, option in spec.items():
        assert option.get("description"), f"{name} has no description"
        if option.get("required"):
            assert "default" not in option and name not in defaults, f"{name} is required: no default"
        else:
            assert name in defaults and defaults[name] == option.get("default"), f"{name}: the same default in both"
