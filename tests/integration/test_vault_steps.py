"""Vault secrets reach the app and never show; custom steps run only when the admin allows them."""

from __future__ import annotations

import shutil
import socket
from pathlib import Path

import services
from conftest import EXAMPLE_SECRET_KEY, REPO, Sandbox, dokku_secret_stores, edit_env, files_holding, output

EXAMPLES = REPO / "examples"

SECRET = EXAMPLE_SECRET_KEY


def test_vault_secrets_reach_the_app_and_never_show(sandbox: Sandbox, app_src: Path, started: float) -> None:
    seen = [sandbox.push("hello", app_src)]
    assert seen[0].returncode == 0, output(seen[0])
    assert sandbox.config("hello")["SECRET_KEY"] == SECRET
    sandbox.ok("config:set", "--no-restart", "hello", "SECRET_KEY=drifted")
    seen.append(sandbox.dokku("ansible-deploy:run", "hello", "--check"))
    assert "********" in output(seen[-1])
    commands = [
        ("ansible-deploy:report", "hello"),
        ("ansible-deploy:history", "hello"),
        ("ansible-deploy:logs", "hello"),
        ("ansible-deploy:report", "hello", "--format", "json"),
        ("report", "hello"),
    ]
    seen.extend(sandbox.dokku(*command) for command in commands)
    seen.append(sandbox.dokku("ansible-deploy:run", "hello"))
    assert sandbox.config("hello")["SECRET_KEY"] == SECRET
    assert all(SECRET not in output(result) for result in seen)
    allowed = dokku_secret_stores(sandbox, "hello")  # Dokku's own 0600 stores of the app's settings
    assert files_holding(SECRET, sandbox, started, allowed) == []


def test_a_wrong_vault_password_rejects_the_push_and_names_the_file(sandbox: Sandbox, app_src: Path) -> None:
    assert sandbox.push("hello", app_src).returncode == 0
    staged = sandbox.staged("hello")
    sandbox.dokku("ansible-deploy:vault-password", "hello", input="not-the-password")
    result = sandbox.push("hello", app_src)
    assert result.returncode != 0
    text = output(result)
    assert "vault/secrets.yml: the vault password set for hello does not decrypt it" in text
    assert "Traceback" not in text and "not-the-password" not in text
    assert sandbox.staged("hello") == staged


def test_a_missing_vault_password_says_how_to_set_it(sandbox: Sandbox, app_src: Path) -> None:
    sandbox.ok("apps:create", "hello")
    sandbox.ok("ansible-deploy:set", "hello", "allow-custom-steps", "true")
    result = sandbox.push("hello", app_src)
    assert result.returncode != 0
    assert "vault/secrets.yml: is encrypted, but no vault password is set for hello" in output(result)
    assert "dokku ansible-deploy:vault-password hello < password-file" in output(result)


def test_vault_password_is_never_taken_from_the_command_line(sandbox: Sandbox) -> None:
    sandbox.ok("apps:create", "hello")
    refused = sandbox.dokku("ansible-deploy:set", "hello", "vault-password", "on-the-command-line")
    assert refused.returncode == 1 and "never taken as a command-line value" in refused.stderr
    stored = sandbox.lib / "data" / "ansible" / ".settings" / "hello" / "vault-password"
    sandbox.dokku("ansible-deploy:vault-password", "hello", input="from-stdin\n")
    assert stored.read_text() == "from-stdin" and stored.stat().st_mode & 0o777 == 0o600
    assert sandbox.ok("ansible-deploy:report", "hello", "--ansible-deploy-vault-password").strip() == "********"


def test_custom_steps_need_the_admins_consent(sandbox: Sandbox, app_src: Path) -> None:
    sandbox.ok("apps:create", "hello")
    sandbox.dokku("ansible-deploy:vault-password", "hello", input="hello-vault-demo")
    result = sandbox.push("hello", app_src)
    assert result.returncode != 0
    text = output(result)
    assert "env.yml: steps: custom steps run on the host, and are not allowed for hello" in text
    assert "dokku ansible-deploy:set hello allow-custom-steps true" in text
    assert not (sandbox.home / "hello" / "maintenance.html").exists()


