"""Packaging validation: every bad input names the file, the key or line, what was expected, and a fix."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
import yaml
from conftest import EXAMPLE

from ansible_dokku_deploy.dokku import check_app_name
from ansible_dokku_deploy.errors import DeployError, PackagingError
from ansible_dokku_deploy.packaging import Packaging, source_key
from ansible_dokku_deploy.packaging.validate import schema, validate_tree
from ansible_dokku_deploy.packaging.vault import decrypt


def problems(root: Path) -> list[str]:
    with pytest.raises(PackagingError) as caught:
        validate_tree(root)
    return ["\n".join(p.lines()) for p in caught.value.problems]


def write_env(root: Path, text: str) -> Path:
    (root / "env.yml").write_text(text)
    return root


def test_the_example_app_is_valid_and_lists_its_features() -> None:
    packaging = validate_tree(EXAMPLE)
    assert packaging.features == ("config", "ports", "domains", "storage", "nginx", "tls", "monitoring", "steps")
    assert packaging.files == (
        "ansible/maintenance.yml",
        "env.yml",
        "nginx.conf.d/gzip.conf",
        "nginx.conf.d/headers.conf",
        "vault/secrets.yml",
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("port: 5000\n", "env.yml:1: (top level): missing key 'version'"),
        ("version: 2\n", "env.yml:1: version: expected 1, found the number 2"),
        ("version: 1\nprot: 5000\n", "env.yml:2: prot: unknown key\nDid you mean 'port'?"),
        ("version: 1\nport: web\n", 'env.yml:2: port: expected a whole number, found the string "web"'),
        ("version: 1\nport: 70000\n", "env.yml:2: port: 70000 is greater than the maximum of 65535"),
        ("version: 1\ndomains: example.com\n", "env.yml:2: domains: expected a list, found the string"),
        ("version: 1\ndomains: [a.example.com, 'b c']\n", 'env.yml:2: domains[1]: the string "b c" is not valid'),
        ("version: 1\ndomains: [a.example.com, a.example.com]\n", "env.yml:2: domains: the list has duplicates"),
        (
            "version: 1\ntls: acmee\n",
            "env.yml:2: tls: expected one of acme, none, found the string \"acmee\"\nDid you mean 'acme'?",
        ),
        ("version: 1\nenv:\n  1BAD: x\n", 'env.yml:3: env: the string "1BAD" is not a valid variable name'),
        (
            "version: 1\nenv:\n  A: [1]\n",
            "env.yml:3: env.A: expected a string or a whole number or a number or true or false",
        ),
        ("version: 1\ndatabase: {engine: oracle}\n", "env.yml:2: database.engine: expected one of postgres, mysql"),
        ("version: 1\nbackups: {keep: 3}\n", "env.yml:2: backups: missing key 'schedule'"),
        ("version: 1\nbackups: {schedule: daily}\n", 'backups.schedule: the string "daily" is not valid'),
        ("version: 1\nmonitoring: {healthcheck: health}\n", 'monitoring.healthcheck: the string "health" is not valid'),
        ("version: 1\nstorage: [{name: Up, path: /x}]\n", 'env.yml:2: storage[0].name: the string "Up" is not valid'),
        ("version: 1\nsteps: {pre-deploy: [../../etc/x.yml]}\n", "steps.pre-deploy[0]"),
        (
            "version: 1\nsteps: {pre-deploy: [ansible/missing.yml]}\n",
            "steps.pre-deploy: ansible/missing.yml is not in the repository",
        ),
        ("- version: 1\n", "env.yml: expected a mapping of keys (like `version: 1`), found a list"),
        ("version: 1\nport: [\n", "env.yml:3: is not valid YAML"),
        ("a: &x [1]\nb: *x\n", "env.yml:1: anchors and aliases (&, *) are not allowed"),
        (
            "version: !!python/object:os.system 1\n",
            "env.yml:1: tag tag:yaml.org,2002:python/object:os.system is not allowed",
        ),
        ("version: 1\nv: " + "[" * 30 + "]" * 30 + "\n", "nests deeper than 20 levels"),
    ],
)
def test_bad_env_yml_is_explained(tmp_path: Path, text: str, expected: str) -> None:
    found = "\n\n".join(problems(write_env(tmp_path, text)))
    assert expected in found
    assert "Traceback" not in found


def test_missing_env_yml_says_what_to_add(tmp_path: Path) -> None:
    (tmp_path / "nginx.conf.d").mkdir()
    assert problems(tmp_path)[0].startswith("env.yml: file not found\nEvery packaged app has an env.yml")


def test_non_utf8_env_yml_names_the_line(tmp_path: Path) -> None:
    (tmp_path / "env.yml").write_bytes(b"version: 1\nenv: {A: \xff}\n")
    assert problems(tmp_path) == ["env.yml: is not UTF-8 text (byte 20, line 2)"]


def test_oversized_files_are_refused(tmp_path: Path) -> None:
    write_env(tmp_path, "version: 1\n# " + "x" * 300_000 + "\n")
    assert "env.yml: is 300014 bytes; at most 262144 are allowed" in problems(tmp_path)[0]


def test_a_symlink_leaving_the_repository_is_refused(tmp_path: Path) -> None:
    write_env(tmp_path, "version: 1\n")
    (tmp_path / "nginx.conf.d").mkdir()
    (tmp_path / "nginx.conf.d" / "x.conf").symlink_to("/etc/passwd")
    assert problems(tmp_path) == [
        "nginx.conf.d/x.conf: is a symlink that leaves the repository\nCommit the file itself."
    ]


def test_a_symlinked_env_yml_outside_is_refused(tmp_path: Path) -> None:
    (tmp_path / "env.yml").symlink_to("/etc/hostname")
    assert "env.yml: is a symlink that leaves the repository" in problems(tmp_path)[0]


def test_special_files_and_odd_names_are_refused(tmp_path: Path) -> None:
    write_env(tmp_path, "version: 1\n")
    (tmp_path / "ansible").mkdir()
    os.mkfifo(tmp_path / "ansible" / "pipe.yml")
    (tmp_path / "ansible" / "bad\nname.yml").write_text("x")
    found = problems(tmp_path)
    assert any("ansible/pipe.yml: is not a regular file" in p for p in found)
    assert any("is not allowed" in p and "bad\\nname" in p for p in found)


def test_vault_files_must_be_encrypted(tmp_path: Path) -> None:
    write_env(tmp_path, "version: 1\n")
    (tmp_path / "vault").mkdir()
    (tmp_path / "vault" / "secrets.yml").write_text("PASSWORD: plain\n")
    assert problems(tmp_path) == [
        "vault/secrets.yml: is not encrypted\nEncrypt it: ansible-vault encrypt vault/secrets.yml"
    ]


def test_snippets_must_be_conf_files(tmp_path: Path) -> None:
    write_env(tmp_path, "version: 1\n")
    (tmp_path / "nginx.conf.d").mkdir()
    (tmp_path / "nginx.conf.d" / "README.md").write_text("x")
    assert problems(tmp_path)[0].startswith("nginx.conf.d/README.md: is not included by nginx")


def test_digest_changes_with_content_not_with_location(tmp_path: Path) -> None:
    one, two = tmp_path / "one", tmp_path / "two"
    for root in (one, two):
        root.mkdir()
        write_env(root, "version: 1\nport: 5000\n")
    assert validate_tree(one).digest == validate_tree(two).digest
    write_env(two, "version: 1\nport: 5001\n")
    assert validate_tree(one).digest != validate_tree(two).digest


ENVIRONMENTS = """version: 1
port: 5000
domains: [app.example.test]
env: {GREETING: base, WORKERS: 2}
environments:
  staging:
    domains: [staging.app.example.test]
    env: {GREETING: staging}
