"""The plugin's Mitogen strategy: tasks run in Mitogen's interpreter, and what they start may use every CPU."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import ansible_runner

from ansible_dokku_deploy import COLLECTIONS_PATH
from ansible_dokku_deploy.runner import strategy_env

PLAYBOOK = """\
- hosts: localhost
  gather_facts: false
  tasks:
    - name: Say the CPUs this task's programs may use, and who started them
      ansible.builtin.shell: nproc; tr '\\\\0' ' ' < /proc/$PPID/cmdline
      changed_when: false
"""


def test_a_tasks_programs_may_use_every_cpu_as_mitogen_pins_none(tmp_path: Path) -> None:
    (tmp_path / "project").mkdir()
    (tmp_path / "project" / "cpus.yml").write_text(PLAYBOOK)
    said: list[str] = []

    def keep(event: dict[str, object]) -> bool:
        if event.get("event") == "runner_on_ok":
            said.extend(str(event["event_data"]["res"]["stdout"]).splitlines())  # type: ignore[index]
        return True

    result = ansible_runner.run(
        private_data_dir=str(tmp_path),
        playbook="cpus.yml",
        inventory={
            "all": {
                "hosts": {"localhost": {"ansible_connection": "local", "ansible_python_interpreter": sys.executable}}
            }
        },
        envvars={
            "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}",
            "ANSIBLE_COLLECTIONS_PATH": COLLECTIONS_PATH,
            "ANSIBLE_HOME": str(tmp_path / "home"),
            **strategy_env("mitogen"),
        },
        event_handler=keep,
        quiet=True,
    )
    assert result.rc == 0, result.stdout.read()
    cpus, parent = said
    assert "mitogen" in parent  # the task ran in Mitogen's interpreter, not in a process of its own
    assert int(cpus) == len(os.sched_getaffinity(0))  # Mitogen's own strategy would leave it one (on < 4 CPUs)
