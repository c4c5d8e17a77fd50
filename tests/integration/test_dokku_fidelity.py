"""The plugin on a double as strict as Dokku 0.38 where a real server would break it (one test per finding)."""

from __future__ import annotations

import json
import shutil
import stat
import subprocess
import urllib.error
import urllib.request
from pathlib import Path

from conftest import Sandbox, edit_env, output

from ansible_dokku_deploy.dokku import Dokku


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


def _sees(sandbox: Sandbox, name: str) -> object:
    """What the running app's process sees for a setting (herokuish: the baked .profile.d wins)."""
    return sandbox.get("hello", f"/env/{name}")["setting"]


def test_settings_reach_a_herokuish_app_in_the_release_that_changes_them(sandbox: Sandbox, app_src) -> None:
    """builder-herokuish bakes the settings at its release, before pre-release-builder: a changed value, a removed
    key and a rollback must each be what the app sees in that same release."""
    assert sandbox.push("hello", app_src).returncode == 0
    assert _sees(sandbox, "GREETING") == "hello from env.yml"
    edit_env(app_src, env={"GREETING": "changed", "WORKERS": 2})  # DEBUG removed
    changed = sandbox.push("hello", app_src)
    assert changed.returncode == 0, output(changed)
    assert (_sees(sandbox, "GREETING"), _sees(sandbox, "DEBUG")) == ("changed", None)
    back = sandbox.dokku("ansible-deploy:rollback", "hello")
    assert back.returncode == 0, output(back)
    assert (_sees(sandbox, "GREETING"), _sees(sandbox, "DEBUG")) == ("hello from env.yml", "false")


def test_app_json_postdeploy_runs_after_the_plugins_post_deploy_and_not_after_its_failure(
    sandbox: Sandbox, app_src
) -> None:
    """plugn runs post-deploy alphabetically: ansible-deploy (TLS, steps, health check), then app-json's
    scripts.dokku.postdeploy, then cron; a failure stops the chain."""
    (app_src / "app.json").write_text(
        json.dumps({"scripts": {"dokku": {"postdeploy": "echo postdeploy-ran-$GREETING"}}})
    )
    pushed = sandbox.push("hello", app_src)
    text = output(pushed)
    assert pushed.returncode == 0, text
    assert "postdeploy-ran-hello from env.yml" in text
    assert text.index("Checking http") < text.index("Checking for postdeploy task")
    edit_env(app_src, env={"GREETING": "broken", "HEALTHZ_STATUS": 500})
    sandbox.ok("ansible-deploy:set", "hello", "healthcheck-timeout", "2")  # the gate need not wait its 60 s
    failed = sandbox.push("hello", app_src)
    assert failed.returncode != 0
    assert "Checking for postdeploy task" not in output(failed)


def test_destroying_an_app_named_like_the_plugin_keeps_every_apps_settings(sandbox: Sandbox) -> None:
    """config's post-delete removes $DOKKU_LIB_ROOT/config/APP on apps:destroy (plugins/config/triggers.go): for an
    app named ansible-deploy that was the plugin's own settings folder in Dokku's property layout."""
    sandbox.ok("apps:create", "other")
    sandbox.ok("ansible-deploy:set", "other", "environment", "staging")
    sandbox.ok("ansible-deploy:set", "--global", "keep-runs", "7")
    sandbox.ok("apps:create", "ansible-deploy")
    sandbox.ok("config:set", "--no-restart", "ansible-deploy", "A=1")
    sandbox.ok("--force", "apps:destroy", "ansible-deploy")
    assert sandbox.ok("ansible-deploy:report", "other", "--ansible-deploy-environment").strip() == "staging"
    assert (sandbox.lib / "data" / "ansible" / ".settings" / "--global" / "keep-runs").read_text() == "7"


def test_install_moves_settings_from_the_older_layout(sandbox: Sandbox) -> None:
    legacy = sandbox.lib / "config" / "ansible-deploy"
    (legacy / "other").mkdir(parents=True)
    (legacy / "other" / "environment").write_text("staging")
    sandbox.ok("apps:create", "other")
    shutil.rmtree(sandbox.lib / "data" / "ansible" / ".settings" / "other", ignore_errors=True)
    sandbox.ok("plugin:install")  # every enabled plugin's install trigger, as root
    assert not legacy.exists()
    moved = sandbox.lib / "data" / "ansible" / ".settings" / "other" / "environment"
    assert moved.read_text() == "staging"
    assert sandbox.ok("ansible-deploy:report", "other", "--ansible-deploy-environment").strip() == "staging"


