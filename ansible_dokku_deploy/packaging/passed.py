"""Content that passed a costly check, remembered so an unchanged push skips the check."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from ansible_dokku_deploy import __version__


@dataclass(frozen=True)
class Passed:
    """Remembers content that passed a costly check (the schema, nginx -t), so an unchanged push skips it: one
    empty file per check and content hash, in a folder private to the plugin."""

    folder: Path | None
    KEEP = 40  # marks kept per app

    def _mark(self, check: str, content: bytes) -> Path | None:
        if self.folder is None:
            return None
        key = hashlib.sha256(f"{check}\0{__version__}\0".encode() + content).hexdigest()
        return self.folder / f"{check}-{key}"

    def seen(self, check: str, content: bytes) -> bool:
        mark = self._mark(check, content)
        return mark is not None and mark.exists()

    def remember(self, check: str, content: bytes) -> None:
        mark = self._mark(check, content)
        if mark is None:
            return
        mark.parent.mkdir(mode=0o700, exist_ok=True)
        mark.touch()
        marks = sorted(mark.parent.iterdir(), key=lambda m: m.stat().st_mtime)
        for old in marks[: -self.KEEP]:
            old.unlink(missing_ok=True)
