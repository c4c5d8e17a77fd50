"""The plugin's Dokku-facing files agree with its routing tables, README and version."""

from __future__ import annotations

import os
import re
import tomllib
from pathlib import Path

import pytest
from conftest import REPO

from ansible_dokku_deploy import __version__, cli
from ansible_dokku_deploy.triggers import TRIGGERS

TRIGGER_STUB = """#!/usr/bin/env bash
set -eo pipefail; [[ $DOKKU_TRACE ]] && set -x
source "${0%/*}/scripts/unmanaged"
source "${0%/*}/scripts/standby"
exec "${0%/*}/.venv/bin/python" -I -m ansible_dokku_deploy trigger "${0##*/}" "$@"
"""
UPDATE_STUB = """#!/usr/bin/env bash
set -eo pipefail; [[ $DOKKU_TRACE ]] && set -x
exec "${0%/*}/install" "$@"  # the same steps: packages, venv, folders
"""
SUBCOMMAND_STUB = """#!/usr/bin/env bash
set -eo pipefail; [[ $DOKKU_TRACE ]] && set -x
source "${0%/*}/../scripts/standby"
exec "${0%/*}/../.venv/bin/python" -I -m ansible_dokku_deploy "$@"
"""
ROOT_TRIGGERS = {"install": None, "update": UPDATE_STUB}  # install: its own steps (test_install.py)
OWN_STUBS = {"cron-entries": None}  # its fallback to the last good lines (test_install.py)


def test_every_trigger_stub_matches_its_template_and_the_routing_table() -> None:
    stubs = {p.name for p in REPO.iterdir() if p.is_file() and p.read_text().startswith("#!") and p.name in TRIGGERS}
    assert stubs == set(TRIGGERS)
    for name in TRIGGERS:
        path = REPO / name
        assert os.access(path, os.X_OK), name
        expected = {**ROOT_TRIGGERS, **OWN_STUBS}.get(name, TRIGGER_STUB)
        if expected is not None:
            assert path.read_text() == expected, name


def test_no_deprecated_pre_deploy_file_is_shipped() -> None:
    assert not (REPO / "pre-deploy").exists(), "Dokku warns on every release when any plugin ships pre-deploy"


def test_every_subcommand_stub_matches_the_command_table() -> None:
    stubs = {p.name for p in (REPO / "subcommands").iterdir()}
    assert stubs == {*cli.COMMANDS, "default"}
    for path in (REPO / "subcommands").iterdir():
        assert path.read_text() == SUBCOMMAND_STUB, path.name
        assert os.access(path, os.X_OK)


def test_the_readme_command_table_matches_the_help() -> None:
    readme = (REPO / "README.md").read_text()
    listed = set(re.findall(r"^\| `dokku (ansible-deploy:[a-z-]+)", readme, re.MULTILINE))
    assert listed == {f"ansible-deploy:{verb}" for verb in cli.COMMANDS}


def test_versions_agree_and_plugin_toml_keeps_an_empty_config_table() -> None:
    with (REPO / "plugin.toml").open("rb") as f:
        plugin = tomllib.load(f)
    with (REPO / "pyproject.toml").open("rb") as f:
        project = tomllib.load(f)
    assert plugin["plugin"]["config"] == {}
    assert plugin["plugin"]["version"] == project["project"]["version"] == __version__


def test_the_format_reference_is_generated_from_the_schema() -> None:
    from ansible_dokku_deploy.packaging.reference import render

    assert (REPO / "docs" / "packaging-format.md").read_text() == render(), "run: .venv/bin/python scripts/render-docs"


def test_the_readme_settings_table_is_generated_from_the_registry() -> None:
    from ansible_dokku_deploy.settings import SETTINGS, reference_table

    readme = (REPO / "README.md").read_text()
    assert reference_table() in readme, "run: .venv/bin/python scripts/render-docs"
    listed = set(re.findall(r"^\| `([a-z0-9-]+)` \| [^|]+ \| `", readme, re.MULTILINE))
    assert listed == set(SETTINGS)


def test_commands_fast_path_exits_10_for_other_plugins_commands(tmp_path: Path) -> None:
    import subprocess

    result = subprocess.run([str(REPO / "commands"), "apps:list"], capture_output=True, check=False)
    assert result.returncode == 10


