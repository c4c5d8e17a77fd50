"""The README's "Try it here" section, run as printed on a copy of the working tree (what `git clone` gives)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from conftest import REPO, working_tree_copy

SUITE = "make test"  # the command that runs this test: CI runs it, the test cannot run itself
# `make test-fast` is `make test`'s first half (the linters) and a part of its second (the unit tests): the suite runs
# both already, so the test checks that the target is those commands rather than running them a second time.
FAST = "make test-fast"


def try_it_here() -> list[str]:
    """Every command of the section's sh blocks, in order; a line that starts with `#` continues a comment."""
    readme = (REPO / "README.md").read_text()
    section = readme.split("\n## Try it here", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```sh\n(.*?)```", section, flags=re.DOTALL)
    return [
        line for block in blocks for line in block.splitlines() if line.strip() and not line.lstrip().startswith("#")
    ]


def test_the_section_shows_the_commands_a_newcomer_needs() -> None:
    words = [line.split("#", 1)[0].strip() for line in try_it_here()]
    assert words[:3] == ["make demo", SUITE, "make test-fast"]
    assert any(w.startswith("scripts/sandbox push ") for w in words)


def _recipe(clone: Path, target: str) -> list[str]:
    """The commands `make TARGET` runs once set up (what `make -n` prints after the venv is there)."""
    alone = {k: v for k, v in os.environ.items() if k not in {"MAKEFLAGS", "MFLAGS", "MAKELEVEL"}}  # not make test's
    said = subprocess.run(["make", "--no-print-directory", "-n", target], cwd=clone, env=alone,
                          capture_output=True, text=True, check=True).stdout  # fmt: skip
    return [line for line in said.splitlines() if line and "install-system-packages" not in line]


@pytest.mark.slow
def test_every_command_of_try_it_here_works_as_printed() -> None:
    home = Path(tempfile.mkdtemp(prefix="ansible-deploy-readme-"))
    home.chmod(0o755)  # the dokku user runs the clone's hooks and venv
    clone = working_tree_copy(home / "clone")
    try:
        for line in try_it_here():
            command = line.split("#", 1)[0].strip()
            if command == SUITE:
                continue
            if command == FAST:
                assert _recipe(clone, "test-fast") == [*_recipe(clone, "lint"), ".venv/bin/pytest tests/unit"]
                continue
            result = subprocess.run(["bash", "-c", line], cwd=clone, capture_output=True, text=True,
                                    check=False, timeout=1200)  # fmt: skip
            said = result.stdout[-3000:] + result.stderr[-3000:]
            assert result.returncode == 0, f"{line}\n{said}"
            assert "Traceback" not in result.stdout + result.stderr, f"{line}\n{said}"
    finally:
        for sandbox in clone.glob(".sandbox*"):
            subprocess.run([sys.executable, str(REPO / "scripts" / "sandbox"), "down", str(sandbox)], check=False)
        shutil.rmtree(home, ignore_errors=True)
