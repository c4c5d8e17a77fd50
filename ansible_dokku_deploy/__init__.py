"""ansible-deploy: a Dokku plugin that provisions apps from their packaging files with Ansible."""

from __future__ import annotations

import tomllib
from pathlib import Path

PLUGIN_DIR = Path(__file__).resolve().parent.parent
PLUGIN_NAME = "ansible-deploy"
# The plugin's own collection, then the community ones unpacked into its venv (scripts/install-collections).
COLLECTIONS_PATH = f"{PLUGIN_DIR / 'collections'}:{PLUGIN_DIR / '.venv' / 'collections'}"


def _version() -> str:
    with (PLUGIN_DIR / "plugin.toml").open("rb") as f:
        return str(tomllib.load(f)["plugin"]["version"])


__version__ = _version()
