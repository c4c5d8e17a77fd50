"""`dokku plugin:install URL --name ansible-deploy` builds the plugin's venv; a second install changes nothing."""

from __future__ import annotations

import os
import pwd
import shutil
import stat
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from conftest import REPO, Sandbox, edit_env, output, working_tree_copy


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


def test_the_install_never_follows_a_link_in_the_dokku_users_folders(sandbox: Sandbox) -> None:
    """The install runs as root and gives its folders to the dokku user, who may swap one for a link (to /etc):
    the next plugin:install of any plugin must not chown or chmod the link's target, and must not fail."""
    data = sandbox.lib / "data"
    targets = {}
    for folder in (data / "ansible" / ".settings" / "--global", data / "ansible-acme"):
        target = Path(tempfile.mkdtemp(prefix="ansible-deploy-root-"))
        target.chmod(0o751)
        shutil.rmtree(folder)
        folder.symlink_to(target)
        targets[folder] = target
    try:
        result = sandbox.dokku("plugin:install")
        assert result.returncode == 0, output(result)
        for folder, target in targets.items():
            assert (target.stat().st_uid, stat.S_IMODE(target.stat().st_mode)) == (os.geteuid(), 0o751)
            assert f"ansible-deploy left {folder} alone: it is not a folder but a link" in result.stderr
        assert stat.S_IMODE((data / "ansible" / ".settings").stat().st_mode) == 0o700  # the rest is done
    finally:
        for target in targets.values():
            shutil.rmtree(target)


def _stand_aside(box: Sandbox) -> str:
    """Reinstall the plugin from a copy of the working tree with no package index: the install fails, and the
    plugin stands aside (scripts/standby). Returns what the install said."""
    plugins = box.lib / "plugins"
    (plugins / "enabled" / "ansible-deploy").unlink()
    (plugins / "available" / "ansible-deploy").unlink()
    source = working_tree_copy(box.root / "source")
    offline = {**os.environ, "PIP_CONFIG_FILE": os.devnull, "PIP_NO_INDEX": "1", "PIP_FIND_LINKS": ""}
    failed = subprocess.run([str(box.root / "bin" / "dokku"), "plugin:install", f"file://{source}", "--name",
                             "ansible-deploy"], capture_output=True, text=True, check=False, env=offline)  # fmt: skip
    assert failed.returncode == 0 and "stands aside" in failed.stderr, failed.stdout + failed.stderr
    return failed.stderr


@pytest.mark.slow
def test_in_standby_a_destroy_still_removes_the_apps_secrets_and_a_rename_keeps_them(
    sandbox: Sandbox, app_src: Path
) -> None:
    """While a failed install keeps the plugin aside, apps:destroy must not leave the app's vault password,
    settings and staged packaging for a later app of the same name; apps:rename must move them, not lose them; the
    crontab keeps the plugin's jobs."""
    assert sandbox.push("hello", app_src).returncode == 0
    edit_env(app_src, domains=["kept.example.test"])  # an app's domains are its own
    assert sandbox.push("kept", app_src).returncode == 0
    settings = sandbox.lib / "data" / "ansible" / ".settings"
    sandbox.ok("ansible-deploy:set", "--global", "acme-directory", "https://127.0.0.1:9/dir")
    sandbox.ok("plugin:trigger", "scheduler-cron-write")
    _stand_aside(sandbox)
    crontab = sandbox.lib / "data" / "cron" / "crontab"
    crontab.unlink()  # standing aside, the plugin gives its last good jobs: any app's deploy keeps them
    sandbox.ok("plugin:trigger", "scheduler-cron-write")
    assert "dokku ansible-deploy:renew --all" in crontab.read_text()

    renamed = sandbox.dokku("apps:rename", "--skip-deploy", "kept", "moved")
    assert renamed.returncode == 0, output(renamed)
    assert (settings / "moved" / "vault-password").exists() and sandbox.staged("moved").exists()
    assert not sandbox.data_dir("kept").exists() and not (settings / "kept").exists()

    destroyed = sandbox.dokku("--force", "apps:destroy", "hello")
    assert destroyed.returncode == 0, output(destroyed)
    assert "it removed hello's settings and staged packaging" in destroyed.stderr
    assert not sandbox.data_dir("hello").exists() and not (settings / "hello").exists()
    sandbox.ok("apps:create", "hello")  # a later app of the same name inherits nothing
    assert not (settings / "hello").exists() and not sandbox.data_dir("hello").exists()


