"""Deploy paths without a push (ps:restart, config:set), apps:rename, apps:clone, apps:destroy, and a killed run."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import pytest
import services
import yaml
from conftest import Sandbox, edit_env, output


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
    edit_env(app_src, domains=None)  # the original's domains are its own: see the test below
    assert sandbox.push("hello", app_src).returncode == 0
    sandbox.ok("ansible-deploy:set", "hello", "keep-runs", "4")
    result = sandbox.dokku("apps:clone", "hello", "hello-copy")
    assert result.returncode == 0, output(result)
    assert sandbox.ok("ansible-deploy:report", "hello-copy", "--ansible-deploy-keep-runs").strip() == "4"
    assert sandbox.ok("ansible-deploy:report", "hello-copy", "--ansible-deploy-last-run-status").strip() == "succeeded"
    assert sandbox.staged("hello-copy").exists()


def test_a_clone_is_not_deployed_with_the_originals_domains(sandbox: Sandbox, app_src) -> None:
    """The clone gets the original's packaging; deploying it would give the clone the original's domains (DNS
    records and certificates included), so it is refused, naming the original, until it has domains of its own."""
    assert sandbox.push("hello", app_src).returncode == 0
    result = sandbox.dokku("apps:clone", "hello", "hello-copy")
    assert result.returncode != 0
    assert "env.yml: domains[0]: hello.example.test is taken: the app hello serves it" in output(result)
    assert "hello.example.test" not in sandbox.ok("domains:report", "hello-copy", "--domains-app-vhosts").split()
    assert sandbox.ok("ansible-deploy:report", "hello-copy", "--ansible-deploy-last-run-status").strip() == "none"


def _mounts(sandbox: Sandbox, app: str) -> list[tuple[str, str, str]]:
    """The app's mounts as Dokku lists them: (entry, host path, container path)."""
    rows = json.loads(sandbox.ok("storage:list", app, "--format", "json"))
    return sorted((r["entry_name"], r["host_path"], r["container_path"]) for r in rows)


def _put(sandbox: Sandbox, app: str, name: str, data: bytes) -> int:
    """PUT /uploads/NAME to the app's process: 201 once it wrote the file into its storage folder."""
    request = urllib.request.Request(f"http://127.0.0.1:{sandbox.web(app)['port']}/uploads/{name}", data, method="PUT")
    try:
        with urllib.request.urlopen(request, timeout=5) as answer:  # noqa: S310  # the app on loopback
            return int(answer.status)
    except urllib.error.HTTPError as refused:
        return int(refused.code)


def _recorded_storage(sandbox: Sandbox, app: str) -> dict[str, str]:
    return json.loads((sandbox.data_dir(app) / "state.json").read_text())["storage"]


def test_existing_mounts_on_storage_paths_are_refused_then_adopted_when_the_admin_hands_them_over(
    sandbox: Sandbox, app_src
) -> None:
    """An app that already mounts a folder (a legacy HOST:CONTAINER mount) and a named entry on the paths env.yml
    wants: never a second mount on one path (Docker refuses the container), never a new empty folder: the push is
    refused, naming each, until the admin hands them over; then they are the app's storage, folders unchanged."""
    edit_env(app_src, storage=[{"name": "uploads", "path": "/app/uploads"}, {"name": "files", "path": "/app/files"}])
    sandbox.admit("hello")
    sandbox.ok("storage:create", "shared-docs", "--mode", "755")
    sandbox.ok("storage:mount", "hello", "shared-docs", "--container-dir", "/app/files")
    old = sandbox.lib / "data" / "storage" / "files-old"
    old.mkdir()
    (old / "kept.txt").write_text("from before the plugin")
    for path in (old, old / "kept.txt"):
        os.chown(path, 32767, 32767)  # the admin had given it to the app's user
    sandbox.ok("storage:mount", "hello", f"{old}:/app/uploads")
    before = _mounts(sandbox, "hello")
    legacy = next(name for name, _host, container in before if container == "/app/uploads")

    refused = sandbox.push("hello", app_src)
    assert refused.returncode != 0
    assert f"storage: uploads: {legacy} ({old}) is already mounted on /app/uploads" in output(refused)
    assert f"dokku ansible-deploy:set hello adopt-storage {legacy}" in output(refused)
    assert _mounts(sandbox, "hello") == before
    assert sorted(p.name for p in (sandbox.lib / "data" / "storage").iterdir()) == ["files-old", "shared-docs"]

    sandbox.ok("ansible-deploy:set", "hello", "adopt-storage", f"{legacy} shared-docs")
    result = sandbox.push("hello", app_src)
    assert result.returncode == 0, output(result)
    assert _mounts(sandbox, "hello") == before, "one mount per path: the ones the app had"
    assert _recorded_storage(sandbox, "hello") == {"uploads": legacy, "files": "shared-docs"}
    entry = json.loads(sandbox.ok("storage:info", "shared-docs", "--format", "json"))
    assert (entry["chown"], entry["mode"]) == ("herokuish", "0755"), "storage:set changed the owner and kept the rest"
    assert (old / "kept.txt").read_text() == "from before the plugin"
    assert _put(sandbox, "hello", "new.txt", b"written after the adoption") == 201
    assert (old / "new.txt").read_bytes() == b"written after the adoption"
    backup = sandbox.dokku(
        "ansible-deploy:backup", "hello"
    )  # reads each entry's host_path: none is data/storage/legacy-…
    assert backup.returncode == 0, output(backup)


