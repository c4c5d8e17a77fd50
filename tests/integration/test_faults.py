"""Faults and races: a killed staging, concurrent pushes of one app, different apps deploying at the same time."""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import shutil
import signal
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from conftest import EXAMPLE, Sandbox, as_dokku, edit_env, output


def _staged_is_whole(sandbox: Sandbox, app: str) -> bool:
    """The staged link leads to a complete release: its metadata and every file it lists."""
    staged = sandbox.staged(app)
    meta = json.loads((staged / ".release.json").read_text())
    return all((staged / rel).is_file() for rel in meta["files"])


def test_a_staging_killed_at_any_moment_keeps_a_whole_copy_and_the_next_push_works(
    sandbox: Sandbox, app_src: Path
) -> None:
    assert sandbox.push("hello", app_src).returncode == 0
    first = sandbox.staged("hello")
    work = sandbox.root / "work"
    shutil.copytree(app_src, work)
    for n in range(200):  # enough files that staging takes a while
        (work / "nginx.conf.d" / f"extra{n:03d}.conf").write_text(f"# extra {n}\n" + "#" * 4000 + "\n")
    scratch = sandbox.root / "tmp"  # the hooks' temp dir: the nginx check's folder goes there
    scratch.mkdir()
    as_dokku(work)
    as_dokku(scratch)
    env = {**os.environ, "DOKKU_ROOT": str(sandbox.home), "DOKKU_LIB_ROOT": str(sandbox.lib), "TMPDIR": str(scratch)}
    hook = sandbox.lib / "plugins" / "enabled" / "ansible-deploy" / "post-extract"

    def stage(rev: str) -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            ["runuser", "-u", "dokku", "-m", "--", str(hook), "hello", str(work), rev],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )

    for delay in (0.05, 0.15, 0.3, 0.6):
        stager = stage(f"{int(delay * 100):040d}")
        time.sleep(delay)
        os.killpg(stager.pid, signal.SIGKILL)
        stager.wait()
        assert _staged_is_whole(sandbox, "hello"), f"killed after {delay}s"
    assert (sandbox.staged("hello") / "nginx.conf.d" / "extra000.conf").exists() or sandbox.staged("hello") == first
    for attempt in range(3):  # killed during its nginx check (new snippets): the moment its scratch folder is there
        (work / "nginx.conf.d" / "attempt.conf").write_text(f"# attempt {attempt}\n")
        as_dokku(work)
        checker = stage(f"{attempt + 1:040d}")
        while not list(scratch.glob("ansible-deploy-nginx-*")) and checker.poll() is None:
            time.sleep(0.002)
        with contextlib.suppress(ProcessLookupError):  # it ended first
            os.killpg(checker.pid, signal.SIGKILL)
        checker.wait()
        if list(scratch.iterdir()):
            break
    assert list(scratch.iterdir()), "a check killed outright cannot remove its folder"
    assert _staged_is_whole(sandbox, "hello")
    assert stage("9" * 40).wait() == 0
    assert not list(scratch.iterdir()), "the next check removes the folders of the checks killed before"

    edit_env(app_src, env={"GREETING": "after the kills", "WORKERS": 2, "DEBUG": False})
    result = sandbox.push("hello", app_src)
    assert result.returncode == 0, output(result)
    assert sandbox.config("hello")["GREETING"] == "after the kills"
    assert not list((sandbox.data_dir("hello") / "releases").glob(".*.tmp")), "the killed stagings' leftovers"


# What Dokku says to a push while another deploy of the app holds its lock (plugins/common/functions:
# acquire_app_deploy_lock APP exclusive, from plugins/git/functions git_receive_app): dokku_log_warn, then
# dokku_log_fail; git passes both lines on with its "remote: " prefix.
LOCKED_OUT = [
    " !     hello currently has a deploy lock in place. Exiting...",
    " !     Run 'apps:unlock' to release the existing deploy lock",
]
# git's own race between pushers: the deploy ran in the pre-receive hook, then another push moved the branch
# before this one's ref update (git receive-pack's "cannot lock ref ...: is at X but expected Y").
REF_MOVED = "HEAD -> master (failed to update ref)"


def _outcome(result: subprocess.CompletedProcess[str]) -> str:
    """deployed, locked out (by Dokku's deploy lock, in its exact words), or anything else: failed."""
    said = [line.removeprefix("remote: ").rstrip() for line in output(result).splitlines()]
    if result.returncode == 0:
        return "deployed"
    if any(said[n : n + 2] == LOCKED_OUT for n in range(len(said))):
        return "locked out"
    if REF_MOVED in output(result) and "=====> Application deployed:" in said:
        return "deployed"
    return "failed"


