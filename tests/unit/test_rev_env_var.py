"""Which setting holds a pushed commit: Dokku's `git:set APP rev-env-var` names it, renames it or turns it off."""

from __future__ import annotations

from pathlib import Path

from ansible_dokku_deploy.dokku import Dokku


def test_the_commits_setting_is_git_rev_until_the_app_renames_or_disables_it(tmp_path: Path) -> None:
    dokku = Dokku(root=tmp_path / "home", lib_root=tmp_path / "lib")
    prop = tmp_path / "lib" / "config" / "git" / "shop" / "rev-env-var"
    assert dokku.rev_env_var("shop") == "GIT_REV"
    prop.parent.mkdir(parents=True)
    prop.write_text("DOKKU_GIT_REV")  # git:set shop rev-env-var DOKKU_GIT_REV
    assert dokku.rev_env_var("shop") == "DOKKU_GIT_REV"
    prop.write_text("")  # git:set shop rev-env-var "": written empty, not deleted (plugins/git/subcommands/set)
    assert dokku.rev_env_var("shop") == ""
    global_prop = tmp_path / "lib" / "config" / "git" / "--global" / "rev-env-var"
    global_prop.parent.mkdir(parents=True)
    global_prop.write_text("ELSEWHERE")  # Dokku's git_build reads only the app's property
    assert dokku.rev_env_var("other") == "GIT_REV"
