"""ansible-deploy: a Dokku plugin that provisions apps from their packaging files with Ansible."""

from __future__ import annotations

import re
from pathlib import Path

PLUGIN_DIR = Path(__file__).resolve().parent.parent
PLUGIN_NAME = "ansible-deploy"
# The plugin's own collection, then the community ones unpacked into its venv (scripts/install-collections).
COLLECTIONS_PATH = f"{PLUGIN_DIR / 'collections'}:{PLUGIN_DIR / '.venv' / 'collections'}"


def _version() -> str:
    """plugin.toml's version line in the plugin's folder (read with a pattern: tomllib costs every hook a few
    milliseconds); the package's own metadata when pip installed it without the plugin (the packager's validate)."""
    try:
        text = (PLUGIN_DIR / "plugin.toml").read_text()
    except OSError:
        from importlib.metadata import PackageNotFoundError, version  # noqa: PLC0415  # only when pip-installed

        try:
            return version("ansible-dokku-deploy")
        except PackageNotFoundError:
            return "unknown"
    found = re.search(r'^version\s*=\s*"([^"]+)"', text, re.MULTILINE)
    return found[1] if found else "unknown"


__version__ = _version()
