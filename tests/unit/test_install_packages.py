"""scripts/install-packages, the install's first step, run with stand-ins for apt and the tools it looks for: it
never removes a package, never installs a web server, and takes a MySQL host's mysqldump as the dump tool."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from conftest import REPO

SCRIPT = REPO / "scripts" / "install-packages"


def _run(tmp_path: Path, *tools: str) -> tuple[subprocess.CompletedProcess[str], list[str]]:
    """The script with only the given tools on its PATH (and what it needs to run); returns what it said and the
    apt-get command lines it ran."""
    stand_ins = tmp_path / "bin"
    stand_ins.mkdir()
    log = tmp_path / "apt-get.log"
    for name in (*tools, "apt-cache"):
        (stand_ins / name).write_text("#!/bin/sh\nexit 0\n")
    (stand_ins / "apt-get").write_text(f'#!/bin/sh\necho "$*" >> {log}\n')
    for name in ("bash", "grep", "id", "python3"):
        (stand_ins / name).symlink_to(shutil.which(name) or sys.executable)
    for path in stand_ins.iterdir():
        path.chmod(0o755)
    env = {"PATH": os.environ["PATH"], "ANSIBLE_DEPLOY_INSTALL_PATH": str(stand_ins), "DOKKU_DISTRO": "debian"}
    done = subprocess.run([str(SCRIPT)], capture_output=True, text=True, check=False, env=env)
    return done, log.read_text().splitlines() if log.exists() else []


def test_a_mysql_hosts_mysqldump_is_enough_and_nginx_is_never_installed(tmp_path: Path) -> None:
    done, apt = _run(tmp_path, "cron", "restic", "pg_dump", "mysqldump")
    assert done.returncode == 0, done.stderr
    assert apt == [] and "installing" not in done.stdout + done.stderr
    assert "no nginx on this server" in done.stderr and "installs no web server" in done.stderr


def test_every_apt_install_refuses_to_remove_packages(tmp_path: Path) -> None:
    done, apt = _run(tmp_path, "cron", "restic", "nginx")
    assert done.returncode == 0, done.stderr
    if os.geteuid() == 0:
        installs = [line for line in apt if line.startswith("install")]
        assert installs and all("--no-remove" in line.split() for line in installs), apt
        assert "postgresql-client mariadb-client" in installs[0] and "nginx" not in " ".join(installs)
    else:
        assert "install postgresql-client mariadb-client with the server's package manager" in done.stderr
    assert "no nginx" not in done.stderr
