"""Each dokku_deploy.dokku module: check mode changes nothing, apply changes, a second apply changes nothing; and
the collection's strategy."""

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
from ansible_dokku_deploy.runner import strategy_env


def ansible(
    private: Path, events: Callable[[dict[str, Any]], bool], env: dict[str, str], *, bin_first: str = "", **what: str
) -> Any:
    """One ansible-runner run on localhost as the plugin's runs are made (its collections, this venv's Python):
    a module (module=, module_args=) or a playbook (playbook=, in private/project); bin_first: a folder of
    programs found before the venv's (the sandbox's `dokku`)."""
    import ansible_runner

    return ansible_runner.run(
        private_data_dir=str(private),
        inventory={
            "all": {
                "hosts": {"localhost": {"ansible_connection": "local", "ansible_python_interpreter": sys.executable}}
            }
        },
        envvars={
            "PATH": ":".join(filter(None, [bin_first, str(Path(sys.executable).parent), os.environ["PATH"]])),
            "ANSIBLE_COLLECTIONS_PATH": COLLECTIONS_PATH,
            "ANSIBLE_HOME": str(private / "home"),
            **env,
        },
        event_handler=events,
        quiet=True,
        **what,
    )


def module(sandbox: Sandbox, name: str, args: dict[str, Any], *, check: bool = False) -> dict[str, Any]:
    """Run one module on localhost through ansible-runner (as the plugin does) and return its result."""
    results: list[dict[str, Any]] = []

    def keep(event: dict[str, Any]) -> bool:
        if event.get("event") in ("runner_on_ok", "runner_on_failed"):
            results.append({**event["event_data"]["res"], "event": event["event"]})
        return True

    private = sandbox.root / "runner" / name
    private.mkdir(parents=True, exist_ok=True)
    ansible(
        private,
        keep,
        {},
        bin_first=str(sandbox.root / "bin"),
        host_pattern="localhost",
        module=f"dokku_deploy.dokku.{name}",
        module_args=json.dumps(args),
        cmdline="--check --diff" if check else "--diff",
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
    ("storage", {"app": "demo", "mounts": [{"entry": "demo-data", "path": "/data"}], "owned": ["demo-data"]},
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


def test_storage_never_stacks_a_mount_on_a_path_and_changes_an_owner_in_place(sandbox: Sandbox) -> None:
    """Docker refuses two mounts on one path: a mount that is not the app's on a wanted path fails the module,
    nothing changed; an owner changes with storage:set, which keeps the rest of the entry."""
    sandbox.ok("apps:create", "demo")
    sandbox.ok("storage:create", "theirs")
    sandbox.ok("storage:mount", "demo", "theirs", "--container-dir", "/data")
    args = {"app": "demo", "mounts": [{"entry": "demo-data", "path": "/data"}], "owned": ["demo-data"]}
    refused = module(sandbox, "storage", args)
    assert refused["event"] == "runner_on_failed"
    assert "theirs is mounted on /data, where demo-data is wanted, and is not demo's" in refused["msg"]
    assert [e["name"] for e in json.loads(sandbox.ok("storage:list-entries", "--format", "json"))] == ["theirs"]
    sandbox.ok("storage:unmount", "demo", "theirs", "--container-dir", "/data")
    sandbox.ok("storage:create", "demo-data", "--mode", "750")
    applied = module(sandbox, "storage", {**args, "chown": "heroku"})
    assert ["dokku", "storage:set", "demo-data", "chown", "heroku"] in applied["commands"]
    entry = json.loads(sandbox.ok("storage:info", "demo-data", "--format", "json"))
    assert (entry["chown"], entry["mode"]) == ("heroku", "0750")


def test_a_port_mapping_with_a_trailing_line_break_is_refused(sandbox: Sandbox) -> None:
    sandbox.ok("apps:create", "demo")
    result = module(sandbox, "ports", {"app": "demo", "mappings": ["http:80:5000\n"]})
    assert result["event"] == "runner_on_failed"
    assert "mappings must be scheme:host-port:container-port entries" in result["msg"]


def _certificate(folder: Path, name: str) -> tuple[Path, Path]:
    """A self-signed certificate and its key, as files (what the tls role hands the certs module)."""
    import datetime as dt

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "demo.example.test")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder().subject_name(subject).issuer_name(subject).public_key(key.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(now).not_valid_after(now + dt.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )  # fmt: skip
    crt, pem = folder / f"{name}.crt", folder / f"{name}.key"
    crt.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    pem.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return crt, pem


def test_certs_installs_a_certificate_once_and_again_only_when_it_changes(sandbox: Sandbox) -> None:
    sandbox.ok("apps:create", "demo")
    sandbox.ok("ports:set", "demo", "http:80:5000")
    crt, key = _certificate(sandbox.root, "first")
    args = {"app": "demo", "cert": str(crt), "key": str(key)}
    installed = sandbox.home / "demo" / "tls" / "server.crt"

    checked = module(sandbox, "certs", args, check=True)
    assert checked["changed"] is True and not installed.exists(), "check mode installs nothing"
    applied = module(sandbox, "certs", args)
    assert applied["changed"] is True and installed.read_bytes() == crt.read_bytes()
    assert [c[1] for c in applied["commands"]] == ["certs:report", "certs:add"]
    assert "https:443:5000" in sandbox.ok("ports:report", "demo", "--ports-map"), "certs:add maps https as Dokku's"
    again = module(sandbox, "certs", args)
    assert again["changed"] is False and [c[1] for c in again["commands"]] == ["certs:report"]

    crt2, key2 = _certificate(sandbox.root, "renewed")
    renewed = module(sandbox, "certs", {"app": "demo", "cert": str(crt2), "key": str(key2)})
    assert renewed["changed"] is True and installed.read_bytes() == crt2.read_bytes()
    missing = module(sandbox, "certs", {"app": "demo", "cert": str(sandbox.root / "none.crt"), "key": str(key2)})
    assert missing["event"] == "runner_on_failed" and "does not exist" in missing["msg"]


def test_service_creates_and_links_a_real_postgres_service_once_and_destroys_it(sandbox: Sandbox) -> None:
    import services  # scripts/services.py: the real PostgreSQL the double's postgres:* services live on

    facts = services.start_postgres(sandbox.root / "postgres")
    try:
        services.double_backing(sandbox.root, "postgres", facts)
        sandbox.ok("apps:create", "demo")
        args = {"engine": "postgres", "name": "demo_db", "app": "demo"}
        exists = lambda: sandbox.dokku("postgres:exists", "demo_db").returncode == 0  # noqa: E731

        checked = module(sandbox, "service", args, check=True)
        assert checked["changed"] is True and not exists(), "check mode creates nothing"
        applied = module(sandbox, "service", args)
        assert applied["changed"] is True and exists()
        assert sandbox.config("demo")["DATABASE_URL"].startswith("postgres://")
        again = module(sandbox, "service", args)
        assert again["changed"] is False
        assert [c[1] for c in again["commands"]] == ["postgres:exists", "postgres:linked"], "a second run only reads"

        gone = module(sandbox, "service", {**args, "state": "absent"})
        assert gone["changed"] is True and not exists()
        assert "DATABASE_URL" not in sandbox.config("demo")
        assert module(sandbox, "service", {**args, "state": "absent"})["changed"] is False
    finally:
        services.stop(int(facts["pid"]))


STRATEGY_PLAYBOOK = """\
- hosts: localhost
  gather_facts: false
  tasks:
    - name: Say the CPUs this task's programs may use, and who started them
      ansible.builtin.shell: nproc; tr '\\0' ' ' < /proc/$PPID/cmdline
      changed_when: false
"""


def test_the_collections_mitogen_strategy_pins_no_cpu(tmp_path: Path) -> None:
    """The plugin's `mitogen` strategy: a task runs in Mitogen's interpreter, and the programs it starts may use
    every CPU (with Mitogen's own mitogen_linear they get one, on a machine with fewer than four)."""
    (tmp_path / "project").mkdir()
    (tmp_path / "project" / "cpus.yml").write_text(STRATEGY_PLAYBOOK)
    said: list[str] = []

    def keep(event: dict[str, Any]) -> bool:
        if event.get("event") == "runner_on_ok":
            said.extend(str(event["event_data"]["res"]["stdout"]).splitlines())
        return True

    result = ansible(tmp_path, keep, strategy_env("mitogen"), playbook="cpus.yml")
    assert result.rc == 0, result.stdout.read()
    cpus, parent = said
    assert "mitogen" in parent  # not a process of its own, as linear would start
    assert int(cpus) == len(os.sched_getaffinity(0))
