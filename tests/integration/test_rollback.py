"""A failed pre-deploy is rolled back to the release still serving; ansible-deploy:rollback returns on request."""

from __future__ import annotations

from pathlib import Path

from conftest import Sandbox, break_pre_deploy, edit_env, output


def _vhosts(sandbox: Sandbox, app: str) -> list[str]:
    return sandbox.ok("domains:report", app, "--domains-app-vhosts").split()


def test_a_pre_deploy_that_fails_part_way_is_rolled_back(sandbox: Sandbox, app_src: Path) -> None:
    assert sandbox.push("hello", app_src).returncode == 0
    served = sandbox.staged("hello")
    settings = lambda: {k: v for k, v in sandbox.config("hello").items() if k != "GIT_REV"}  # noqa: E731  # Dokku sets GIT_REV on receive
    before = {"config": settings(), "vhosts": _vhosts(sandbox, "hello"), "web": sandbox.web("hello")}

    edit_env(
        app_src,
        env={"GREETING": "changed by the failed push", "WORKERS": 2, "DEBUG": False, "EXTRA": "x"},
        domains=["hello.example.test", "new.example.test"],
    )
    break_pre_deploy(app_src)
    failed = sandbox.push("hello", app_src)  # the roles apply the new settings and domains, then the step fails
    text = output(failed)
    assert failed.returncode != 0
    assert "pre-deploy failed at task 'Fail on purpose'" in text
    assert f"rolling hello back to release {served.name}, which still serves it" in text
    assert "dokku ansible-deploy:restore hello BACKUP" in text

    assert settings() == before["config"]
    assert _vhosts(sandbox, "hello") == before["vhosts"]
    assert sandbox.staged("hello") == served
    assert sandbox.web("hello") == before["web"], "the old container kept serving"
    assert sandbox.get("hello")["greeting"] == "hello from env.yml"
    history = sandbox.ok("ansible-deploy:history", "hello")
    assert "pre-deploy" in history and "rollback" in history


def test_a_first_push_that_fails_takes_back_what_it_set_and_says_what_stays(sandbox: Sandbox, app_src: Path) -> None:
    break_pre_deploy(app_src)  # the roles set the settings and place the snippets, then the step fails
    failed = sandbox.push("hello", app_src)
    text = output(failed)
    assert failed.returncode != 0
    assert "hello never served a release, so there is none to return to" in text
    assert "Left as the failed run set them: the port map, domains and storage mounts" in text
    assert "Traceback" not in text
    assert not {"GREETING", "WORKERS", "DEBUG", "SECRET_KEY"} & set(sandbox.config("hello")), "settings taken back"
    snippets = sandbox.home / "hello" / "nginx.conf.d"
    assert not list(snippets.glob("ansible-deploy-*")), "snippets taken back"
    assert (sandbox.staged("hello") / "ansible" / "broken.yml").exists(), "the pushed release stays staged"
    assert "rollback" in sandbox.ok("ansible-deploy:history", "hello")

    (app_src / "ansible" / "broken.yml").write_text(
        "---\n- name: Mended\n  hosts: localhost\n  gather_facts: false\n  tasks: []\n"
    )
    fixed = sandbox.push("hello", app_src)
    assert fixed.returncode == 0, output(fixed)
    assert sandbox.config("hello")["GREETING"] == "hello from env.yml"


def test_rollback_command_returns_to_an_earlier_release_without_a_push(sandbox: Sandbox, app_src: Path) -> None:
    """Also for an app whose pushes write their commit into no setting (Dokku's `git:set APP rev-env-var ""`):
    the new release is made without creating one."""
    sandbox.admit("hello")
    sandbox.ok("git:set", "hello", "rev-env-var", "")
    assert sandbox.push("hello", app_src).returncode == 0
    first = sandbox.staged("hello")
    edit_env(app_src, env={"GREETING": "second", "WORKERS": 2, "DEBUG": False})
    assert sandbox.push("hello", app_src).returncode == 0
    second = sandbox.staged("hello")
    assert sandbox.get("hello")["greeting"] == "second"

    back = sandbox.dokku("ansible-deploy:rollback", "hello")
    assert back.returncode == 0, output(back)
    assert sandbox.staged("hello") == first
    assert sandbox.config("hello")["GREETING"] == "hello from env.yml"
    assert sandbox.get("hello")["greeting"] == "hello from env.yml", "the app was restarted with the settings"
    assert "Databases are not rolled back" in back.stdout
    assert "GIT_REV" not in sandbox.config("hello"), "the app's pushes keep their commit in no setting"

    unknown = sandbox.dokku("ansible-deploy:rollback", "hello", "20200101T000000Z-dead")
    assert unknown.returncode == 1
    assert "20200101T000000Z-dead is not a successful run of hello" in unknown.stderr
    assert "Traceback" not in output(unknown)

    rows = [line.split() for line in sandbox.ok("ansible-deploy:history", "hello").splitlines()]
    second_run = next(row[0] for row in rows if row[1:2] == ["pre-deploy"] and second.name in row)
    assert sandbox.dokku("ansible-deploy:rollback", "hello", second_run).returncode == 0
    assert sandbox.staged("hello") == second
    assert sandbox.get("hello")["greeting"] == "second"
