"""The hostile and broken inputs under tests/fixtures/hostile: each is refused with its own clear error, no traceback.

Each case is a packaging folder and an EXPECT file holding a line the error must contain.
"""

from __future__ import annotations

import shutil
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