# A deploy's hooks with the arguments Dokku passes them (APP "app", the pushed tree SRC): whether the plugin has
# anything to do is the shell's decision when it has not (scripts/unmanaged).
DEPLOY_HOOKS = {
    "post-extract": ["app", "SRC", "rev"],
    "pre-build": ["herokuish", "app", "SRC"],
    "post-build": ["herokuish", "app", "SRC"],
    "pre-release-builder": ["herokuish", "app", "dokku/app:latest"],
    "check-deploy": ["app", "container-id", "web", "5000", "127.0.0.1"],
    "post-deploy": ["app", "", "", "latest"],
}


def _starts_python(tmp_path: Path, hook: str, *, env_yml: bool, staged: bool, args: list[str] | None = None) -> bool:
    """Run the hook's stub as Dokku would, traced (DOKKU_TRACE, as `dokku trace:on` sets): whether it went on to
    start the plugin's Python; when it did not, it must have succeeded."""
    import subprocess

    source, lib_root = tmp_path / "src", tmp_path / "lib"
    source.mkdir()
    (lib_root / "data" / "ansible" / "app").mkdir(parents=True)
    if env_yml:
        (source / "env.yml").write_text("port: 5000\n")
    if staged:  # an earlier push's release, and this push's (gone here: the Python side then finds nothing)
        (lib_root / "data" / "ansible" / "app" / "staged").symlink_to("releases/gone")
        (lib_root / "data" / "ansible" / "app" / "pending").symlink_to("releases/gone")
    argv = [str(source) if a == "SRC" else a for a in (args or DEPLOY_HOOKS[hook])]
    env = {"PATH": os.environ["PATH"], "DOKKU_LIB_ROOT": str(lib_root), "DOKKU_TRACE": "1"}
    result = subprocess.run([REPO / hook, *argv], capture_output=True, text=True, check=False, env=env)
    started = "+ exec " in result.stderr
    assert started or result.returncode == 0, result.stderr  # what Python says of this made-up app is not the point
    return started


@pytest.mark.parametrize("hook", DEPLOY_HOOKS)
def test_a_deploy_hook_starts_no_python_for_an_app_the_plugin_does_not_provision(tmp_path: Path, hook: str) -> None:
    assert not _starts_python(tmp_path, hook, env_yml=False, staged=False)


@pytest.mark.parametrize("hook", DEPLOY_HOOKS)
def test_a_deploy_hook_starts_python_once_packaging_is_staged(tmp_path: Path, hook: str) -> None:
    assert _starts_python(tmp_path, hook, env_yml=False, staged=True)


@pytest.mark.parametrize("hook", ["post-extract", "pre-build"])
def test_the_first_push_of_packaging_starts_python_to_check_and_stage_it(tmp_path: Path, hook: str) -> None:
    assert _starts_python(tmp_path, hook, env_yml=True, staged=False)


def test_check_deploy_starts_no_python_for_a_container_that_is_not_a_web_one(tmp_path: Path) -> None:
    args = ["app", "container-id", "worker", "", ""]
    assert not _starts_python(tmp_path, "check-deploy", env_yml=True, staged=True, args=args)


def test_the_promtool_check_reads_targets_with_the_scrape_jobs_the_readme_recommends() -> None:
    import yaml

    from ansible_dokku_deploy.prometheus_check import JOBS

    readme = (REPO / "README.md").read_text()
    block = re.search(r"```yaml\n(rule_files:.*?scrape_configs:.*?)```", readme, re.DOTALL)
    assert block, "the README's Prometheus configuration"
    recommended = {job["job_name"]: job for job in yaml.safe_load(block.group(1))["scrape_configs"]}
    checked = [yaml.safe_load(text.format(file="F"))["scrape_configs"][0] for text in JOBS.values()]
    assert len(checked) == len(recommended)
    for job in checked:
        expected = recommended[job["job_name"]]
        assert {k: v for k, v in job.items() if k != "file_sd_configs"} == {
            k: v for k, v in expected.items() if k != "file_sd_configs"
        }, job["job_name"]


@pytest.mark.parametrize(
    ("exit_code", "pending", "starts"), [("1", True, True), ("0", True, False), ("1", False, False)]
)
def test_builds_record_finalize_starts_python_only_for_a_failed_build_of_a_pending_release(
    tmp_path: Path, exit_code: str, pending: bool, starts: bool
) -> None:
    args = ["app", "pid-1", exit_code]
    assert _starts_python(tmp_path, "builds-record-finalize", env_yml=False, staged=pending, args=args) is starts
