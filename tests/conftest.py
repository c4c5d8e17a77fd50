"""Shared fixtures: a sandbox Dokku (the test double with the plugin installed) and example apps to push."""

from __future__ import annotations

import contextlib
import json
import os
import pwd
import shutil
import socket
import stat
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, settings

from ansible_dokku_deploy import output as plugin_output

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "scripts"))  # services.py: the real servers the sandbox and the tests start
sys.path.insert(0, str(REPO / "tests" / "dokku_double"))  # the double's package, for tests that use its constants
SANDBOX = REPO / "scripts" / "sandbox"
EXAMPLE = REPO / "examples" / "hello"
EXAMPLE_VAULT_PASSWORD = "hello-vault-demo"  # examples/hello/README.md
EXAMPLE_SECRET_KEY = "hello-demo-secret-key-do-not-use"  # the SECRET_KEY in examples/hello/vault/secrets.yml

import services  # noqa: E402  # found through the path above

# Property tests: no time limit per example (a loaded 2-core machine is slow, not wrong), no example database
# written into the checkout; a failure prints the example and the seed that reproduces it.
settings.register_profile("project", deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("project")


@dataclass
class Sandbox:
    root: Path

    @property
    def lib(self) -> Path:
        return self.root / "var" / "lib" / "dokku"

    @property
    def home(self) -> Path:
        return self.root / "home" / "dokku"

    def data_dir(self, app: str) -> Path:
        return self.lib / "data" / "ansible" / app

    def dokku(
        self,
        *args: str,
        input: str | None = None,  # noqa: A002
        environ: dict[str, str] | None = None,
    ) -> subprocess.CompletedProcess[str]:
        """A `dokku` command, from this process's environment or from `environ` (an admin's shell of its own)."""
        return subprocess.run(
            [str(self.root / "bin" / "dokku"), *args],
            capture_output=True,
            text=True,
            input=input,
            check=False,
            env=environ,
        )

    def ok(self, *args: str) -> str:
        result = self.dokku(*args)
        assert result.returncode == 0, f"dokku {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}"
        return result.stdout

    def add_plugin(self, name: str, **hooks: str) -> None:
        """An enabled community plugin with the given hooks (shell bodies; `cron_entries` is the cron-entries hook)."""
        folder = self.lib / "plugins" / "available" / name
        folder.mkdir(parents=True)
        (folder / "plugin.toml").write_text(f'[plugin]\ndescription = "{name}"\nversion = "0.1.0"\n[plugin.config]\n')
        for hook, body in hooks.items():
            (folder / hook.replace("_", "-")).write_text(f"#!/bin/sh\n{body}\n")
            (folder / hook.replace("_", "-")).chmod(0o755)
        self.ok("plugin:enable", name)

    def admit(self, app: str) -> None:
        """What an admin does before an app's first push: create it, give its vault password, allow its steps."""
        self.ok("apps:create", app)
        self.ok("ansible-deploy:set", app, "allow-custom-steps", "true")
        result = self.dokku("ansible-deploy:vault-password", app, input=EXAMPLE_VAULT_PASSWORD)
        assert result.returncode == 0, result.stderr

    def push(
        self,
        app: str,
        src: Path,
        clone: str = "",
        timeout: float | None = None,
        environ: dict[str, str] | None = None,
    ) -> subprocess.CompletedProcess[str]:
        """git push src to app, from the pusher's clone (named after the app, or `clone` for several pushers);
        a timeout makes a push that hangs (on a server that never answers) fail the test; `environ`: the pusher's
        SSH session's environment (Dokku's hooks get it, LANG and LC_* included), else this process's."""
        if not (self.home / app).exists() and ((src / "vault").exists() or (src / "ansible").exists()):
            self.admit(app)
        return subprocess.run(
            [sys.executable, str(SANDBOX), "push", str(self.root), app, str(src), *([clone] if clone else [])],
            capture_output=True,
            text=True,
            check=False,
            timeout=timeout,
            env=environ,
        )

    def config(self, app: str) -> dict[str, str]:
        return json.loads(self.ok("config:export", "--format", "json", app))

    def staged(self, app: str) -> Path:
        return (self.data_dir(app) / "staged").resolve()

    def web(self, app: str) -> dict[str, object]:
        return json.loads((self.lib / "data" / "ps" / app / "web.json").read_text())

    def get(self, app: str, path: str = "/") -> dict[str, object]:
        with urllib.request.urlopen(f"http://127.0.0.1:{self.web(app)['port']}{path}", timeout=5) as answer:
            return json.loads(answer.read())


def working_tree_copy(dest: Path) -> Path:
    """A git repository of the working tree as it is, uncommitted changes too: what plugin:install clones, and what
    a newcomer gets from `git clone` (no venv, no sandbox)."""
    files = subprocess.run(["git", "-C", str(REPO), "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                           capture_output=True, check=True).stdout.decode().split("\0")  # fmt: skip
    for name in filter(None, files):
        if (REPO / name).is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO / name, dest / name, follow_symlinks=False)
    git = ["git", "-C", str(dest), "-c", "user.name=test", "-c", "user.email=test@example.test"]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "add", "-A"], check=True)
    subprocess.run([*git, "commit", "-q", "-m", "the working tree"], check=True)
    return dest


