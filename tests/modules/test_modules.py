"""Each dokku_deploy.dokku module: check mode changes nothing, apply changes, a second apply changes nothing."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from conftest import Sandbox

from ansible_dokku_deploy import COLLECTIONS_PATH


def module(sandbox: Sandbox, name: str, args: dict[str, Any], *, check: bool = False) -> dict[str, Any]:
    """Run one module on localhost through ansible-runner (as the plugin does) and return its result."""
    import ansible_runner

    venv_bin = Path(sys.executable).parent
    results: list[dict[str, Any]] = []

    def keep(event: dict[str, Any]) -> bool:
        if event.get("event") in ("runner_on_ok", "runner_on_failed"):
            results.append({**event["event_data"]["res"], "event": event["event"]})
        return True

    private = sandbox.root / "runner" / name
    private.mkdir(parents=True, exist_ok=True)
    ansible_runner.run(
        private_data_dir=str(private),
        host_pattern="localhost",
        module=f"dokku_deploy.dokku.{name}",
        module_args=json.dumps(args),
        inventory={
            "all": {
                "hosts": {"localhost": {"ansible_connection": "local", "ansible_python_interpreter": sys.executable}}
            }
        },
        envvars={
            "PATH": f"{sandbox.root / 'bin'}:{venv_bin}:{os.environ['PATH']}",
            "ANSIBLE_COLLECTIONS_PATH": COLLECTIONS_PATH,
            "ANSIBLE_HOME": str(private / "home"),
        },
        cmdline="--check --diff" if check else "--diff",
        event_handler=keep,
        quiet=True,
    )
    assert len(results) == 1, results
    return results[0]


CASES: list[tuple[str, dict[str, Any], Callable[[Sandbox], object]]] = [
    ("config", {"app": "demo", "values": {"A": "1", "B": "two words"}, "unset": ["OLD"]},
     lambda s: {k: v for k, v in s.config("demo").items() if k in ("A", "B", "OLD")}),
    ("ports", {"app": "demo", "mappings": ["http:80:5000", "https:443:5000"]},
     lambda s: s.ok("ports:report", "demo", "--ports-map").split()),
    ("domains", {"app": "demo", "domains": ["a.example.test", "b.example.test"]},
     lambda s: s.ok("domains:report", "demo", "--domains-app-vhosts").split()),
    ("storage", {"app": "demo", "mounts": [{"entry": "demo-data", "path": "/data"}], "entry_prefix": "demo-"},
     lambda s: json.loads(s.ok("storage:list", "demo", "--format", "json"))),
    ("docker_options", {"app": "demo", "options": ["-p 2222:22", '--label "forge=yes please"'], "phases": ["deploy", "run"]},
     lambda s: [s.ok("docker-options:report", "demo", f"--docker-options-{p}") for p in ("deploy", "run")]),
    ("checks", {"app": "demo", "zero_downtime": False},
     lambda s: s.ok("checks:report", "demo", "--checks-disabled-list")),
]  # fmt: skip


@pytest.mark.parametrize(("name", "args", "read"), CASES, ids=[c[0] for c in CASES])
def test_check_then_apply_then_apply_again(sandbox: Sandbox, name: str, args: dict[str, Any], read) -> None:
    sandbox.ok("apps:create", "demo")
    sandbox.ok("config:set", "--no-restart", "demo", "OLD=x")
    before = read(sandbox)

    checked = module(sandbox, name, args, check=True)
    assert checked["changed"] is True, checked
    assert checked["commands"], "check mode reports the commands it would run"
    assert read(sandbox) == before, "check mode changed nothing"

    applied = module(sandbox, name, args)
    assert applied["changed"] is True, applied
    assert applied["diff"]["before"] != applied["diff"]["after"]
    assert read(sandbox) != before

    again = module(sandbox, name, args)
    assert again["changed"] is False, again
    writes = [c for c in again["commands"] if c[1].split(":")[1] not in ("export", "report", "list", "list-entries")]
    assert writes == [], "a second run only reads"


def test_config_writes_once_and_hides_secret_values(sandbox: Sandbox) -> None:
    sandbox.ok("apps:create", "demo")
    result = module(
        sandbox, "config", {"app": "demo", "values": {"A": "1"}, "secret_values": {"TOKEN": "canary-s3cret"}}
    )
    assert [c[1] for c in result["commands"]] == ["config:export", "config:import"]
    assert "canary-s3cret" not in json.dumps(result)
    assert sandbox.config("demo")["TOKEN"] == "canary-s3cret"


def test_a_failing_dokku_command_fails_the_module_with_dokkus_message(sandbox: Sandbox) -> None:
    result = module(sandbox, "ports", {"app": "missing", "mappings": ["http:80:5000"]})
    assert result["event"] == "runner_on_failed"
    assert "App missing does not exist" in result["msg"]
    assert result.get("changed") is not True
