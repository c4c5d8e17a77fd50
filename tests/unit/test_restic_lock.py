"""The plugin's own lock of a backup repository: restic runs that restic would refuse at once ("already locked")
wait for each other instead."""

from __future__ import annotations

import fcntl
from pathlib import Path

import pytest

from ansible_dokku_deploy.restic import Repository, ResticError


def _repository(tmp_path: Path) -> Repository:
    return Repository(
        location="s3:http://127.0.0.1:1/b", password_file=tmp_path / "p", cache_dir=tmp_path / "cache", timeout=1
    )


def test_a_prune_waits_for_a_backup_and_gives_up_after_the_timeout_in_plain_words(tmp_path: Path) -> None:
    repo = _repository(tmp_path)
    with repo._locked("backup"), repo._locked("snapshots"):  # shared: backups and listings run side by side
        with pytest.raises(ResticError) as waited, repo._locked("forget"):
            pass
        assert "another backup, restore or drill on this server held the backup repository for 1 s" in str(waited.value)
    with repo._locked("forget"):  # free again
        pass


def test_the_backups_role_holds_the_same_lock_shared(tmp_path: Path) -> None:
    repo = _repository(tmp_path)
    assert repo.role_inputs()["restic_lock"] == str(repo.lock_file)
    assert _repository(tmp_path).lock_file == repo.lock_file
    other = Repository(location="/srv/restic", password_file=tmp_path / "p", cache_dir=tmp_path / "cache")
    assert other.lock_file != repo.lock_file, "one lock per repository"
    with repo.lock_file.open("a") as held:  # as flock --shared in the role's pipelines
        fcntl.flock(held, fcntl.LOCK_SH)
        with pytest.raises(ResticError), repo._locked("check"):
            pass
