"""The plugin's Dokku-facing files agree with its routing tables, README and version."""

from __future__ import annotations

import os
import re
import tomllib
from pathlib import Path

from conftest import REPO

from ansible_dokku_deploy import __version__, cli
from ansible_dokku_deploy.triggers import TRIGGERS

TRIGGER_STUB = """#!/usr/bin/env bash
set -eo pipefail; [[ $DOKKU_TRACE ]] && set -x
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


def test_every_trigger_stub_matches_its_template_and_the_routing_table() -> None:
    stubs = {p.name for p in REPO.iterdir() if p.is_file() and p.read_text().startswith("#!") and p.name in TRIGGERS}
    assert stubs == set(TRIGGERS)
    for name in TRIGGERS:
        path = REPO / name
        assert os.access(path, os.X_OK), name
        expected = ROOT_TRIGGERS.get(name, TRIGGER_STUB)
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