def _put(sandbox: Sandbox, app: str, name: str, data: bytes) -> int:
    """PUT /uploads/NAME to the app's process: 201 once it wrote the file into its storage folder."""
    request = urllib.request.Request(f"http://127.0.0.1:{sandbox.web(app)['port']}/uploads/{name}", data, method="PUT")
    try:
        with urllib.request.urlopen(request, timeout=5) as answer:  # noqa: S310  # the app on loopback
            return int(answer.status)
    except urllib.error.HTTPError as refused:
        return int(refused.code)


def test_a_herokuish_app_runs_as_herokuishuser_and_writes_its_storage_which_restores(sandbox: Sandbox, app_src) -> None:
    """herokuish runs processes as herokuishuser (32767), who cannot write a folder `storage:create` left to the
    dokku user: the plugin asks Dokku for `--chown herokuish`, and a restore as the dokku user gives it back."""
    home = sandbox.home
    assert stat.S_IMODE(home.stat().st_mode) == 0o700  # as on Debian 12
    assert sandbox.push("hello", app_src).returncode == 0
    assert sandbox.get("hello")["uid"] == 32767
    folder = sandbox.lib / "data" / "storage" / "hello-uploads"
    assert _put(sandbox, "hello", "note.txt", b"kept") == 201
    assert (folder / "note.txt").stat().st_uid == 32767
    sandbox.ok("ansible-deploy:backup", "hello")
    [taken] = [b["id"] for b in json.loads(sandbox.ok("ansible-deploy:backups", "hello", "--format", "json"))]
    assert _put(sandbox, "hello", "note.txt", b"overwritten") == 201
    assert _put(sandbox, "hello", "stray.txt", b"after the backup") == 201
    restored = sandbox.dokku("ansible-deploy:restore", "hello", taken, "--force")
    assert restored.returncode == 0, output(restored)
    assert sorted(p.name for p in folder.iterdir()) == ["note.txt"]
    assert (folder / "note.txt").read_bytes() == b"kept"
    assert {p.stat().st_uid for p in (folder, folder / "note.txt")} == {32767}
    assert json.loads(sandbox.ok("storage:info", "hello-uploads", "--format", "json"))["chown"] == "herokuish"
    assert _put(sandbox, "hello", "after.txt", b"the app writes again") == 201
    again = sandbox.push("hello", app_src)  # a redeploy keeps it so, without chowning again
    assert again.returncode == 0, output(again)
    assert "Setting directory ownership" not in again.stdout + again.stderr
    assert _put(sandbox, "hello", "later.txt", b"and after a redeploy") == 201


def test_nginx_workers_run_as_www_data_and_answer_http_01_from_outside_dokkus_home(sandbox: Sandbox) -> None:
    """Debian's nginx: the master is root's, the workers www-data's, who may not look into $DOKKU_ROOT (0700)."""
    facts = json.loads((sandbox.lib / "data" / "nginx-vhosts" / "sandbox.json").read_text())
    master = int((Path(str(facts["pid_file"]))).read_text())
    workers = subprocess.run(
        ["ps", "-o", "user=", "--ppid", str(master)], capture_output=True, text=True, check=True
    ).stdout.split()
    assert workers and set(workers) == {"www-data"}
    webroot = Dokku(sandbox.home, sandbox.lib).acme_webroot("web")
    assert not webroot.is_relative_to(sandbox.home)


def test_an_app_moved_to_k3s_is_refused_what_only_dokkus_nginx_and_host_folders_give(sandbox: Sandbox, app_src) -> None:
    """scheduler:set APP selected k3s (plugins/scheduler): the app's traffic goes through the cluster's ingress and
    its volumes are the cluster's; the same tree, pushed again after the switch, is checked again and refused."""
    first = sandbox.push("hello", app_src)
    assert first.returncode == 0, output(first)
    serving = sandbox.web("hello")
    sandbox.ok("scheduler:set", "hello", "selected", "k3s")
    assert sandbox.ok("scheduler:report", "hello", "--scheduler-computed-selected").strip() == "k3s"
    assert Dokku(sandbox.root / "home" / "dokku", sandbox.lib).scheduler("hello") == "k3s"
    again = sandbox.push("hello", app_src)
    text = output(again)
    assert again.returncode != 0, text
    assert "nginx.conf.d/: the snippets would go into Dokku's nginx, which does not route hello" in text
    assert "env.yml: storage: the plugin's folders are on this host" in text
    assert "env.yml: monitoring.healthcheck:" in text and "readiness probes" in text
    assert "Traceback" not in text
    assert sandbox.web("hello") == serving  # nothing was built or released
    sandbox.ok("scheduler:set", "hello", "selected")
    assert sandbox.ok("scheduler:report", "hello", "--scheduler-computed-selected").strip() == "docker-local"
