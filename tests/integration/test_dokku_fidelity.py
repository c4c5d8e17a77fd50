"""The plugin on a double as strict as Dokku 0.38 where a real server would break it (one test per finding)."""

from __future__ import annotations

import json

from conftest import Sandbox, edit_env, output


def test_storage_survives_entries_already_on_the_server_and_redeploys_idempotently(sandbox: Sandbox, app_src) -> None:
    """Entries in Dokku's JSON have host_path, not path: an admin's own entry or legacy mount must not break a push."""
    sandbox.ok("storage:create", "admin-files")
    sandbox.ok("apps:create", "other")
    legacy = sandbox.root / "old-mount"
    legacy.mkdir()
    sandbox.ok("storage:mount", "other", f"{legacy}:/old")
    result = sandbox.push("hello", app_src)
    assert result.returncode == 0, output(result)
    (row,) = json.loads(sandbox.ok("storage:list", "hello", "--format", "json"))
    assert (row["entry_name"], row["container_path"]) == ("hello-uploads", "/app/uploads")
    edit_env(app_src, storage=[{"name": "uploads", "path": "/app/files"}])
    moved = sandbox.push("hello", app_src)
    assert moved.returncode == 0, output(moved)
    (row,) = json.loads(sandbox.ok("storage:list", "hello", "--format", "json"))
    assert (row["entry_name"], row["container_path"]) == ("hello-uploads", "/app/files")
    assert json.loads(sandbox.ok("storage:list", "other", "--format", "json"))[0]["container_path"] == "/old"
