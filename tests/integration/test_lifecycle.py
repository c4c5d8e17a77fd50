"""Deploy paths without a push (ps:restart, config:set), apps:rename, apps:clone, apps:destroy, and a killed run."""

from __future__ import annotations

import os
import signal
import subprocess
import time

from conftest import Sandbox, output


def test_ps_restart_runs_only_post_deploy_from_the_staged_copy(sandbox: Sandbox, app_src) -> None:
    assert sandbox.push("hello", app_src).returncode == 0
    result = sandbox.dokku("ps:restart", "hello")
    assert result.returncode == 0, output(result)
    assert "post-deploy for hello is unchanged since the last successful run; skipping" in result.stdout
    assert "pre-deploy" not in result.stdout


def test_config_set_with_restart_reruns_release_and_skips_unchanged_phase(sandbox: Sandbox, app_src) -> None:
    assert sandbox.push("hello", app_src).returncode == 0
    result = sandbox.dokku("config:set", "hello", "OTHER=1")
    assert result.returncode == 0, output(result)
    assert "Restarting app hello" in result.stdout
    assert "pre-deploy for hello is unchanged since the last successful run; skipping" in result.stdout
    assert sandbox.config("hello")["OTHER"] == "1", "a setting the plugin does not own is kept"


def test_rename_moves_staged_packaging_and_history_and_deprovisions_nothing(sandbox: Sandbox, app_src) -> None:
    assert sandbox.push("hello", app_src).returncode == 0
    run_id = sandbox.ok("ansible-deploy:report", "hello", "--ansible-deploy-last-run-id").strip()
    result = sandbox.dokku("apps:rename", "hello", "hi")
    assert result.returncode == 0, output(result)
    assert not sandbox.data_dir("hello").exists()
    assert sandbox.ok("ansible-deploy:report", "hi", "--ansible-deploy-features").strip().startswith("config ports")
    assert run_id in sandbox.ok("ansible-deploy:history", "hi")
    assert sandbox.config("hi")["GREETING"] == "hello from env.yml"
    assert not (sandbox.lib / "data" / "ansible" / ".renames" / "hello").exists()


def test_clone_gets_the_same_packaging_and_settings(sandbox: Sandbox, app_src) -> None:
    assert sandbox.push("hello", app_src).returncode == 0
    sandbox.ok("ansible-deploy:set", "hello", "keep-runs", "4")
    result = sandbox.dokku("apps:clone", "hello", "hello-copy")
    assert result.returncode == 0, output(result)
    assert sandbox.ok("ansible-deploy:report", "hello-copy", "--ansible-deploy-keep-runs").strip() == "4"
    assert sandbox.ok("ansible-deploy:report", "hello-copy", "--ansible-deploy-last-run-status").strip() == "succeeded"
    assert sandbox.staged("hello-copy").exists()


def test_destroy_forgets_the_app(sandbox: Sandbox, app_src) -> None:
    assert sandbox.push("hello", app_src).returncode == 0
    sandbox.ok("ansible-deploy:set", "hello", "keep-runs", "4")
    result = sandbox.dokku("--force", "apps:destroy", "hello")
    assert result.returncode == 0, output(result)
    assert not sandbox.data_dir("hello").exists()
    assert not (sandbox.lib / "data" / "ansible" / ".settings" / "hello").exists()


def test_a_run_killed_midway_leaves_nothing_that_blocks_the_next(sandbox: Sandbox, app_src) -> None:
    assert sandbox.push("hello", app_src).returncode == 0
    proc = subprocess.Popen(
        [str(sandbox.root / "bin" / "dokku"), "ansible-deploy:run", "hello"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    deadline = time.monotonic() + 30
    runs = sandbox.data_dir("hello") / "runs"
    before = len(list(runs.glob("*.json")))
    while time.monotonic() < deadline and len(list(runs.glob("*.json"))) <= before:
        time.sleep(0.05)
    time.sleep(0.5)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    assert "running" in sandbox.ok("ansible-deploy:history", "hello")

    result = sandbox.push("hello", app_src)  # the same packaging: skipped, were it not for the killed run
    assert result.returncode == 0, output(result)
    assert "ansible-deploy: pre-deploy for hello: config" in output(result), "the host may be half-changed"
    history = sandbox.ok("ansible-deploy:history", "hello")
    assert "running" not in history
    assert "failed" in history, "the killed run is recorded as failed (interrupted)"
    assert not list((sandbox.data_dir("hello") / ".work").iterdir()), "the killed run's private dir is cleaned up"
