"""ansible-deploy: a Dokku plugin that provisions apps from their packaging files with Ansible."""

from __future__ import annotations

import tomllib
from pathlib import Path

PLUGIN_DIR = Path(__file__).resolve().parent.parent
PLUGIN_NAME = "ansible-deploy"


def _version() -> str:
    with (PLUGIN_DIR / "plugin.toml").open("rb") as f:
        return str(tomllib.load(f)["plugin"]["version"])


__version__ = _version()