def dokku_secret_stores(box: Sandbox, app: str) -> set[Path]:
    """Where Dokku itself keeps an app's settings, values included: its ENV, and the settings herokuish bakes into
    the release image (.profile.d/01-app-env.sh). Every one of them is 0600."""
    stores = {box.lib / "config" / app / "ENV", *(box.lib / "data" / "ps" / app).rglob("01-app-env.sh")}
    assert all(stat.S_IMODE(p.stat().st_mode) == 0o600 for p in stores if p.exists())
    return stores


@pytest.fixture
def started() -> float:
    """When the test started, less a second for the coarse clock of file times: the files it wrote are newer."""
    return time.time() - 1


def files_holding(secret: str, box: Sandbox, since: float, allowed: Iterable[Path] = ()) -> list[Path]:
    """Every file but the allowed ones that holds secret: anywhere under the sandbox, and, outside it, the files the
    `dokku` user wrote since `since` in the system's temp folder (runs' scratch folders, the nginx and promtool
    checks' folders, the crash-log fallback) and in the `dokku` user's home. The machine is shared: other sandboxes
    and older or other users' files there are other tests', and a file that vanishes while it is read is skipped."""
    dokku_uid = pwd.getpwnam("dokku").pw_uid
    elsewhere = (Path(tempfile.gettempdir()), Path(pwd.getpwnam("dokku").pw_dir))

    def ours(path: Path, info: os.stat_result) -> bool:
        return path.is_relative_to(box.root) or (info.st_uid == dokku_uid and info.st_ctime >= since)

    found = []
    for path in {*_files_under(box.root), *(p for top in elsewhere for p in _files_under(top))} - set(allowed):
        try:
            info = path.lstat()
            if stat.S_ISREG(info.st_mode) and ours(path, info) and secret.encode() in path.read_bytes():
                found.append(path)
        except OSError:  # gone (another test's scratch folder), or not ours to read
            continue
    return sorted(found)


def _files_under(top: Path) -> Iterator[Path]:
    """The files under top, not following links, leaving out sandboxes (each a Dokku of its own, where Dokku's stores
    rightly hold an app's secrets) other than top itself."""
    for folder, dirs, files in os.walk(top):
        dirs[:] = [d for d in dirs if not d.startswith("ansible-deploy-sandbox-")]
        yield from (Path(folder, name) for name in files)


def new_sandbox() -> Sandbox:
    root = Path(tempfile.mkdtemp(prefix="ansible-deploy-sandbox-"))
    root.chmod(0o755)
    box = Sandbox(root)
    _start(box, "init", str(root))
    return box


def _start(box: Sandbox, *command: str) -> None:
    """A sandbox step that starts processes; when it fails, what it started is stopped and the sandbox removed
    before the failure is reported (a half-started sandbox would hold its ports and processes)."""
    result = subprocess.run([sys.executable, str(SANDBOX), *command], capture_output=True, text=True, check=False)
    if result.returncode:
        drop_sandbox(box)
        pytest.fail(f"scripts/sandbox {command[0]} failed ({result.returncode}):\n{result.stdout}{result.stderr}")


def drop_sandbox(sandbox: Sandbox) -> None:
    subprocess.run([sys.executable, str(SANDBOX), "down", str(sandbox.root)], check=False)
    shutil.rmtree(sandbox.root, ignore_errors=True)


@pytest.fixture(scope="module")
def served() -> Iterator[Sandbox]:
    """One sandbox per test module with real BIND and Pebble, its admin settings pointing at them (dns-01)."""
    box = new_sandbox()
    _start(box, "services", str(box.root), "up")
    yield box
    drop_sandbox(box)


def services_facts(box: Sandbox) -> dict[str, dict[str, object]]:
    return json.loads((box.root / "services" / "services.json").read_text())


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    box = new_sandbox()
    yield box
    drop_sandbox(box)


@pytest.fixture
def app_src(tmp_path: Path) -> Path:
    """A copy of the example app to change before a push."""
    src = tmp_path / "hello"
    shutil.copytree(EXAMPLE, src)
    return src


def edit_env(src: Path, **changes: object) -> None:
    """Change top-level keys of src/env.yml (None removes a key)."""
    path = src / "env.yml"
    spec = yaml.safe_load(path.read_text())
    for key, value in changes.items():
        if value is None:
            spec.pop(key, None)
        else:
            spec[key] = value
    path.write_text(yaml.safe_dump(spec, sort_keys=False))


def as_dokku(path: Path) -> None:
    """Give a folder to the dokku user (as Dokku's package gives its own), when we are root."""
    if os.geteuid() == 0:
        subprocess.run(["chown", "-R", "dokku:dokku", str(path)], check=True)