def test_scheduled_jobs_survive_a_crash_and_the_install_rewrites_the_crontab(sandbox: Sandbox) -> None:
    """Dokku rewrites the whole crontab from one cron-entries chain that stops at the first failing hook
    (plugins/cron/crontab.go): the plugin's hook never fails, and when it cannot work out its lines (here a crash;
    standing aside after a failed install: the standby test) it gives the last good ones, so neither its jobs nor a
    later plugin's (dokku-letsencrypt's renewal sorts after it) vanish. A successful install rewrites the crontab."""
    sandbox.add_plugin("zz-later", cron_entries="echo '5 5 * * *;dokku later:job'")  # after ours: plugn's name order
    sandbox.ok("ansible-deploy:set", "--global", "acme-directory", "https://127.0.0.1:9/dir")
    crontab = sandbox.lib / "data" / "cron" / "crontab"
    crontab.unlink(missing_ok=True)

    installed = sandbox.dokku("plugin:install")
    assert installed.returncode == 0, output(installed)
    jobs = ("dokku ansible-deploy:renew --all", "5 5 * * * dokku later:job")
    assert crontab.exists() and all(job in crontab.read_text() for job in jobs), output(installed)

    setting = sandbox.lib / "data" / "ansible" / ".settings" / "--global" / "acme-directory"
    setting.chmod(0)  # the hook, as the dokku user, cannot read its settings: it crashes
    crashed = sandbox.dokku("plugin:trigger", "cron-entries", "docker-local")
    assert crashed.returncode == 0 and "dokku ansible-deploy:renew --all" in crashed.stdout, output(crashed)
    assert "dokku later:job" in crashed.stdout and "Traceback" not in crashed.stderr
    assert "ansible-deploy could not work out its scheduled jobs" in crashed.stderr
    crontab.unlink()
    sandbox.ok("plugin:trigger", "scheduler-cron-write")
    assert all(job in crontab.read_text() for job in jobs)


def test_a_failing_hook_never_stops_dokkus_chain(sandbox: Sandbox) -> None:
    """plugn stops at the first failing hook, and apps:destroy returns on post-delete's failure with the app half
    destroyed (plugins/apps/functions.go): post-delete, report, post-app-rename-setup and post-app-clone-setup warn
    and let Dokku and the plugins after this one go on."""
    witness = sandbox.lib / "plugins" / "available" / "zz-witness"  # after ours: plugn runs plugins in name order
    witness.mkdir()
    (witness / "plugin.toml").write_text('[plugin]\ndescription = "witness"\nversion = "0.1.0"\n[plugin.config]\n')
    for hook in ("post-delete", "report", "post-app-rename-setup", "post-app-clone-setup"):
        (witness / hook).write_text(f'#!/bin/sh\necho "{hook} $1" >> {sandbox.root}/witness\n')
        (witness / hook).chmod(0o755)
    (sandbox.root / "witness").touch(mode=0o666)  # the hooks run as the dokku user
    (sandbox.root / "witness").chmod(0o666)
    sandbox.ok("plugin:enable", "zz-witness")
    sandbox.ok("apps:create", "plain")
    unreadable = sandbox.lib / "data" / "ansible" / ".settings" / "plain"  # the hooks cannot read the app's settings
    unreadable.mkdir()
    unreadable.chmod(0)
    try:
        for command in (("report", "plain"), ("apps:clone", "--skip-deploy", "plain", "copy"),
                        ("apps:rename", "--skip-deploy", "plain", "moved"), ("--force", "apps:destroy", "moved")):  # fmt: skip
            done = sandbox.dokku(*command)
            assert done.returncode == 0, output(done)
            assert "Traceback" not in done.stderr
        said = (sandbox.root / "witness").read_text().split("\n")
        assert {
            "report plain",
            "post-app-clone-setup plain",
            "post-app-rename-setup plain",
            "post-delete moved",
        } <= set(said), said
        assert "ansible-deploy could not" in done.stderr and "PermissionError" in done.stderr, done.stderr
        assert not (sandbox.home / "moved").exists(), "the destroy went to its end"
    finally:
        for folder in (sandbox.lib / "data" / "ansible" / ".settings").iterdir():
            folder.chmod(0o700)


def test_uninstall_takes_the_plugins_jobs_out_of_the_crontab_and_says_what_it_keeps(sandbox: Sandbox) -> None:
    """plugin:uninstall runs every plugin's `uninstall NAME` as root, then removes the plugin
    (plugins/plugin/functions): its cron jobs would otherwise fail ("not a dokku command") until the next deploy
    rewrote the crontab. The apps' settings and secrets stay, and it says so."""
    sandbox.add_plugin("zz-later", cron_entries="echo '5 5 * * *;dokku later:job'")
    sandbox.ok("ansible-deploy:set", "--global", "acme-directory", "https://127.0.0.1:9/dir")
    sandbox.ok("plugin:trigger", "scheduler-cron-write")
    crontab = sandbox.lib / "data" / "cron" / "crontab"
    assert "ansible-deploy:renew" in crontab.read_text()

    quiet = sandbox.lib / "plugins" / "available" / "zz-quiet"
    quiet.mkdir()
    (quiet / "plugin.toml").write_text('[plugin]\ndescription = "quiet"\nversion = "0.1.0"\n[plugin.config]\n')
    sandbox.ok("plugin:enable", "zz-quiet")
    other = sandbox.dokku("plugin:uninstall", "zz-quiet")  # another plugin's uninstall is not ours
    assert other.returncode == 0 and "ansible-deploy" not in other.stdout + other.stderr, output(other)
    assert "ansible-deploy:renew" in crontab.read_text()

    done = sandbox.dokku("plugin:uninstall", "ansible-deploy")
    assert done.returncode == 0, output(done)
    assert "ansible-deploy:renew" not in crontab.read_text() and "dokku later:job" in crontab.read_text()
    assert "keeps" in done.stdout + done.stderr and ".settings" in done.stdout + done.stderr
    assert (sandbox.lib / "data" / "ansible" / ".settings" / "--global" / "acme-directory").exists()
    assert not (sandbox.lib / "plugins" / "available" / "ansible-deploy").exists()
