"""The only importer of ansible_runner: one private data dir per run, progress in Dokku's voice, a redacted log."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ansible_dokku_deploy import COLLECTIONS_PATH, PLUGIN_DIR, output
from ansible_dokku_deploy.plan import Plan
from ansible_dokku_deploy.staging import secure_dir, write_private

PLAYBOOK = PLUGIN_DIR / "playbooks" / "provision.yml"
# The only ansible.cfg the runs read (ANSIBLE_CONFIG wins over ./ansible.cfg, ~/.ansible.cfg and the host's
# /etc/ansible/ansible.cfg, whose become, callbacks or vault file would otherwise apply to the plugin's runs).
ANSIBLE_CONFIG = PLUGIN_DIR / "playbooks" / "ansible.cfg"
_QUIET_TASKS = ("Validating arguments against arg spec",)
# A run's TMPDIR: a private dir of its own in the system's temp dir, named in its private dir so that the app's next
# run removes it if this one is killed. Not the private dir itself: Mitogen makes its unix socket in TMPDIR, and a
# socket's path must fit in 108 bytes, which a long app name under the Dokku data dir could pass.
_SCRATCH_PREFIX, _SCRATCH_LINK = "ansible-deploy-run-", "scratch"
# ansible-runner asks the cancel check only when its wait on Ansible's output returns: at the end, and every
# pexpect_timeout seconds (5 unless its env/settings say otherwise), so a signal let the run go on that long.
_CANCEL_CHECK_SECONDS = 0.2
# The runs' locale, whatever the pusher's SSH session forwarded (sshd accepts LANG and LC_*, Dokku's hooks keep the
# session's environment): ansible-core refuses to start unless the locale exists on the server and is UTF-8, and a
# laptop's en_US.UTF-8 is not generated on a minimal Debian, LC_ALL=C is not UTF-8. C.UTF-8 is built into glibc 2.35+
# (and Debian's and Ubuntu's older libc-bin ship it).
RUN_LOCALE = {"LC_ALL": "C.UTF-8", "LANG": "C.UTF-8"}


@dataclass(frozen=True)
class Outcome:
    succeeded: bool
    changed: int
    failed_task: str = ""
    message: str = ""
    timings: dict[str, float] = field(default_factory=dict)  # where the run's time went (see _Progress)
    changes: list[dict[str, Any]] = field(default_factory=list)  # in check mode: what would change (see _change)


_RAN = ("runner_on_ok", "runner_on_failed", "runner_on_unreachable")  # a task's result on the host


class _Progress:
    """Turns ansible-runner events into deploy output: each task that ran, diffs in check mode, failures."""

    def __init__(self, *, show_diff: bool) -> None:
        self.show_diff = show_diff
        self.failed_task = ""
        self.message = ""
        self.started = time.monotonic()
        self.timings: dict[str, float] = {}
        self.recap_at = 0.0
        self.changes: list[dict[str, Any]] = []

    def _time(self, kind: str, data: dict[str, Any]) -> None:
        """ansible-start: until Ansible has parsed the playbook; role:NAME / steps: task time, skipped included;
        the recap's time, for ansible-exit (see finish)."""
        if kind == "playbook_on_start" and "ansible-start" not in self.timings:
            self.timings["ansible-start"] = round(time.monotonic() - self.started, 3)
        elif kind == "playbook_on_stats":
            self.recap_at = time.monotonic()
        elif kind in (*_RAN, "runner_on_skipped") and isinstance(data.get("duration"), (int, float)):
            where = f"role:{data['role']}" if data.get("role") else "steps"
            self.timings[where] = round(self.timings.get(where, 0.0) + float(data["duration"]), 3)

    def finish(self) -> dict[str, float]:
        """The timings, with the whole run's (ansible) and the time from Ansible's recap to its exit (ansible-exit:
        Mitogen's shutdown, ansible-runner's wait on the process)."""
        now = time.monotonic()
        ends = {"ansible-exit": round(now - self.recap_at, 3)} if self.recap_at else {}
        return {**self.timings, **ends, "ansible": round(now - self.started, 3)}

    def __call__(self, event: dict[str, Any]) -> bool:
        kind = event.get("event", "")
        data = event.get("event_data", {})
        self._time(kind, data)
        task = str(data.get("task", ""))
        if kind in _RAN and not task.startswith(_QUIET_TASKS):  # skipped tasks are not shown
            output.step(task)
        result = data.get("res", {})
        summary = "results" in result  # a loop's summary: its items were reported one by one
        if kind in ("runner_on_ok", "runner_item_on_ok") and self.show_diff and result.get("changed") and not summary:
            label = result.get("_ansible_item_label")
            output.detail(f"would change: {task}" + (f" ({label})" if label else ""))
            for diff in _diffs(result):
                output.detail(f"  {diff}")
            self.changes.append(_change(data, result))
        elif kind == "runner_on_failed" and not data.get("ignore_errors"):
            self.failed_task = task
            self.message = _message(result)
        return True  # keep the event in the artifacts (the private dir is deleted after the run)