def break_pre_deploy(src: Path) -> None:
    """Add a pre-deploy step that fails (after the roles have applied the packaging)."""
    (src / "ansible" / "broken.yml").write_text(
        "---\n- name: Break\n  hosts: localhost\n  gather_facts: false\n  tasks:\n"
        "    - name: Fail on purpose\n      ansible.builtin.fail:\n        msg: the packager's step failed\n"
    )
    spec = yaml.safe_load((src / "env.yml").read_text())
    edit_env(src, steps={**spec.get("steps", {}), "pre-deploy": ["ansible/broken.yml"]})


@contextlib.contextmanager
def silent_server() -> Iterator[int]:
    """A loopback port where a server seems to be and never says a word (overloaded, or a firewall's tarpit):
    TCP connections complete in the kernel's backlog and are never accepted; UDP datagrams are never answered."""
    with _held_port(refuse=False) as port:
        yield port


@contextlib.contextmanager
def refused_port() -> Iterator[int]:
    """A loopback port of a server that is down: TCP connections and UDP datagrams are refused. The port stays
    held while the test uses it, so no server or app another test starts can take it meanwhile."""
    with _held_port(refuse=True) as port:
        yield port


@contextlib.contextmanager
def _held_port(*, refuse: bool) -> Iterator[int]:
    """A port bound for TCP and UDP. A TCP socket that never listens refuses connections; a UDP socket connected
    elsewhere takes no datagram from anyone else, so the kernel refuses those."""
    for _ in range(20):
        tcp, udp = socket.socket(), socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        with tcp, udp:
            port = services.free_port()
            try:
                tcp.bind(("127.0.0.1", port))
                udp.bind(("127.0.0.1", port))
            except OSError:  # taken between the pick and the bind
                continue
            if refuse:
                udp.connect(("127.0.0.1", 9))
            else:
                tcp.listen(64)
            yield port
            return
    raise RuntimeError("no loopback port could be held for TCP and UDP")


def output(result: subprocess.CompletedProcess[str]) -> str:
    return result.stdout + result.stderr


@pytest.fixture(autouse=True)
def _no_inherited_dokku_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("DOKKU_ROOT", "DOKKU_LIB_ROOT", "DOKKU_LIB_PATH", "DOKKU_QUIET_OUTPUT"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(autouse=True)
def _no_secret_registered_by_another_test(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test starts as a new process of the plugin does: with no secret to mask (one that another test
    registered, a generated vault value such as `the `, would mask words of this test's output)."""
    monkeypatch.setattr(plugin_output, "_secrets", set())


TOKEN = "hook-token-8d1f0c"  # a webhook URL's secret part: it must never show


class Receiver(ThreadingHTTPServer):
    """A webhook's receiving end on loopback: the posts it took, and what was wrong with the others. Its handler
    runs in the server's thread, where a failed assert would fail no test: a wrong request is answered 400 and
    kept, and raised in the test's own thread at the next read of `posts` and when the receiver stops."""

    status = 204

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), Hook)
        self.received: list[dict[str, object]] = []
        self.problems: list[str] = []

    @property
    def posts(self) -> list[dict[str, object]]:
        self.raise_problems()
        return self.received

    def raise_problems(self) -> None:
        if self.problems:
            raise AssertionError("the webhook receiver was sent a wrong request: " + "; ".join(self.problems))


class Hook(BaseHTTPRequestHandler):
    server: Receiver

    def do_POST(self) -> None:  # http.server's name
        body = self.rfile.read(int(self.headers["Content-Length"]))
        problem = ""
        if self.path != f"/hooks/{TOKEN}":
            problem = f"POST to {self.path!r}, not to the webhook URL's path"
        elif self.headers["Content-Type"] != "application/json":
            problem = f"Content-Type {self.headers['Content-Type']!r}, not application/json"
        else:
            try:
                self.server.received.append(json.loads(body))
            except ValueError:
                problem = f"a body that is not JSON: {body[:200]!r}"
        if problem:
            self.server.problems.append(problem)
        self.send_response(400 if problem else self.server.status)
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass


@contextlib.contextmanager
def webhook_receiver() -> Iterator[Receiver]:
    """A Receiver serving while the block runs; what was wrong with its requests fails the block when it ends."""
    server = Receiver()
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
    server.raise_problems()


@pytest.fixture
def hook() -> Iterator[Receiver]:
    with webhook_receiver() as server:
        yield server


# The modules whose tests take minutes start first (each kept whole, so its module's sandbox is made once): with
# two workers, a long test that starts last keeps one worker busy while the other has nothing left to do.
LONGEST_FIRST = ("test_load.py", "test_readme.py", "test_shapes.py", "test_backups.py")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    rank = {name: i for i, name in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.path.name, len(LONGEST_FIRST)))  # stable: the rest keep their order
