"""Which pushed trees stand for the staged packaging (git:from-image's context): only those without any of it."""

from __future__ import annotations

from pathlib import Path

from ansible_dokku_deploy.resolve import without_packaging


def test_only_a_tree_with_nothing_of_the_packaging_is_without_it(tmp_path: Path) -> None:
    (tmp_path / "Dockerfile").write_text("FROM dokku/hello:latest\n")
    assert without_packaging(tmp_path)
    for name in ("env.yml", "vault", "nginx.conf.d", "ansible"):
        (tmp_path / name).symlink_to("/nowhere")  # dangling, or anything else by that name: validated, so refused
        assert not without_packaging(tmp_path), name
        (tmp_path / name).unlink()
    (tmp_path / "vault").mkdir()  # an empty folder is packaging too: its env.yml is missing, which validation says
    assert not without_packaging(tmp_path)
