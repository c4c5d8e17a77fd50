"""Every role's molecule scenario (check, converge, idempotence, verify) runs here, without Docker."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import REPO

from ansible_dokku_deploy.runner import RUN_LOCALE, strategy_env

SCENARIOS = sorted(p.name for p in (REPO / "molecule").iterdir() if (p / "molecule.yml").exists())


def test_every_role_has_a_scenario() -> None:
    roles = sorted(p.name for p in (REPO / "roles").iterdir())
    assert roles == SCENARIOS


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_scenario(scenario: str, tmp_path: Path) -> None:
    venv_bin = Path(sys.executable).parent
    env = {
        **os.environ,
        "PATH": f"{venv_bin}:{os.environ['PATH']}",
        "ANSIBLE_HOME": str(tmp_path / "ansible"),
        "ANSIBLE_LOCAL_TEMP": str(tmp_path / "ansible-tmp"),
        "MOLECULE_EPHEMERAL_DIRECTORY": str(tmp_path / "molecule"),
        "ANSIBLE_NOCOLOR": "1",
        "NO_COLOR": "1",
        "ANSIBLE_DEPLOY_RUN_ID": f"-{os.getpid()}",  # runs of the suite side by side get their own sandboxes
        **strategy_env("mitogen"),  # the strategy the plugin's runs use by default (its setting ansible-strategy)
        **RUN_LOCALE,  # the locale the plugin's runs have, whatever the caller's
    }
    result = subprocess.run(
        [str(venv_bin / "molecule"), "test", "-s", scenario],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-3000:]
