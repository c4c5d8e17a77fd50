"""Who gets an app's storage folders: the user its builder runs it as, in the names Dokku's storage:create takes."""

from __future__ import annotations

from pathlib import Path

import pytest

from ansible_dokku_deploy.plan import storage_chown
from ansible_dokku_deploy.state import State


@pytest.mark.parametrize(
    ("builder", "env", "chown"),
    [
        ("herokuish", {}, "herokuish"),  # herokuishuser, 32767
        ("pack", {}, "heroku"),  # Dokku's default CNB builder, heroku/builder: uid 1000
        ("dockerfile", {}, ""),  # the Dockerfile's USER: the admin's to chown to
        ("herokuish", {"DOKKU_APP_USER": "app"}, ""),
        ("pack", {"DOKKU_APP_USER": "app"}, ""),
        ("", {}, ""),  # never built yet
    ],
)
def test_storage_folders_go_to_the_user_the_builder_runs_the_app_as(
    tmp_path: Path, builder: str, env: dict[str, str], chown: str
) -> None:
    assert storage_chown({"env": env}, State(tmp_path / "state.json", builder=builder)) == chown