def test_a_renamed_app_keeps_one_mount_per_path_on_its_own_folder_and_backs_up(sandbox: Sandbox, app_src) -> None:
    assert sandbox.push("hello", app_src).returncode == 0
    folder = sandbox.lib / "data" / "storage" / "hello-uploads"
    assert _put(sandbox, "hello", "note.txt", b"before the rename") == 201
    sandbox.ok("ansible-deploy:set", "hello", "keep-runs", "4")  # an app-scoped setting: pre-deploy runs again
    result = sandbox.dokku("apps:rename", "hello", "hi")
    assert result.returncode == 0, output(result)
    assert "ansible-deploy: pre-deploy for hi" in output(result), "the storage role ran after the rename"
    assert _mounts(sandbox, "hi") == [("hello-uploads", str(folder), "/app/uploads")]
    assert _recorded_storage(sandbox, "hi") == {"uploads": "hello-uploads"}
    assert (folder / "note.txt").read_bytes() == b"before the rename"
    assert _put(sandbox, "hi", "after.txt", b"after the rename") == 201
    assert (folder / "after.txt").read_bytes() == b"after the rename"
    backup = sandbox.dokku("ansible-deploy:backup", "hi")
    assert backup.returncode == 0, output(backup)


def test_a_clone_gets_its_own_empty_folders_and_none_of_the_originals_domains(sandbox: Sandbox, app_src) -> None:
    """Dokku copies the original's mounts to a clone; the clone's first deploy must neither write into the
    original's folders nor put a second mount on their paths: it gets folders of its own, whatever its name."""
    edit_env(app_src, domains=None)
    assert sandbox.push("hello", app_src).returncode == 0
    sandbox.ok("domains:add", "hello", "hello.example.test")
    assert _put(sandbox, "hello", "note.txt", b"the original's") == 201
    original = _mounts(sandbox, "hello")
    for clone in ("hello-copy", "hello.copy"):
        result = sandbox.dokku("apps:clone", "hello", clone)
        assert result.returncode == 0, output(result)
        (mount,) = _mounts(sandbox, clone)
        entry, host, container = mount
        assert container == "/app/uploads" and entry not in {m[0] for m in original}
        assert list(Path(host).iterdir()) == []
        assert _recorded_storage(sandbox, clone) == {"uploads": entry}
        assert _put(sandbox, clone, "mine.txt", b"the clone's") == 201
        assert (Path(host) / "mine.txt").exists()
        assert "hello.example.test" not in sandbox.ok("domains:report", clone, "--domains-app-vhosts").split()
    assert _mounts(sandbox, "hello") == original
    assert sorted(p.name for p in Path(original[0][1]).iterdir()) == ["note.txt"]


def test_destroy_forgets_the_app(sandbox: Sandbox, app_src) -> None:
    assert sandbox.push("hello", app_src).returncode == 0
    sandbox.ok("ansible-deploy:set", "hello", "keep-runs", "4")
    result = sandbox.dokku("--force", "apps:destroy", "hello")
    assert result.returncode == 0, output(result)
    assert not sandbox.data_dir("hello").exists()
    assert not (sandbox.lib / "data" / "ansible" / ".settings" / "hello").exists()


def _processes() -> list[tuple[int, list[bytes]]]:
    """Every process's group and arguments (a process that ends meanwhile is left out)."""
    found = []
    for proc in Path("/proc").iterdir():
        with contextlib.suppress(OSError, ValueError):
            found.append((os.getpgid(int(proc.name)), (proc / "cmdline").read_bytes().split(b"\0")))
    return found


def _ansible_of(sandbox: Sandbox, app: str) -> set[int]:
    """The process groups of the app's Ansible runs: every process of a run carries its private dir (under the
    app's .work) on its command line, and the rest of the run shares a group with one of them."""
    mark = os.fsencode(sandbox.data_dir(app) / ".work") + b"/run-"
    return {group for group, args in _processes() if any(arg.startswith(mark) for arg in args)}


_alive = services.group_running  # zombies aside: a killed run's wait on the init, which a busy machine delays
T = TypeVar("T")


def _first(find: Callable[[], T], seconds: float) -> T:
    """find()'s first answer that is true, asked every 0.05 s for up to `seconds`; its last answer otherwise."""
    deadline = time.monotonic() + seconds
    while not (found := find()) and time.monotonic() < deadline:
        time.sleep(0.05)
    return found


