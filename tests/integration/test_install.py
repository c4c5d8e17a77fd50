"""`dokku plugin:install URL --name ansible-deploy` builds the plugin's venv; a second install changes nothing."""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from conftest import REPO, working_tree_copy


@pytest.mark.slow
def test_plugin_install_builds_an_isolated_venv_and_is_idempotent() -> None:
    root = Path(tempfile.mkdtemp(prefix="ansible-deploy-install-"))
    root.chmod(0o755)
    try:
        subprocess.run(
            [sys.executable, str(REPO / "scripts" / "sandbox"), "init", str(root)], check=True, capture_output=True
        )
        dokku = str(root / "bin" / "dokku")
        plugins = root / "var" / "lib" / "dokku" / "plugins"
        (plugins / "enabled" / "ansible-deploy").unlink()  # start from a server without the plugin
        (plugins / "available" / "ansible-deploy").unlink()
        source = working_tree_copy(root / "source")

        first = subprocess.run([dokku, "plugin:install", f"file://{source}", "--name", "ansible-deploy"],
                               capture_output=True, text=True, check=False)  # fmt: skip
        assert first.returncode == 0, first.stdout + first.stderr
        plugin = plugins / "available" / "ansible-deploy"
        stamp = plugin / ".venv" / ".ansible-deploy-requirements"
        assert stamp.exists()
        python = plugin / ".venv" / "bin" / "python"
        imported = subprocess.run([str(python), "-c", "import ansible_runner, ansible_dokku_deploy; print('ok')"],
                                  capture_output=True, text=True, check=False)  # fmt: skip
        assert imported.stdout.strip() == "ok", imported.stderr
        compiled = plugin / "ansible_dokku_deploy" / "commands" / "__pycache__"  # the hooks, as dokku, cannot write it
        assert list(compiled.glob("report.*.pyc")), "install compiles the plugin's modules"
        data = root / "var" / "lib" / "dokku" / "data" / "ansible"
        assert data.stat().st_mode & 0o777 == 0o700
        if os.geteuid() == 0:
            assert pwd.getpwuid(data.stat().st_uid).pw_name == "dokku"

        before = (stamp.stat().st_mtime_ns, (plugin / ".venv" / "bin").stat().st_mtime_ns)
        again = subprocess.run([dokku, "plugin:install"], capture_output=True, text=True, check=False)
        assert again.returncode == 0, again.stderr
        assert (stamp.stat().st_mtime_ns, (plugin / ".venv" / "bin").stat().st_mtime_ns) == before

        repeat = subprocess.run([dokku, "plugin:install", f"file://{source}", "--name", "ansible-deploy"],
                                capture_output=True, text=True, check=False)  # fmt: skip
        assert repeat.returncode == 1 and "Plugin already enabled" in repeat.stderr
    finally:
        subprocess.run([sys.executable, str(REPO / "scripts" / "sandbox"), "down", str(root)], check=False)
        shutil.rmtree(root, ignore_errors=True)


@pytest.mark.slow
def test_a_packager_gets_a_working_validate_from_pip(tmp_path: Path) -> None:
    """`pip install <git url>` outside any checkout, then `ansible-deploy-validate`: the checks the server runs,
    clear messages and exit 1 for a broken packaging, never a traceback."""
    source = tmp_path / "source"
    subprocess.run(["git", "clone", "-q", str(REPO), str(source)], check=True)  # what pip gets from a git url
    venv = tmp_path / "packager"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    subprocess.run([str(venv / "bin" / "pip"), "install", "-q", str(source)], check=True, capture_output=True)
    shutil.rmtree(source)
    validate = str(venv / "bin" / "ansible-deploy-validate")
    for example in ("hello", "notes", "forge"):
        good = subprocess.run([validate, str(REPO / "examples" / example)], capture_output=True, text=True, check=False)
        assert good.returncode == 0 and "the packaging files are valid" in good.stdout, good.stderr
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "env.yml").write_text("version: 1\nport: abc\n")
    bad = subprocess.run([validate, str(broken)], capture_output=True, text=True, check=False)
    assert bad.returncode == 1 and 'env.yml:2: port: expected a whole number, found the string "abc"' in bad.stderr
    assert "Traceback" not in bad.stdout + bad.stderr


def test_scripts_sandbox_works_as_the_readme_prints_it_on_the_system_python() -> None:
    """The README shows `scripts/sandbox ...`: run so, it starts on the system's Python, which lacks the project's
    packages; it carries on on the project's venv."""
    result = subprocess.run(
        ["/usr/bin/python3", str(REPO / "scripts" / "sandbox")], capture_output=True, text=True, check=False
    )
    assert "scripts/sandbox init ROOT" in result.stderr and "Error" not in result.stderr, result.stderr


