"""The plugin on other Debian releases, for real: minimal roots built with debootstrap from Debian's packages (kept
between runs), and in each the plugin installed through a sandbox as on a fresh server, then an app pushed.

Each root runs in a mount namespace of its own (its /proc, /dev, /tmp and /run), sharing the host's loopback, and
the test double's port claims, so a root's app and a host's app are never started on one port."""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import services
from conftest import EXAMPLE_VAULT_PASSWORD, working_tree_copy
from double.deploy import port_claims

CACHE = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "ansible-deploy-tests" / "roots"
DOUBLE = ("python3", "git", "nginx-light", "sudo", "ca-certificates", "procps")  # a stock server, and the double's
PLUGIN = "/opt/ansible-deploy"  # the working tree's copy in the root
SANDBOX = f"python3 {PLUGIN}/scripts/sandbox"
# What the root needs of the host to reach the package indexes as the host does (read here, never kept).
HOST_FILES = ("etc/resolv.conf", "etc/hosts", "etc/hostname", "etc/ssl/certs/ca-certificates.crt", "etc/pip.conf")


Run = Callable[..., subprocess.CompletedProcess[str]]  # run(script, timeout=...): a bash -e script in the root


def _tarball(suite: str, packages: tuple[str, ...]) -> Path:
    """A minimal root of the suite with the packages, built once (two workers wait for one build)."""
    CACHE.mkdir(parents=True, exist_ok=True)
    tar = CACHE / f"{suite}-{hashlib.sha256(' '.join(packages).encode()).hexdigest()[:12]}.tar"
    with (CACHE / f"{suite}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not tar.exists():
            build = Path(tempfile.mkdtemp(prefix=f"debootstrap-{suite}-", dir=CACHE))
            try:
                subprocess.run(["debootstrap", "--variant=minbase", f"--include={','.join(packages)}", suite,
                                str(build)], check=True, capture_output=True, timeout=1200)  # fmt: skip
                subprocess.run(["tar", "-C", str(build), "-cpf", f"{tar}.tmp", "."], check=True)
                Path(f"{tar}.tmp").rename(tar)
            finally:
                shutil.rmtree(build, ignore_errors=True)
    return tar


@pytest.fixture
def host() -> Iterator[Callable[[str, tuple[str, ...]], Run]]:
    """host(suite, packages): a fresh root of that release with this working tree in it, as a function that runs a
    bash script inside it; everything the root still runs at the end is stopped."""
    roots: list[Path] = []

    def make(suite: str, packages: tuple[str, ...]) -> Run:
        root = Path(tempfile.mkdtemp(prefix=f"ansible-deploy-{suite}-"))
        roots.append(root)
        subprocess.run(["tar", "-C", str(root), "-xpf", str(_tarball(suite, packages))], check=True)
        root.chmod(0o755)  # its /, where the dokku user must find its way
        for name in HOST_FILES:
            if Path("/", name).is_file():
                shutil.copyfile(Path("/", name), root / name)
        if (Path.home() / ".config" / "pip" / "pip.conf").is_file():
            (root / "root" / ".config" / "pip").mkdir(parents=True, exist_ok=True)
            shutil.copyfile(
                Path.home() / ".config" / "pip" / "pip.conf", root / "root" / ".config" / "pip" / "pip.conf"
            )
        working_tree_copy(root / PLUGIN.lstrip("/"))
        run = _runner(root)
        installed = run(f"{PLUGIN}/scripts/install-system-packages --double")  # the double's users and helpers
        assert installed.returncode == 0, installed.stdout + installed.stderr
        return run

    yield make
    for root in roots:
        _stop_everything_in(root)
        shutil.rmtree(root, ignore_errors=True)


FAILS = 'fails() { if "$@"; then echo "did not fail: $*" >&2; return 1; fi; }\n'  # `! cmd` never stops bash -e


def _runner(root: Path) -> Run:
    environment = ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HOME=/root", "LC_ALL=C.UTF-8"]
    # PYTEST_XDIST_*: the root's servers (its sandbox's nginx) pick their ports from this worker's share, as the
    # host's do (scripts/services.py), not from the whole range, where the other worker's servers pick theirs
    environment += [f"{k}={v}" for k, v in os.environ.items() if k.startswith(("PIP_", "PYTEST_XDIST_"))]
    # the double claims its apps' ports in a folder under /tmp (double/deploy.py): the root's own /tmp gets the
    # host's folder, so the root's claims and the host's keep off each other
    claims = port_claims()
    enter = (
        'mount --make-rprivate / && mount --bind "$0" "$0" && mount -t proc proc "$0/proc" && '
        'mount --rbind /dev "$0/dev" && mount -t tmpfs tmpfs "$0/tmp" && mount -t tmpfs tmpfs "$0/run" && '
        f'mkdir "$0{claims}" && mount --bind {claims} "$0{claims}" && '
        'exec chroot "$0" /usr/bin/env -i "${@:2}" bash -ec "$1"'
    )

    def run(script: str, timeout: float = 900) -> subprocess.CompletedProcess[str]:
        return subprocess.run(["unshare", "--mount", "--fork", "bash", "-c", enter, str(root), FAILS + script, *environment],
                              capture_output=True, text=True, check=False, timeout=timeout)  # fmt: skip

    return run


def _stop_everything_in(root: Path) -> None:
    for proc in Path("/proc").iterdir():
        try:
            if proc.name.isdigit() and (proc / "root").readlink() == root:
                os.kill(int(proc.name), signal.SIGKILL)
        except OSError:
            continue


def _device_and_inode(path: Path) -> str:
    found = path.stat()
    return f"{found.st_dev}:{found.st_ino}"


def said(result: subprocess.CompletedProcess[str]) -> str:
    return result.stdout[-4000:] + result.stderr[-4000:]


ADMIT_AND_PUSH = f"""
{SANDBOX} init /srv/box
{SANDBOX} dokku /srv/box apps:create hello
{SANDBOX} dokku /srv/box ansible-deploy:set hello allow-custom-steps true
printf %s {EXAMPLE_VAULT_PASSWORD} | {SANDBOX} dokku /srv/box ansible-deploy:vault-password hello
{SANDBOX} push /srv/box hello {PLUGIN}/examples/hello
"""


@pytest.mark.slow
def test_debian_13_installs_on_python_3_13_and_deploys_the_example_end_to_end(host) -> None:
    run = host("trixie", (*DOUBLE, "python3-venv"))
    result = run(
        ADMIT_AND_PUSH
        + f"""
        grep '^version = 3.13' {PLUGIN}/.venv/pyvenv.cfg
        test "$(python3 -c 'import sys; sys.path[0] = "{PLUGIN}/scripts"; import services; print(services._share())')" \\
            = "{services._share()}"
        test "$(stat -c %d:%i {port_claims()})" = "{_device_and_inode(port_claims())}"  # the host's claims folder
        port=$(python3 -c 'import json; print(json.load(open("/srv/box/var/lib/dokku/data/ps/hello/web.json"))["port"])')
        python3 -c "import urllib.request; print(urllib.request.urlopen('http://127.0.0.1:$port/').read().decode())"
        {SANDBOX} dokku /srv/box ansible-deploy:report hello --ansible-deploy-last-run-status
        {SANDBOX} down /srv/box
        """
    )
    assert result.returncode == 0, said(result)
    assert "hello from env.yml" in result.stdout
    assert "Traceback" not in result.stdout + result.stderr


@pytest.mark.slow
def test_debian_11_is_refused_in_one_sentence_and_dokku_goes_on_working(host) -> None:
    """Python 3.9 and no python3.11 in its archive: the install says so, every other part of Dokku still works, an
    app without packaging deploys, and the example (which has an env.yml) is refused before it is built."""
    run = host("bullseye", (*DOUBLE, "python3-venv"))
    problem = "ansible-deploy needs Python 3.11 or newer and this server has Python 3.9"
    result = run(
        f"""
        {SANDBOX} init /srv/box 2>/tmp/init || {{ cat /tmp/init >&2; exit 1; }}
        grep -F "{problem}" /tmp/init
        test -s {PLUGIN}/.install-problem
        /srv/box/bin/dokku help >/dev/null
        fails /srv/box/bin/dokku ansible-deploy:report 2>/tmp/report
        grep -F "{problem}" /tmp/report
        mkdir /tmp/plain && cp {PLUGIN}/examples/hello/app.py {PLUGIN}/examples/hello/Procfile /tmp/plain/
        {SANDBOX} push /srv/box plain /tmp/plain
        fails {SANDBOX} push /srv/box hello {PLUGIN}/examples/hello >/tmp/refused 2>&1
        grep -F "{problem}" /tmp/refused
        test ! -e /srv/box/var/lib/dokku/data/ps/hello/web.json
        {SANDBOX} down /srv/box
        # nginx 1.18 has no -e: the snippet check, as the dokku user, judges the snippets and not nginx's own log
        check="runuser -u dokku -- env PYTHONPATH={PLUGIN} python3 -m ansible_dokku_deploy.packaging.nginx_check"
        $check {PLUGIN}/examples/hello/nginx.conf.d/gzip.conf
        printf 'foo bar;\n' >/tmp/bad.conf && chmod 644 /tmp/bad.conf
        fails $check /tmp/bad.conf 2>/tmp/verdict
        grep -F 'nginx rejects it: unknown directive "foo"' /tmp/verdict
        """
    )
    assert result.returncode == 0, said(result)
    assert "Traceback" not in result.stdout + result.stderr


@pytest.mark.slow
def test_debian_12_without_python3_venv_gets_it_installed_by_the_install(host) -> None:
    run = host("bookworm", DOUBLE)
    result = run(
        f"""
        fails python3 -c 'import ensurepip' 2>/dev/null  # a stock server: Dokku's package needs python3, not python3-venv
        {SANDBOX} init /srv/box
        dpkg-query -W -f='${{Status}}\\n' python3-venv | grep -q 'install ok installed'
        test ! -e {PLUGIN}/.install-problem
        {SANDBOX} dokku /srv/box ansible-deploy:set --global keep-runs 10
        {SANDBOX} down /srv/box
        """
    )
    assert result.returncode == 0, said(result)
    assert "Traceback" not in result.stdout + result.stderr