def _start_run(sandbox: Sandbox, app: str) -> tuple[subprocess.Popen[str], set[int]]:
    """`dokku ansible-deploy:run APP` in a process group of its own, once its Ansible run has started."""
    proc = subprocess.Popen(
        [str(sandbox.root / "bin" / "dokku"), "ansible-deploy:run", app],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    groups = _first(lambda: _ansible_of(sandbox, app), 60)
    assert groups, "no Ansible run started"
    return proc, groups


def _scratch_socket(sandbox: Sandbox, app: str) -> Path:
    """The running run's Mitogen socket, once there: in the run's own scratch dir (its TMPDIR), not in /tmp."""
    work = sandbox.data_dir(app) / ".work"
    sockets = _first(
        lambda: [s for d in work.glob("run-*/scratch") for s in d.resolve().glob("mitogen_unix_*.sock")], 60
    )
    assert sockets, "the run made no Mitogen socket in its scratch dir"
    return sockets[0]


def test_a_run_killed_midway_leaves_nothing_that_blocks_the_next(sandbox: Sandbox, app_src) -> None:
    assert sandbox.push("hello", app_src).returncode == 0
    proc, groups = _start_run(sandbox, "hello")
    socket = _scratch_socket(sandbox, "hello")
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    assert "running" in sandbox.ok("ansible-deploy:history", "hello")

    result = sandbox.push("hello", app_src)  # the same packaging: skipped, were it not for the killed run
    assert result.returncode == 0, output(result)
    assert "ansible-deploy: pre-deploy for hello: config" in output(result), "the host may be half-changed"
    history = sandbox.ok("ansible-deploy:history", "hello")
    assert "running" not in history
    assert "failed" in history, "the killed run is recorded as failed (interrupted)"
    assert not [g for g in groups if _alive(g)], "the next run stopped what the killed one left running"
    assert not list((sandbox.data_dir("hello") / ".work").iterdir()), "the killed run's private dir is cleaned up"
    assert not socket.parent.exists(), "so is its scratch dir (its TMPDIR)"


def test_a_killed_run_still_at_work_is_stopped_by_the_next_run(sandbox: Sandbox, app_src: Path) -> None:
    """Killed outright, the command cannot stop its Ansible run, which goes on in a session of its own: the app's
    next run stops it before it starts, so two runs never change the app at once."""
    flag = sandbox.root / "slow-step"
    (app_src / "ansible" / "slow.yml").write_text(
        "---\n- name: A step that takes its time while the flag is there\n  hosts: localhost\n  gather_facts: false\n"
        "  tasks:\n    - name: Wait\n      ansible.builtin.command: sleep 300\n      changed_when: false\n"
        f"      when: \"'{flag}' is exists\"\n"
    )
    steps = yaml.safe_load((app_src / "env.yml").read_text())["steps"]
    edit_env(app_src, steps={**steps, "pre-deploy": [*steps.get("pre-deploy", []), "ansible/slow.yml"]})
    assert (pushed := sandbox.push("hello", app_src)).returncode == 0, output(pushed)
    flag.touch()
    proc, groups = _start_run(sandbox, "hello")
    socket = _scratch_socket(sandbox, "hello")
    assert _first(lambda: any(_runs_sleep(g) for g in groups), 120), "the slow step never started"
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    flag.unlink()
    assert [g for g in groups if _alive(g)], "the killed command's run goes on without it"

    result = sandbox.push("hello", app_src)
    assert result.returncode == 0, output(result)
    assert not [g for g in groups if _alive(g)], "the next run stopped what the killed one left running"
    assert not socket.exists(), "Mitogen, killed outright, could not remove its socket: the next run did"


def _runs_sleep(group: int) -> bool:
    return any(g == group and args[0] == b"sleep" for g, args in _processes())


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP], ids=["SIGTERM", "SIGHUP"])
def test_a_run_stopped_by_a_signal_ends_failed_and_leaves_nothing_running(
    sandbox: Sandbox, app_src: Path, sig: signal.Signals
) -> None:
    """SIGTERM, SIGINT or SIGHUP (a closed terminal) cancels the run: Ansible stops with it, none of its processes
    (Ansible's task workers start sessions of their own) go on, and the run is recorded as failed."""
    assert sandbox.push("hello", app_src).returncode == 0
    proc, groups = _start_run(sandbox, "hello")
    socket = _scratch_socket(sandbox, "hello")
    os.killpg(proc.pid, sig)
    said = proc.communicate(timeout=120)[0]
    assert proc.returncode != 0, said
    assert "stopped by a signal before it finished" in said, said
    assert "Traceback" not in said
    assert said.splitlines()[-1].startswith(" !     Full log: "), "the command's own words last, as under sudo"
    assert not [g for g in groups if _alive(g)], "a process of the stopped run goes on"
    assert not _ansible_of(sandbox, "hello")
    assert not socket.parent.exists(), "the run's scratch dir is removed"
    runs = json.loads(sandbox.ok("ansible-deploy:history", "hello", "--format", "json"))
    assert [r["status"] for r in runs if "stopped by a signal" in r["message"]] == ["failed"]