def _plain_copy(src: Path, dest: Path) -> Path:
    """The example app without its packaging files: an app the plugin has nothing to do for."""
    shutil.copytree(src, dest, ignore=shutil.ignore_patterns("env.yml", "vault", "nginx.conf.d", "ansible"))
    return dest


@pytest.mark.slow
def test_a_failed_install_leaves_dokku_working_and_refuses_only_what_needs_the_plugin(tmp_path: Path) -> None:
    """plugn stops at the first failing install trigger: ours never fails. Until a later install succeeds, the
    other plugins' installs have run, `dokku help` works, an app without packaging deploys, and a push the plugin
    would provision is refused with what the install said."""
    root = Path(tempfile.mkdtemp(prefix="ansible-deploy-install-"))
    root.chmod(0o755)
    sandbox = [sys.executable, str(REPO / "scripts" / "sandbox")]
    try:
        subprocess.run([*sandbox, "init", str(root)], check=True, capture_output=True)
        dokku = str(root / "bin" / "dokku")
        plugins = root / "var" / "lib" / "dokku" / "plugins"
        (plugins / "enabled" / "ansible-deploy").unlink()
        (plugins / "available" / "ansible-deploy").unlink()
        witness = plugins / "available" / "zz-witness"  # installed after ours: plugn runs them in name order
        witness.mkdir()
        (witness / "plugin.toml").write_text('[plugin]\ndescription = "witness"\nversion = "0.1.0"\n[plugin.config]\n')
        (witness / "install").write_text(f"#!/bin/sh\ntouch {root}/witness-installed\n")
        (witness / "install").chmod(0o755)
        subprocess.run([dokku, "plugin:enable", "zz-witness"], check=True, capture_output=True)
        source = working_tree_copy(root / "source")

        offline = {**os.environ, "PIP_CONFIG_FILE": os.devnull, "PIP_NO_INDEX": "1", "PIP_FIND_LINKS": ""}
        failed = subprocess.run([dokku, "plugin:install", f"file://{source}", "--name", "ansible-deploy"],
                                capture_output=True, text=True, check=False, env=offline)  # fmt: skip
        problem = "ansible-deploy could not install its Python packages"
        assert failed.returncode == 0, failed.stdout + failed.stderr
        assert problem in failed.stderr and "the other plugins go on working" in failed.stderr
        assert "Traceback" not in failed.stdout + failed.stderr
        assert (root / "witness-installed").exists()

        helped = subprocess.run([dokku, "help"], capture_output=True, text=True, check=False)
        assert helped.returncode == 0, helped.stderr
        report = subprocess.run([dokku, "ansible-deploy:report"], capture_output=True, text=True, check=False)
        assert report.returncode == 1 and problem in report.stderr and "Traceback" not in report.stderr

        plain = _plain_copy(REPO / "examples" / "hello", tmp_path / "plain")
        subprocess.run([dokku, "apps:create", "plain"], check=True, capture_output=True)
        pushed = subprocess.run([*sandbox, "push", str(root), "plain", str(plain)],
                                capture_output=True, text=True, check=False)  # fmt: skip
        assert pushed.returncode == 0, pushed.stdout + pushed.stderr
        assert "ansible-deploy" not in pushed.stdout + pushed.stderr

        subprocess.run([dokku, "apps:create", "hello"], check=True, capture_output=True)
        refused = subprocess.run([*sandbox, "push", str(root), "hello", str(REPO / "examples" / "hello")],
                                 capture_output=True, text=True, check=False)  # fmt: skip
        assert refused.returncode != 0 and problem in refused.stdout + refused.stderr
        assert not (root / "var" / "lib" / "dokku" / "data" / "ps" / "hello" / "web.json").exists()

        fixed = subprocess.run([dokku, "plugin:install"], capture_output=True, text=True, check=False)
        assert fixed.returncode == 0 and "stands aside" not in fixed.stderr, fixed.stderr
        assert not (plugins / "available" / "ansible-deploy" / ".install-problem").exists()
        assert (
            subprocess.run([dokku, "ansible-deploy:report", "hello"], capture_output=True, check=False).returncode == 0
        )
    finally:
        subprocess.run([*sandbox, "down", str(root)], check=False)
        shutil.rmtree(root, ignore_errors=True)
