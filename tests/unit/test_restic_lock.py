"""The plugin's own lock of a backup repository: restic runs that restic would refuse at once ("already locked")
wait for each other instead."""

from __future__ import annotations

import fcntl
from concurrent.futures import ThreadPoolExecutor
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


def test_runs_that_find_no_repository_at_once_make_one_that_every_run_opens(tmp_path: Path) -> None:
    """Apps deployed or backed up together each find no repository: one init, not one per run (each writing a
    config of its own over the others', which leaves a repository no key opens)."""
    (tmp_path / "p").write_text("a password for the test")

    def first_use(_: int) -> None:
        Repository(location=str(tmp_path / "repo"), password_file=tmp_path / "p", cache_dir=tmp_path / "c").ensure()

    with ThreadPoolExecutor(max_workers=3) as pool:
        list(pool.map(first_use, range(3)))
    assert len(list((tmp_path / "repo" / "keys").iterdir())) == 1
    Repository(location=str(tmp_path / "repo"), password_file=tmp_path / "p", cache_dir=tmp_path / "c").check()
