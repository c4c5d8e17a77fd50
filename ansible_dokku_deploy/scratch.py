"""A folder of the system's temp dir for one check (nginx -t, promtool), removed when the check ends. A process
killed outright cannot remove its folder: the folder's name carries its process id, and the next check of the same
kind removes the folders of processes that are gone (never a live one's, so checks running side by side, with or
without the app's lock, are safe)."""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path


@contextlib.contextmanager
def scratch_dir(kind: str) -> Iterator[Path]:
    prefix = f"ansible-deploy-{kind}-"
    for folder in Path(tempfile.gettempdir()).glob(f"{prefix}*-*"):
        pid = folder.name.removeprefix(prefix).split("-", 1)[0]
        if pid.isdigit() and not _running(int(pid)):
            shutil.rmtree(folder, ignore_errors=True)
    with tempfile.TemporaryDirectory(prefix=f"{prefix}{os.getpid()}-") as tmp:
        yield Path(tmp)


def _running(pid: int) -> bool:
    """Whether the process runs: a zombie has ended (only its exit status waits for a parent to collect it)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):  # gone
        return False