def _diffs(result: dict[str, Any]) -> list[str]:
    diffs = result.get("diff") or []
    lines: list[str] = []
    for diff in diffs if isinstance(diffs, list) else [diffs]:
        if "prepared" in diff:
            lines.extend(str(diff["prepared"]).splitlines())
        elif "before" in diff or "after" in diff:
            lines.append(f"would change: {json.dumps(diff.get('before'))} -> {json.dumps(diff.get('after'))}")
    return lines


def _change(data: dict[str, Any], result: dict[str, Any]) -> dict[str, Any]:
    """One change check mode found: the role, task, module and loop item, and the module's before and after."""
    change: dict[str, Any] = {
        "role": data.get("role") or None,
        "task": data.get("task", ""),
        "action": data.get("task_action", ""),
        "item": result.get("_ansible_item_label"),
        "state": (result.get("invocation") or {}).get("module_args", {}).get("state"),
    }
    diffs = result.get("diff") or []
    for diff in diffs if isinstance(diffs, list) else [diffs]:
        if "before" in diff or "after" in diff:
            change.update(before=diff.get("before"), after=diff.get("after"))
        elif "prepared" in diff:
            change["diff"] = str(diff["prepared"])
    return change


def _message(result: dict[str, Any]) -> str:
    if result.get("censored"):
        return "the task failed; its output is hidden because it handles secrets"
    if isinstance(result.get("timedout"), dict):  # the task's `timeout:`, on the steps that wait on a server
        return f"no result within {result['timedout'].get('period', '?')} s: the server is down, refusing or too slow"
    msg = result.get("msg") or result.get("stderr") or result.get("module_stderr") or "failed"
    return str(msg).strip().splitlines()[0][:500] if str(msg).strip() else "failed"


def _error_line(stdout: str) -> str:
    """Ansible's own error when no task failed: a broken playbook or role (`[ERROR]:`, older `ERROR!`), or its
    refusal to start at all (`ERROR: Ansible could not initialize the preferred locale: ...`)."""
    for line in stdout.splitlines():
        for prefix in ("[ERROR]:", "ERROR!", "ERROR:"):
            if line.startswith(prefix):
                return line.removeprefix(prefix).strip()
    return ""


def strategy_env(name: str) -> dict[str, str]:
    """Ansible's setting for the strategy: Mitogen's runs every task in one Python over a pipe instead of a new
    process per task, through the collection's mitogen_linear, which leaves CPU placement to the kernel
    (ansible-core no longer promises third-party strategies work: linear stays a setting away)."""
    return {"ANSIBLE_STRATEGY": "dokku_deploy.dokku.mitogen_linear" if name == "mitogen" else "linear"}


def _stop_leftovers(run_dir: Path) -> None:
    """Kill whatever a run left running. Its processes carry run_dir on their command line: ansible-playbook and
    its forks, Ansible's task workers among them (each in a session of its own). Killing each one's process group
    takes Mitogen's interpreters and the programs the tasks started with it. A run outlives the Python that started
    it when that Python is killed (pexpect gives ansible-playbook a session of its own), and a cancelled run leaves
    its workers (ansible-runner kills ansible-playbook's group only)."""
    mark, own = os.fsencode(run_dir) + b"/", os.getpgrp()
    for proc in Path("/proc").iterdir():
        with contextlib.suppress(OSError, ValueError):  # gone meanwhile, or not a process
            if any(arg.startswith(mark) for arg in (proc / "cmdline").read_bytes().split(b"\0")):
                group = os.getpgid(int(proc.name))
                if group != own:
                    os.killpg(group, signal.SIGKILL)


def _remove_run_dir(run_dir: Path) -> None:
    """Remove a run's private dir and its scratch dir, once whatever the run left running is stopped: nothing, unless
    the run was cancelled, killed, or this process is leaving on an error."""
    _stop_leftovers(run_dir)
    with contextlib.suppress(OSError):
        scratch = (run_dir / _SCRATCH_LINK).readlink()
        if scratch.name.startswith(_SCRATCH_PREFIX):
            shutil.rmtree(scratch, ignore_errors=True)
    shutil.rmtree(run_dir, ignore_errors=True)


