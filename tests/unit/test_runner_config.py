"""The plugin's Ansible runs read only the plugin's own Ansible configuration, never one the host or the caller has."""

from __future__ import annotations

import os
from pathlib import Path
from types import SimpleNamespace

import pytest

from ansible_dokku_deploy import runner

HOSTILE = "[defaults]\nvault_password_file = /nonexistent/vault-pass\n"  # any run that reads it fails at start


def test_an_ansible_cfg_of_the_host_the_caller_or_the_folder_does_not_apply(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Ansible's search: ANSIBLE_CONFIG, ./ansible.cfg, ~/.ansible.cfg, /etc/ansible/ansible.cfg; the first three
    are reachable here (an admin's shell, the hook's folder, the dokku user's home), the fourth is the same file
    read last, which the plugin's own ANSIBLE_CONFIG puts out of reach as well."""
    home, here = tmp_path / "home", tmp_path / "cwd"
    for folder in (home, here):
        folder.mkdir()
    (home / ".ansible.cfg").write_text(HOSTILE)
    (here / "ansible.cfg").write_text(HOSTILE)
    (tmp_path / "admin.cfg").write_text(HOSTILE)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("ANSIBLE_CONFIG", str(tmp_path / "admin.cfg"))
    monkeypatch.chdir(here)
    playbook = tmp_path / "play.yml"
    playbook.write_text("- hosts: localhost\n  gather_facts: false\n  tasks:\n    - ansible.builtin.ping:\n")
    log = os.open(tmp_path / "log", os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        outcome = runner.run_playbook(
            SimpleNamespace(variables={}),  # type: ignore[arg-type]  # the runner reads only a plan's variables
            [str(playbook)],
            work_dir=tmp_path / "work",
            log_fd=log,
            check=False,
            verbosity=0,
            strategy="linear",
        )
    finally:
        os.close(log)
    assert outcome.succeeded, (outcome.message, (tmp_path / "log").read_text())