"""


def test_an_environment_merges_over_the_base(tmp_path: Path) -> None:
    write_env(tmp_path, ENVIRONMENTS)
    base = validate_tree(tmp_path).spec
    staging = validate_tree(tmp_path, environment="staging").spec
    assert base["domains"] == ["app.example.test"]
    assert staging["domains"] == ["staging.app.example.test"]
    assert staging["env"] == {"GREETING": "staging", "WORKERS": 2}, "mappings merge key by key"
    assert staging["port"] == 5000
    assert "environments" not in staging


def test_an_unknown_environment_is_named_with_the_defined_ones(tmp_path: Path) -> None:
    write_env(tmp_path, ENVIRONMENTS)
    with pytest.raises(PackagingError) as caught:
        validate_tree(tmp_path, environment="prod")
    assert "this app's environment 'prod' is not defined (defined: staging)" in caught.value.problems[0].message


def test_every_environment_is_validated(tmp_path: Path) -> None:
    write_env(tmp_path, ENVIRONMENTS + "  prod:\n    prot: 1\n    steps: {pre-deploy: [ansible/missing.yml]}\n")
    found = "\n".join(problems(tmp_path))
    assert "environments.prod.prot: unknown key" in found and "Did you mean 'port'?" in found


def test_vault_files_open_as_ansible_vault_opens_them(tmp_path: Path) -> None:
    """The plugin's own reader of ansible-vault files agrees with Ansible on a fresh file, and on a wrong password."""
    from ansible.parsing.vault import VaultLib, VaultSecret

    from ansible_dokku_deploy.packaging.vault import VaultError, open_vault

    plain = "KEY: välue with ünïcode\nOTHER: '2'\n".encode()
    sealed = VaultLib([("default", VaultSecret(b"pw"))]).encrypt(plain)
    assert open_vault(sealed, "pw") == plain
    example = (EXAMPLE / "vault" / "secrets.yml").read_bytes()
    assert open_vault(example, "hello-vault-demo") == VaultLib([("default", VaultSecret(b"hello-vault-demo"))]).decrypt(
        example
    )
    for data, password in ((sealed, "wrong"), (b"$ANSIBLE_VAULT;1.1;AES256\nzz\n", "pw"), (b"plain: text\n", "pw")):
        with pytest.raises(VaultError):
            open_vault(data, password)


