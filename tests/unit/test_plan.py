"""Plans: which roles a phase runs, with which variables, and a fingerprint that ignores where files are staged."""

from __future__ import annotations

from pathlib import Path

from conftest import EXAMPLE

from ansible_dokku_deploy.dokku import Dokku
from ansible_dokku_deploy.packaging.validate import validate_tree
from ansible_dokku_deploy.plan import make_plan, storage_entry
from ansible_dokku_deploy.resolve import Resolved
from ansible_dokku_deploy.staging import Staging
from ansible_dokku_deploy.state import POST_DEPLOY, PRE_DEPLOY, State

DOKKU = Dokku(Path("/home/dokku"), Path("/var/lib/dokku"))


def plan_for(tmp_path: Path, rev: str, phase: str = PRE_DEPLOY, state: State | None = None):
    release = Staging(tmp_path / "data").stage(validate_tree(EXAMPLE), rev, keep=5)
    resolved = Resolved(validate_tree(release.path, check_nginx=False), secrets={"SECRET_KEY": "s"})
    return make_plan(DOKKU, "hello", phase, release=release, resolved=resolved, state=state or State(tmp_path / "s"))


def test_pre_deploy_runs_every_capability_the_example_asks_for(tmp_path: Path) -> None:
    plan = plan_for(tmp_path, "a")
    assert plan.roles == ("config", "ports", "domains", "storage", "nginx")
    assert plan.variables["config_values"] == {"GREETING": "hello from env.yml", "WORKERS": "2", "DEBUG": "false"}
    assert plan.variables["ports_container_port"] == 5000
    assert plan.variables["storage_mounts"] == [{"entry": "hello-uploads", "path": "/app/uploads"}]
    assert plan.variables["nginx_snippet_dir"] == "/home/dokku/hello/nginx.conf.d"


def test_post_deploy_runs_the_packagers_step_and_no_role_without_an_acme_ca(tmp_path: Path) -> None:
    plan = plan_for(tmp_path, "a", POST_DEPLOY)
    assert plan.roles == ()
    assert [Path(s).name for s in plan.steps] == ["maintenance.yml"]


def test_vault_secrets_go_to_the_config_role_apart_from_plain_settings(tmp_path: Path) -> None:
    variables = plan_for(tmp_path, "a").variables
    assert variables["config_secret_values"] == {"SECRET_KEY": "s"}
    assert "SECRET_KEY" not in variables["config_values"]


def test_fingerprint_is_the_same_for_the_same_content_in_another_release(tmp_path: Path) -> None:
    first, second = plan_for(tmp_path, "a"), plan_for(tmp_path, "b")
    assert first.release.path != second.release.path
    assert first.fingerprint == second.fingerprint


def test_keys_set_before_and_dropped_from_env_yml_are_unset(tmp_path: Path) -> None:
    state = State(tmp_path / "s", config_keys=["GREETING", "OLD"])
    assert plan_for(tmp_path, "a", state=state).variables["config_unset"] == ["OLD"]


def test_storage_entry_names_fit_dokkus_limit() -> None:
    assert storage_entry("my.app", "uploads") == "my-app-uploads"
    long = storage_entry("a" * 40, "uploads")
    assert len(long) <= 45
    assert long == storage_entry("a" * 40, "uploads")