@contextlib.contextmanager
def _cancelled_by_signals() -> Iterator[Callable[[], bool]]:
    """ansible-runner's cancel check: true once SIGTERM, SIGINT or SIGHUP (a closed terminal) has come. The run then
    ends as cancelled (ansible-runner kills ansible-playbook's group) instead of this process dying with the run
    going on without it. Signal handlers belong to the main thread: elsewhere nothing cancels."""
    stop = threading.Event()
    if threading.current_thread() is not threading.main_thread():
        yield stop.is_set
        return
    signals = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)
    previous = {sig: signal.signal(sig, lambda *_: stop.set()) for sig in signals}
    try:
        yield stop.is_set
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def as_data(value: object) -> object:
    """The run's variables with every string marked unsafe, as Ansible's JSON reads that mark: Ansible takes them
    as data and never renders them as templates. Extra vars are otherwise trusted templates, and most of these
    strings come from the pushed tree or its vault (`{{ lookup('pipe', ...) }}` in a setting would run on the
    host). Only the roles' own files hold templates. Keys stay plain: every key is a name the schema restricts."""
    if isinstance(value, str):
        return {"__ansible_unsafe": value}
    if isinstance(value, dict):
        return {key: as_data(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [as_data(item) for item in value]
    return value


def run_playbook(
    plan: Plan, playbooks: list[str], *, work_dir: Path, log_fd: int, check: bool, verbosity: int, strategy: str
) -> Outcome:
    """One ansible-playbook run of the playbooks; secrets never reach argv or world-readable files."""
    import ansible_runner  # noqa: PLC0415  # heavy import, only when Ansible really runs

    for stale in work_dir.glob("run-*"):  # left by a killed run; the caller holds the app lock
        _remove_run_dir(stale)
    private = Path(tempfile.mkdtemp(prefix="run-", dir=secure_dir(work_dir)))
    try:
        scratch = Path(tempfile.mkdtemp(prefix=_SCRATCH_PREFIX))
        (private / _SCRATCH_LINK).symlink_to(scratch)
        secure_dir(private / "env")
        write_private(private / "env" / "extravars", json.dumps(as_data(plan.variables)).encode())
        write_private(private / "env" / "settings", json.dumps({"pexpect_timeout": _CANCEL_CHECK_SECONDS}).encode())
        playbook = playbooks[0]
        if len(playbooks) > 1:  # the plugin's roles, then the packager's steps, in the same run
            playbook = str(private / "phase.yml")
            imports = "".join(f"- ansible.builtin.import_playbook: {json.dumps(p)}\n" for p in playbooks)
            write_private(Path(playbook), f"---\n{imports}".encode())
        venv_bin = str(Path(sys.executable).parent)
        envvars = {
            "PATH": f"{venv_bin}:{os.environ.get('PATH', '/usr/bin:/bin')}",
            **RUN_LOCALE,
            "ANSIBLE_CONFIG": str(ANSIBLE_CONFIG),
            "TMPDIR": str(scratch),
            "ANSIBLE_HOME": str(private / "home"),
            "ANSIBLE_LOCAL_TEMP": str(private / "tmp"),
            "ANSIBLE_REMOTE_TEMP": str(private / "tmp"),
            "ANSIBLE_COLLECTIONS_PATH": COLLECTIONS_PATH,
            "ANSIBLE_ROLES_PATH": str(PLUGIN_DIR / "roles"),
            "ANSIBLE_NOCOLOR": "1",
            "ANSIBLE_RETRY_FILES_ENABLED": "0",
            "ANSIBLE_DEPRECATION_WARNINGS": "0",
            "PGCONNECT_TIMEOUT": "10",  # libpq (modules, pg_dump) waits for a silent server this long, not forever
            **strategy_env(strategy),
        }
        progress = _Progress(show_diff=check)
        with _cancelled_by_signals() as cancelled:
            result = ansible_runner.run(
                private_data_dir=str(private),
                playbook=playbook,
                inventory={
                    "all": {
                        "hosts": {
                            "localhost": {"ansible_connection": "local", "ansible_python_interpreter": sys.executable}
                        }
                    }
                },
                envvars=envvars,
                cmdline="--check --diff" if check else None,
                verbosity=verbosity,
                event_handler=progress,
                quiet=True,
                suppress_env_files=True,
                json_mode=False,
                cancel_callback=cancelled,
            )
        stdout = result.stdout.read() if result.stdout else ""
        os.write(log_fd, output.redact(stdout).encode())
        stats = result.stats or {}
        changed = sum(stats.get("changed", {}).values())
        timings = progress.finish()
        if result.status == "successful" and result.rc == 0:
            return Outcome(succeeded=True, changed=changed, timings=timings, changes=progress.changes)
        if result.status == "canceled":
            message = "stopped by a signal before it finished"
        else:
            message = progress.message or _error_line(stdout) or f"ansible-playbook ended with status {result.status}"
        return Outcome(
            succeeded=False,
            changed=changed,
            failed_task=progress.failed_task,
            message=output.redact(message),
            timings=timings,
        )
    finally:
        _remove_run_dir(private)