def test_the_source_key_sees_every_entry_of_the_packaging_and_nothing_else(tmp_path: Path) -> None:
    tree = tmp_path / "app"
    shutil.copytree(EXAMPLE, tree)
    key = source_key(tree)
    (tree / "app.py").write_text("# not packaging\n")
    assert source_key(tree) == key
    changes = [
        (tree / "vault" / "empty").mkdir,
        lambda: (tree / "nginx.conf.d" / "link.conf").symlink_to("/etc/passwd"),
        lambda: (tree / "env.yml").write_bytes((tree / "env.yml").read_bytes() + b" "),
        lambda: (tree / "ansible").rename(tree / "ansible.moved"),
    ]
    seen = {key}
    for change in changes:
        change()
        seen.add(source_key(tree))
    assert len(seen) == len(changes) + 1, "each change makes a new key"


TEST_VAULT_PASSWORD = "unit-test-vault"  # the test's own


def vault_tree(root: Path, plain: str) -> Packaging:
    """A valid tree whose vault/secrets.yml decrypts to plain, with the test's password."""
    from ansible.parsing.vault import VaultLib, VaultSecret

    write_env(root, "version: 1\n")
    (root / "vault").mkdir()
    sealed = VaultLib([("default", VaultSecret(TEST_VAULT_PASSWORD.encode()))]).encrypt(plain.encode())
    (root / "vault" / "secrets.yml").write_bytes(sealed)
    return validate_tree(root)


def test_a_vault_value_too_short_to_be_masked_is_refused_with_file_and_key(tmp_path: Path) -> None:
    values, found = decrypt(vault_tree(tmp_path, "PIN: '123'\nTOKEN: long-enough\n"), TEST_VAULT_PASSWORD, "app")
    assert [line for p in found for line in p.lines()] == [
        "vault/secrets.yml: PIN: the value has fewer than 4 characters, too short to be masked in output",
        "Use a longer secret; a value that is no secret goes in env.yml's env.",
    ]
    assert values == {"TOKEN": "long-enough"}


def test_a_vault_name_with_a_line_break_is_refused(tmp_path: Path) -> None:
    values, found = decrypt(vault_tree(tmp_path, '"TOKEN\\n": long-enough\n'), TEST_VAULT_PASSWORD, "app")
    assert ["\n".join(p.lines()) for p in found] == [
        "vault/secrets.yml: must decrypt to a mapping of setting names (letters, digits, _) to values"
    ]
    assert values == {}


def test_vault_values_are_free_text_kept_byte_for_byte(tmp_path: Path) -> None:
    pem = "-----BEGIN KEY-----\nAAAA{{ x }}\n\x1b\u2028'\"\n-----END KEY-----\n"
    values, found = decrypt(vault_tree(tmp_path, yaml.safe_dump({"KEY": pem})), TEST_VAULT_PASSWORD, "app")
    assert (values, found) == ({"KEY": pem}, [])


def test_a_file_name_with_a_trailing_line_break_is_refused_and_shown_escaped(tmp_path: Path) -> None:
    write_env(tmp_path, "version: 1\n")
    (tmp_path / "nginx.conf.d").mkdir()
    (tmp_path / "nginx.conf.d" / "gzip.conf\n").write_text("gzip on;\n")
    [found] = problems(tmp_path)
    assert found.startswith("\"nginx.conf.d/gzip.conf\\n\": name 'gzip.conf\\n' is not allowed")


def test_an_app_name_with_a_trailing_line_break_is_refused() -> None:
    assert check_app_name("shop") == "shop"
    with pytest.raises(DeployError, match="is not a valid app name"):
        check_app_name("shop\n")


def test_every_schema_pattern_is_anchored_so_it_reads_alike_in_python_and_json_schema() -> None:
    """Validation matches a pattern whole (fullmatch), as JSON Schema's own regex dialect reads `^...$`; the two
    readings agree only for anchored patterns."""

    def patterns(node: object) -> list[str]:
        if isinstance(node, dict):
            own = [node["pattern"]] if isinstance(node.get("pattern"), str) else []
            return own + [p for value in node.values() for p in patterns(value)]
        return [p for value in node for p in patterns(value)] if isinstance(node, list) else []

    found = patterns(schema())
    assert len(found) >= 7
    assert [p for p in found if not (p.startswith("^") and p.endswith("$"))] == []
