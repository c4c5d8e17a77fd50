"""The checks' scratch folders: each check's own goes when it ends, and a killed check's with the next check."""

from __future__ import annotations

import os
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from ansible_dokku_deploy.scratch import scratch_dir


def test_the_next_check_removes_the_folders_of_killed_checks_and_no_other(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    gone = subprocess.Popen(["true"])
    gone.wait()
    unreaped = subprocess.Popen(["true"])  # ended, its exit status not collected yet: a zombie
    stat = Path(f"/proc/{unreaped.pid}/stat")
    while stat.read_text().rsplit(")", 1)[1].split()[0] != "Z":
        time.sleep(0.01)
    killed = tmp_path / f"ansible-deploy-nginx-{gone.pid}-abc"
    killed_unreaped = tmp_path / f"ansible-deploy-nginx-{unreaped.pid}-abd"
    running = tmp_path / f"ansible-deploy-nginx-{os.getppid()}-def"  # a check going on beside this one
    other_kind = tmp_path / f"ansible-deploy-promtool-{gone.pid}-ghi"
    for folder in (killed, killed_unreaped, running, other_kind):
        (folder / "nginx.conf.d").mkdir(parents=True)
    with scratch_dir("nginx") as mine:
        assert mine.parent == tmp_path and mine.name.startswith(f"ansible-deploy-nginx-{os.getpid()}-")
        assert not killed.exists() and not killed_unreaped.exists()
        assert running.exists() and other_kind.exists()
    assert not mine.exists()
    unreaped.wait()
