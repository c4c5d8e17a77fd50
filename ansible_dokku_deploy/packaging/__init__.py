"""The app-side packaging format: env.yml, vault/, nginx.conf.d/ and ansible/.

This module is what every hook may need and stays light (no YAML, no schema): a validated tree's model, the
environments' merge, and the fingerprint of a tree as pushed. Reading and checking are in load and validate.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ENV_FILE = "env.yml"
TREES = ("vault", "nginx.conf.d", "ansible")


@dataclass(frozen=True)
class Packaging:
    """A validated packaging tree: env.yml as this app's environment sees it, and the files that belong to it."""

    root: Path
    spec: dict[str, Any]
    files: tuple[str, ...]
    digest: str
    document: dict[str, Any] = field(default_factory=dict)  # env.yml as written, every environment in it

    @property
    def snippets(self) -> tuple[str, ...]:
        return tuple(f for f in self.files if f.startswith("nginx.conf.d/"))

    @property
    def vault_files(self) -> tuple[str, ...]:
        return tuple(f for f in self.files if f.startswith("vault/"))

    @property
    def features(self) -> tuple[str, ...]:
        """The capabilities this packaging asks for, in provisioning order."""
        spec = self.spec
        wanted = {
            "config": bool(spec.get("env")) or bool(self.vault_files),
            "ports": "port" in spec,
            "domains": "domains" in spec,
            "storage": bool(spec.get("storage")),
            "nginx": bool(self.snippets),
            "tls": spec.get("tls", "acme" if spec.get("domains") else "none") == "acme",
            "database": "database" in spec,
            "backups": "backups" in spec,
            "monitoring": "monitoring" in spec,
            "steps": bool(spec.get("steps")),
        }
        return tuple(name for name, on in wanted.items() if on)


def merge(base: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    """An environment's spec: mappings merged key by key, other values replaced; no environments of its own."""
    merged = {k: v for k, v in base.items() if k != "environments"}
    for key, value in overrides.items():
        merged[key] = (
            {**merged[key], **value} if isinstance(value, dict) and isinstance(merged.get(key), dict) else value
        )
    return merged


def spec_for(document: dict[str, Any], environment: str) -> dict[str, Any]:
    """The spec an app in `environment` gets from a (validated) env.yml; the base when environment is empty."""
    return merge(document, document.get("environments", {}).get(environment, {}) if environment else {})


def source_key(root: Path) -> str:
    """A fingerprint of the packaging files as pushed, before any check: every name under env.yml and the trees,
    its kind (file, folder, symlink and its target, other) and a file's content. Equal keys mean the same input to
    validation, so a tree that passed once passes again under the same settings (see Passed)."""
    h = hashlib.sha256()

    def add(path: Path, rel: str) -> None:
        if path.is_symlink():
            h.update(f"L\0{rel}\0{path.readlink()}\0".encode())
        elif path.is_file():
            with path.open("rb") as f:  # streamed: validation refuses big files, this only fingerprints them
                h.update(f"F\0{rel}\0".encode() + hashlib.file_digest(f, "sha256").digest())
        elif path.is_dir():
            h.update(f"D\0{rel}\0".encode())
        elif path.exists():
            h.update(f"O\0{rel}\0".encode())

    add(root / ENV_FILE, ENV_FILE)
    for tree in TREES:
        add(root / tree, tree)
        if (root / tree).is_symlink() or not (root / tree).is_dir():
            continue
        for dirpath, dirnames, filenames in os.walk(root / tree):
            dirnames.sort()
            for name in [*dirnames, *sorted(filenames)]:
                path = Path(dirpath) / name
                add(path, path.relative_to(root).as_posix())
    return h.hexdigest()