def test_concurrent_pushes_of_one_app_are_serialized_and_corrupt_nothing(sandbox: Sandbox, tmp_path: Path) -> None:
    """Ten pushes, two at a time every few seconds, so that some arrive during a deploy and some after one: each
    is deployed or refused by Dokku's deploy lock, and the plugin's runs of them never overlap."""
    sandbox.admit("hello")
    sandbox.ok("ansible-deploy:set", "hello", "keep-runs", "100")  # every run's record stays for the check below
    sources = []
    for n in range(10):
        src = tmp_path / f"hello{n}"
        shutil.copytree(EXAMPLE, src)
        edit_env(src, env={"GREETING": f"push {n}", "WORKERS": 2, "DEBUG": False})
        sources.append(src)

    def push(n: int) -> subprocess.CompletedProcess[str]:
        time.sleep(n // 2 * 6)
        return sandbox.push("hello", sources[n], clone=f"pusher{n}")

    with ThreadPoolExecutor(max_workers=10) as pool:
        results = list(pool.map(push, range(10)))
    outcomes = [_outcome(result) for result in results]
    assert "failed" not in outcomes, [output(r) for r, o in zip(results, outcomes, strict=True) if o == "failed"]
    assert all("Traceback" not in output(result) for result in results)
    deployed = [n for n, outcome in enumerate(outcomes) if outcome == "deployed"]
    assert deployed, outcomes
    runs = sorted(
        (json.loads(record.read_text()) for record in (sandbox.data_dir("hello") / "runs").glob("*.json")),
        key=lambda run: run["started_at"],
    )
    assert all(run["status"] == "succeeded" for run in runs), runs
    assert [run["phase"] for run in runs].count("pre-deploy") == len(deployed), "one pre-deploy per deployed push"
    for earlier, later in itertools.pairwise(runs):
        assert earlier["finished_at"] <= later["started_at"], f"runs {earlier['id']} and {later['id']} overlapped"
    assert _staged_is_whole(sandbox, "hello")
    greeting = sandbox.config("hello")["GREETING"]
    assert greeting in {f"push {n}" for n in deployed}
    staged_env = (sandbox.staged("hello") / "env.yml").read_text()
    assert f"GREETING: {greeting}" in staged_env, "the settings are those of the staged release"
    assert sandbox.get("hello")["greeting"] == greeting


RENDEZVOUS_STEP = """---
- name: Meet the other app
  hosts: localhost
  gather_facts: false
  tasks:
    - name: Say this app is deploying
      ansible.builtin.file:
        path: "{{ ansible_deploy_env.RENDEZVOUS }}/{{ ansible_deploy_app }}"
        state: touch
        mode: "0644"
    - name: Wait until the other app is deploying too
      ansible.builtin.wait_for:
        path: "{{ ansible_deploy_env.RENDEZVOUS }}/{{ ansible_deploy_env.OTHER }}"
        timeout: 90
"""


def test_pushes_of_different_apps_run_at_the_same_time(sandbox: Sandbox, tmp_path: Path) -> None:
    """Each app's pre-deploy waits for the other's: if one app's deploy blocked another's, neither would finish."""
    meeting = sandbox.root / "rendezvous"
    meeting.mkdir()
    as_dokku(meeting)
    sources = {}
    for app, other in (("left", "right"), ("right", "left")):
        src = tmp_path / app
        shutil.copytree(EXAMPLE, src)
        (src / "ansible" / "rendezvous.yml").write_text(RENDEZVOUS_STEP)
        edit_env(
            src,
            env={"RENDEZVOUS": str(meeting), "OTHER": other},
            steps={"pre-deploy": ["ansible/rendezvous.yml"]},
            domains=[f"{app}.example.test"],
        )
        sandbox.admit(app)
        sources[app] = src
    with ThreadPoolExecutor(max_workers=2) as pool:
        results = list(pool.map(lambda app: sandbox.push(app, sources[app]), sources))
    for result in results:
        assert result.returncode == 0, output(result)


def test_a_write_that_fails_while_staging_keeps_the_previous_copy_and_refuses_the_push(
    sandbox: Sandbox, app_src: Path
) -> None:
    """A full disk and a read-only folder fail the same writes; the folder is the one a test can arrange."""
    assert sandbox.push("hello", app_src).returncode == 0
    first, greeting = sandbox.staged("hello"), sandbox.config("hello")["GREETING"]
    releases = sandbox.data_dir("hello") / "releases"
    releases.chmod(0o500)
    try:
        edit_env(app_src, env={"GREETING": "never staged", "WORKERS": 2, "DEBUG": False})
        result = sandbox.push("hello", app_src)
    finally:
        releases.chmod(0o700)
    text = output(result)
    assert result.returncode != 0
    assert "ansible-deploy: could not stage the packaging (Permission denied); the staged copy is kept" in text
    assert "the packaging of this push was not staged for hello, so it is not deployed" in text
    assert "Traceback" not in text
    assert sandbox.staged("hello") == first and _staged_is_whole(sandbox, "hello")
    assert sandbox.config("hello")["GREETING"] == greeting
