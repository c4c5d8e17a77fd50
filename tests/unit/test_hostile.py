"""The hostile and broken inputs under tests/fixtures/hostile: each is refused with its own clear error, no traceback.

Each case is a packaging folder and an EXPECT file holding a line the error must contain.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import REPO

from ansible_dokku_deploy.errors import PackagingError
from ansible_dokku_deploy.packaging.validate import validate_tree

CORPUS = REPO / "tests" / "fixtures" / "hostile"
CASES = sorted(p.name for p in CORPUS.iterdir() if (p / "EXPECT").exists())


def test_the_corpus_is_there() -> None:
    assert len(CASES) >= 20


@pytest.mark.parametrize("case", CASES)
def test_hostile_input_is_refused_clearly(case: str, tmp_path: Path) -> None:
    root = tmp_path / case
    shutil.copytree(CORPUS / case, root, symlinks=True, ignore=shutil.ignore_patterns("EXPECT"))
    with pytest.raises(PackagingError) as caught:
        validate_tree(root)
    text = "\n".join(line for problem in caught.value.problems for line in problem.lines())
    assert (CORPUS / case / "EXPECT").read_text().strip() in text
    assert "Traceback" not in text


DEEP = 60_000  # levels of `[`: 120 KB, under env.yml's size limit, far past what libyaml's composer survives
VAULT_PASSWORD = "hostile-vault-test"  # the test's own

# Run in a child: a crash of the interpreter shows as a failure of this test, not as a dead test process.
_VALIDATE_IN_A_CHILD = """
import sys
from pathlib import Path
from ansible_dokku_deploy.errors import PackagingError
from ansible_dokku_deploy.packaging.validate import validate_tree
from ansible_dokku_deploy.packaging.vault import decrypt
try:
    problems = decrypt(validate_tree(Path(sys.argv[1])), sys.argv[2], "hostile")[1]
except PackagingError as exc:
    problems = exc.problems
print("\\n".join(line for problem in problems for line in problem.lines()))
"""


def _refusal_in_a_child(root: Path) -> str:
    child = subprocess.run(
        [sys.executable, "-c", _VALIDATE_IN_A_CHILD, str(root), VAULT_PASSWORD],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
    )
    assert child.returncode == 0, f"the validation died (exit {child.returncode}): {child.stderr[-2000:]}"
    return child.stdout


def test_env_yml_nested_60000_deep_is_refused_not_a_crash(tmp_path: Path) -> None:
    (tmp_path / "env.yml").write_text("version: 1\nenv: " + "[" * DEEP + "]" * DEEP + "\n")
    assert "env.yml:2: nests deeper than 20 levels" in _refusal_in_a_child(tmp_path)


def test_vault_file_nested_60000_deep_is_refused_once_decrypted_not_a_crash(tmp_path: Path) -> None:
    from ansible.parsing.vault import VaultLib, VaultSecret

    (tmp_path / "env.yml").write_text("version: 1\n")
    (tmp_path / "vault").mkdir()
    deep = ("SECRET: " + "[" * DEEP + "]" * DEEP + "\n").encode()
    sealed = VaultLib([("default", VaultSecret(VAULT_PASSWORD.encode()))]).encrypt(deep)
    (tmp_path / "vault" / "secrets.yml").write_bytes(sealed)
    assert "vault/secrets.yml:1: nests deeper than 20 levels once decrypted" in _refusal_in_a_child(tmp_path)