def test_custom_steps_run_after_the_roles_with_their_variables(sandbox: Sandbox, app_src: Path) -> None:
    (app_src / "ansible" / "scratch.yml").write_text(
        "---\n- name: A step that leaves a temporary file\n  hosts: localhost\n  gather_facts: false\n"
        "  tasks:\n    - name: Make one\n"
        "      ansible.builtin.shell: mktemp > {{ ansible_deploy_app_dir | quote }}/scratch-path\n"
        "      changed_when: false\n"
    )
    edit_env(app_src, steps={"post-deploy": ["ansible/maintenance.yml", "ansible/scratch.yml"]})
    result = sandbox.push("hello", app_src)
    assert result.returncode == 0, output(result)
    text = output(result)
    assert text.index("post-deploy for hello: ") < text.index("Ensure the maintenance page exists")
    page = sandbox.home / "hello" / "maintenance.html"
    assert page.read_text() == "<h1>hello is down for maintenance</h1>\n"
    runs = (sandbox.data_dir("hello") / "runs").glob("*.json")
    assert any("ansible/maintenance.yml" in p.read_text() for p in runs), "the run record names the step"
    left = Path((sandbox.home / "hello" / "scratch-path").read_text().strip())
    assert left.parent.name.startswith("ansible-deploy-run-"), "a step's TMPDIR is the run's own"
    assert not left.parent.exists(), "and goes with the run"


def test_on_failure_steps_run_when_a_phase_fails(sandbox: Sandbox, app_src: Path) -> None:
    (app_src / "ansible" / "broken.yml").write_text(
        "---\n- name: Break\n  hosts: localhost\n  gather_facts: false\n  tasks:\n"
        "    - name: Fail on purpose\n      ansible.builtin.fail:\n        msg: the packager's step failed\n"
    )
    (app_src / "ansible" / "alert.yml").write_text(
        "---\n- name: Tell someone\n  hosts: localhost\n  gather_facts: false\n  tasks:\n"
        "    - name: Leave a note\n      ansible.builtin.copy:\n"
        '        dest: "{{ ansible_deploy_app_dir }}/FAILED"\n        content: "{{ ansible_deploy_phase }}\\n"\n        mode: "0644"\n'
    )
    edit_env(app_src, steps={"post-deploy": ["ansible/broken.yml"], "on-failure": ["ansible/alert.yml"]})
    result = sandbox.push("hello", app_src)
    assert result.returncode != 0
    text = output(result)
    assert "post-deploy failed at task 'Fail on purpose': the packager's step failed" in text
    assert "running the on-failure steps" in text
    assert (sandbox.home / "hello" / "FAILED").read_text() == "post-deploy\n"
    assert "on-failure" in sandbox.ok("ansible-deploy:history", "hello")


def _ssh_banner(port: int) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as conn:
        return conn.recv(64)


def test_a_custom_step_passes_the_hosts_ssh_port_to_a_gitea_style_app(sandbox: Sandbox, tmp_path: Path) -> None:
    src = tmp_path / "forge"
    shutil.copytree(EXAMPLES / "forge", src)
    listen, published = services.free_port(), services.free_port()
    edit_env(src, env={"SSH_DOMAIN": "forge.example.test", "SSH_LISTEN_PORT": listen, "SSH_PORT": published})
    first = sandbox.push("forge", src)
    assert first.returncode == 0, output(first)
    option = f"-p {published}:{listen}"
    assert sandbox.ok("docker-options:report", "forge", "--docker-options-deploy").strip() == option
    assert _ssh_banner(published) == b"SSH-2.0-forge\r\n"  # the host port reaches the app's SSH server
    assert sandbox.get("forge")["clone_url_prefix"] == f"ssh://git@forge.example.test:{published}/"
    assert "ansible/ssh-passthrough.yml" in sandbox.ok("ansible-deploy:report", "forge", "--ansible-deploy-steps-ran")

    sandbox.ok("ansible-deploy:run", "forge")
    assert sandbox.ok("ansible-deploy:report", "forge", "--ansible-deploy-last-run-changed").strip() == "0"
    again = sandbox.push("forge", src)  # a redeploy: the option is not added twice, the port follows the new container
    assert again.returncode == 0, output(again)
    assert sandbox.ok("docker-options:report", "forge", "--docker-options-deploy").strip() == option
    assert _ssh_banner(published) == b"SSH-2.0-forge\r\n"
