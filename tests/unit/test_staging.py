"""Staging: releases built beside the current one, swapped atomically, previous kept, private permissions."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from conftest import EXAMPLE

from ansible_dokku_deploy.packaging.validate import validate_tree
from ansible_dokku_deploy.staging import Staging


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_stage_copies_only_packaging_files_with_private_modes(tmp_path: Path) -> None:
    staging = Staging(tmp_path / "app")
    release = staging.stage(validate_tree(EXAMPLE), "abc123", keep=5)
    files = sorted(p.relative_to(release.path).as_posix() for p in release.path.rglob("*") if p.is_file())
    assert files == [
        ".release.json",
        "ansible/maintenance.yml",
        "env.yml",
        "nginx.conf.d/gzip.conf",
        "nginx.conf.d/headers.conf",
        "vault/secrets.yml",
    ]
    assert all(mode(p) == 0o600 for p in release.path.rglob("*") if p.is_file())
    assert all(mode(p) == 0o700 for p in [release.path, *release.path.rglob("*")] if p.is_dir())
    assert staging.current() == release
    assert staging.previous() is None


def test_restaging_the_same_content_and_rev_is_a_no_op(tmp_path: Path) -> None:
    staging = Staging(tmp_path / "app")
    first = staging.stage(validate_tree(EXAMPLE), "abc", keep=5)
    assert staging.stage(validate_tree(EXAMPLE), "abc", keep=5) == first


def test_a_new_release_keeps_the_previous_one_and_prunes_old_ones(tmp_path: Path) -> None:
    staging = Staging(tmp_path / "app")
    packaging = validate_tree(EXAMPLE)
    ids = [staging.stage(packaging, f"rev{i}", keep=3).id for i in range(5)]
    assert staging.current().id == ids[-1]
    assert staging.previous().id == ids[-2]
    kept = sorted(p.name for p in staging.releases_dir.iterdir())
    assert kept == sorted(ids[-3:])


def test_a_leftover_of_a_killed_staging_is_cleaned_and_never_staged(tmp_path: Path) -> None:
    staging = Staging(tmp_path / "app")
    first = staging.stage(validate_tree(EXAMPLE), "a", keep=5)
    leftover = staging.releases_dir / ".20260101T000000Z-x-1.tmp"
    leftover.mkdir()
    staging.stage(validate_tree(EXAMPLE), "b", keep=5)
    assert not leftover.exists()
    assert staging.previous() == first


def test_releases_that_served_the_app_are_kept_for_rollback(tmp_path: Path) -> None:
    staging = Staging(tmp_path / "app")
    packaging = validate_tree(EXAMPLE)
    served = staging.stage(packaging, "served", keep=2)
    staging.mark_deployed(served, keep=2)
    ids = [staging.stage(packaging, f"failed{i}", keep=2).id for i in range(4)]  # pushes that never served
    kept = sorted(p.name for p in staging.releases_dir.iterdir())
    assert kept == sorted([served.id, ids[-2], ids[-1]])
    assert [d["release"] for d in staging.deployed()] == [served.id]
    staging.restage(served)
    assert staging.current() == served
    assert staging.previous().id == ids[-1]
    assert staging.release("../escape") is None
    assert staging.release("no-such-release") is None


def test_a_full_disk_while_staging_keeps_the_staged_release_and_leaves_no_partial_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import errno

    from ansible_dokku_deploy import staging as staging_module

    staging = Staging(tmp_path / "app")
    first = staging.stage(validate_tree(EXAMPLE), "a", keep=5)
    real_write, calls = staging_module.write_private, []

    def fill_up(path: Path, data: bytes) -> None:
        calls.append(path)
        if len(calls) > 2:  # a few files in
            raise OSError(errno.ENOSPC, "No space left on device")
        real_write(path, data)

    monkeypatch.setattr(staging_module, "write_private", fill_up)
    with pytest.raises(OSError, match="No space left"):
        staging.stage(validate_tree(EXAMPLE), "b", keep=5)
    assert staging.current() == first
    assert sorted(p.name for p in staging.releases_dir.iterdir()) == [first.id]


def test_a_pushed_release_is_staged_only_once_built_and_a_failed_build_puts_the_serving_one_back(
    tmp_path: Path,
) -> None:
    staging = Staging(tmp_path / "app")
    packaging = validate_tree(EXAMPLE)
    older = staging.stage(packaging, "older", keep=5)
    served = staging.stage(packaging, "served", keep=5)

    failed = staging.stage_pending(packaging, "fails-to-build", keep=5)
    assert (staging.current(), staging.pending()) == (served, failed)
    assert staging.abandon_build() is None  # failed before post-build: nothing was staged
    assert (staging.current(), staging.previous(), staging.pending()) == (served, older, None)

    late = staging.stage_pending(packaging, "fails-after-post-build", keep=5)
    assert staging.promote() == late
    assert (staging.current(), staging.previous()) == (late, served)
    assert staging.abandon_build() == served
    assert (staging.current(), staging.previous(), staging.pending()) == (served, older, None)

    good = staging.stage_pending(packaging, "good", keep=5)
    staging.promote()
    staging.released()  # the release step came: the image is the new one
    assert staging.abandon_build() is None  # a failed deploy keeps it staged
    assert (staging.current(), staging.previous()) == (good, served)


def test_a_pending_release_is_never_pruned(tmp_path: Path) -> None:
    staging = Staging(tmp_path / "app")
    packaging = validate_tree(EXAMPLE)
    pending = staging.stage_pending(packaging, "pending", keep=1)
    staging.stage(packaging, "staged", keep=1)
    assert staging.pending() == pending
