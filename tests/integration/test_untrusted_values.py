"""A pushed value is data, never code: settings and vault secrets that look like Ansible templates reach the app
byte for byte, in every run (a deploy, `ansible-deploy:run --check`, the packager's own steps), and nothing they
name runs on the host."""

from __future__ import annotations

import itertools
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from ansible.constants import DEFAULT_VAULT_ID_MATCH
from ansible.parsing.vault import VaultLib, VaultSecret
from conftest import EXAMPLE, EXAMPLE_VAULT_PASSWORD, REPO, Sandbox, drop_sandbox, edit_env, new_sandbox, output
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

CASES = itertools.count()  # each generated case is a new app in the shared sandbox
# The markers Jinja reads, the quotes and escapes YAML, JSON and shells read, Dokku's ENV file's own quoting,
# whitespace, and text beyond ASCII (a unicode line separator, a right-to-left mark, an emoji).
HOSTILE = "{}%#'\"\\$`|;&<>()[]=:,!*?~ \t\nabcXYZ019_-.é中\u2028\u200f😀"
# Whole pieces a hostile value is made of, so that every case holds some: Jinja's markers and expressions, shell
# expansions, an ENV file's quoting.
PIECES = ("{{", "}}", "{%", "%}", "{#", "#}", "{{ 7 * 7 }}", "{% raw %}", "{{ lookup('env', 'HOME') }}", "$HOME",
          "${HOME}", "`id`", "$(id)", "'\\''", "export X=1", "\\n")  # fmt: skip
VALUE = st.lists(st.sampled_from(PIECES) | st.text(HOSTILE, max_size=6), max_size=8).map("".join)


def write_vault(src: Path, secrets: dict[str, str]) -> None:
    """vault/secrets.yml holding these secrets, encrypted as `ansible-vault encrypt` does with the example's
    password."""
    vault = VaultLib([(DEFAULT_VAULT_ID_MATCH, VaultSecret(EXAMPLE_VAULT_PASSWORD.encode()))])
    plain = yaml.safe_dump(secrets, allow_unicode=True).encode()
    (src / "vault" / "secrets.yml").write_bytes(vault.encrypt(plain))


def write_step(src: Path, canary: Path) -> None:
    """A packager's post-deploy step that writes the value it is given of GREETING into canary."""
    (src / "ansible" / "greeting.yml").write_text(
        "---\n- name: Keep the greeting\n  hosts: localhost\n  gather_facts: false\n  tasks:\n"
        "    - name: Write the greeting as the step sees it\n      ansible.builtin.copy:\n"
        f"        dest: {canary}\n        content: \"{{{{ ansible_deploy_env.GREETING }}}}\"\n        mode: '0644'\n"
    )
    spec = yaml.safe_load((src / "env.yml").read_text())
    edit_env(src, steps={**spec["steps"], "post-deploy": [*spec["steps"]["post-deploy"], "ansible/greeting.yml"]})


def test_templates_in_settings_and_secrets_are_stored_literally_and_run_nothing(
    sandbox: Sandbox, app_src: Path
) -> None:
    witness = sandbox.root / "witness"
    witness.mkdir()
    witness.chmod(0o777)  # where the dokku user could write, had a template run
    fixture = REPO / "tests" / "fixtures" / "hostile" / "template-values"
    env = yaml.safe_load((fixture / "env.yml").read_text().replace("WITNESS", str(witness)))["env"]
    secrets = yaml.safe_load((fixture / "vault" / "secrets.yml").read_text().replace("WITNESS", str(witness)))
    edit_env(app_src, env=env)
    write_vault(app_src, secrets)
    seen = witness / "seen-by-step"
    write_step(app_src, seen)
    result = sandbox.push("hello", app_src)
    assert result.returncode == 0, output(result)
    check = sandbox.dokku("ansible-deploy:run", "hello", "--check")
    assert check.returncode == 0, output(check)
    wanted = {**{k: str(v) for k, v in env.items()}, **secrets}
    config = sandbox.config("hello")
    assert {k: config[k] for k in wanted} == wanted
    assert all(sandbox.get("hello", f"/env/{k}")["setting"] == v for k, v in wanted.items())
    assert seen.read_text() == env["GREETING"]  # the packager's step gets the same data
    assert sorted(p.name for p in witness.iterdir()) == ["seen-by-step"]  # and nothing ran


@pytest.fixture(scope="module")
def shared() -> Iterator[Sandbox]:
    """One sandbox for every generated case: each case is an app of its own."""
    box = new_sandbox()
    yield box
    drop_sandbox(box)


@hypothesis_settings(max_examples=4)
@given(
    values=st.lists(VALUE, min_size=6, max_size=6),
    secret_values=st.lists(VALUE.filter(lambda v: len(v) >= 8), min_size=3, max_size=3),
)
def test_every_accepted_value_reaches_the_app_byte_for_byte(
    shared: Sandbox, values: list[str], secret_values: list[str]
) -> None:
    """A push of the example per generated case, as a new app, its settings and vault secrets drawn from HOSTILE."""
    app = f"case-{next(CASES)}"
    src = Path(tempfile.mkdtemp(prefix=f"{app}-")) / app
    shutil.copytree(EXAMPLE, src)
    env = {f"V{i}": v for i, v in enumerate(values)}
    secrets = {f"S{i}": v for i, v in enumerate(secret_values)}
    edit_env(src, env=env, domains=[f"{app}.example.test"])
    write_vault(src, secrets)
    try:
        result = shared.push(app, src)
        assert result.returncode == 0, output(result)
        config = shared.config(app)
        wanted = {**env, **secrets}
        assert {k: config[k] for k in wanted} == wanted
        assert all(shared.get(app, f"/env/{k}")["setting"] == v for k, v in wanted.items())
    finally:
        shutil.rmtree(src.parent)
