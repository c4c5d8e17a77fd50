"""Every module's documentation renders with ansible-doc (shared fragment included) and names its options."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import REPO

from ansible_dokku_deploy import COLLECTIONS_PATH

MODULES = sorted(
    p.stem for p in (REPO / "collections/ansible_collections/dokku_deploy/dokku/plugins/modules").glob("*.py")
)


@pytest.mark.parametrize("name", MODULES)
def test_module_documentation_renders(name: str, tmp_path: Path) -> None:
    venv_bin = Path(sys.executable).parent
    env = {
        **os.environ,
        "PATH": f"{venv_bin}:{os.environ['PATH']}",
        "ANSIBLE_COLLECTIONS_PATH": COLLECTIONS_PATH,
        "ANSIBLE_HOME": str(tmp_path),
    }
    result = subprocess.run(
        [str(venv_bin / "ansible-doc"), "--json", f"dokku_deploy.dokku.{name}"],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert '"app"' in result.stdout and '"check_mode"' in result.stdout
