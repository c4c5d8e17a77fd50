"""Settings: typed values, suggestions for typos, and secrets that never come from the command line."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from ansible_dokku_deploy import output, settings
from ansible_dokku_deploy.commands import set as set_command
from ansible_dokku_deploy.dokku import Dokku
from ansible_dokku_deploy.errors import DeployError, UsageError


@pytest.fixture
def dokku_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("DOKKU_ROOT", str(tmp_path / "home"))
    monkeypatch.setenv("DOKKU_LIB_ROOT", str(tmp_path / "lib"))
    (tmp_path / "home" / "app").mkdir(parents=True)
    secret = settings.Setting("test-secret", "a secret for this test", secret=True)
    monkeypatch.setitem(settings.SETTINGS, secret.key, secret)
    return tmp_path


def test_a_secret_is_refused_as_a_command_line_value(dokku_env: Path) -> None:
    with pytest.raises(UsageError, match="never taken as a command-line value"):
        set_command.main(["app", "test-secret", "hunter2-canary"])


def test_a_secret_comes_from_stdin_and_is_stored_0600_and_masked(
    dokku_env: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("hunter2-canary\n"))
    set_command.main(["app", "test-secret", "-"])
    stored = dokku_env / "lib" / "data" / "ansible" / ".settings" / "app" / "test-secret"
    assert stored.read_text() == "hunter2-canary"
    assert stored.stat().st_mode & 0o777 == 0o600
    assert "hunter2-canary" not in capsys.readouterr().out
    assert output.redact("x hunter2-canary") == "x ********"


def test_a_secret_comes_from_a_file(dokku_env: Path) -> None:
    source = dokku_env / "secret.txt"
    source.write_text("from-a-file\n")
    set_command.main(["--global", "test-secret", "--from-file", str(source)])
    assert (
        dokku_env / "lib" / "data" / "ansible" / ".settings" / "--global" / "test-secret"
    ).read_text() == "from-a-file"


def test_int_settings_are_checked() -> None:
    with pytest.raises(DeployError, match="expects a whole number of at least 1"):
        settings.SETTINGS["keep-runs"].parse("0")
    assert settings.SETTINGS["keep-runs"].parse("007") == "7"


def test_no_setting_hides_a_report_field_of_the_same_name() -> None:
    from ansible_dokku_deploy.commands import report

    assert not report.OWN_FIELDS & set(settings.SETTINGS)


def test_a_secret_is_masked_because_the_registry_says_so_whatever_is_read_first(
    dokku_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = settings.Store(Dokku.from_environ())
    password_file = dokku_env / "admin-password"
    password_file.write_text("admin-canary-pw\n")
    store.put(settings.GLOBAL, "test-secret", "global-canary")
    store.put(settings.GLOBAL, "postgres-admin-password-file", str(password_file))
    store.put("app", settings.DATABASE_PASSWORD, "app-db-canary")
    # a new process: nothing registered, nothing read yet
    monkeypatch.setattr(output, "_secrets", set())
    monkeypatch.setattr(settings, "_READ", {})
    assert store.get(settings.GLOBAL, "keep-runs") == ""  # an unrelated key of the same scope
    assert output.redact("global-canary") == output.MASK
    assert output.redact(str(password_file)) == str(password_file), "a file's path is not its content"
    assert output.redact("admin-canary-pw") == "admin-canary-pw", "not read yet"
    assert store.named_file(settings.GLOBAL, "postgres-admin-password-file") == "admin-canary-pw"
    assert output.redact("admin-canary-pw") == output.MASK
    store.computed("app", "keep-runs")
    assert output.redact("app-db-canary") == output.MASK


@pytest.mark.parametrize(
    ("args", "parsed"),
    [
        ([], ("stdout", [], [])),
        (["hello"], ("stdout", [], ["hello"])),
        (["hello", "--format", "json"], ("json", [], ["hello"])),
        (["--format", "json"], ("json", [], [])),
        (
            ["hello", "--ansible-deploy-computed-keep-runs"],
            ("stdout", ["--ansible-deploy-computed-keep-runs"], ["hello"]),
        ),
    ],
)
def test_reports_arguments_read_as_dokkus_do(args: list[str], parsed: tuple[str, list[str], list[str]]) -> None:
    from ansible_dokku_deploy.commands import report

    assert report._parse(args) == parsed


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["hello", "--format", "yaml"], "Invalid --format value specified: 'yaml'"),
        (["hello", "--format"], "Invalid --format value specified: ''"),
        (["a", "b"], "Unexpected argument(s): b"),
        (["hello", "--format", "json", "--ansible-deploy-features"], "--format flag cannot be specified"),
        (["hello", "--nope"], "Invalid flag passed, valid flags: --ansible-deploy-"),
    ],
)
def test_a_wrong_report_argument_says_what_dokku_says(args: list[str], message: str) -> None:
    from ansible_dokku_deploy.commands import report

    with pytest.raises(UsageError) as caught:
        report._parse(args)
    assert caught.value.message.startswith(message)


@pytest.mark.parametrize("key", sorted(key for key, setting in settings.SETTINGS.items() if setting.secret))
def test_a_secret_setting_too_short_to_be_masked_is_refused(
    dokku_env: Path, monkeypatch: pytest.MonkeyPatch, key: str
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("abc\n"))
    with pytest.raises(DeployError, match=f"{key} is a secret of at least 4 characters"):
        set_command.main(["--global", key, "-"])
    assert not (dokku_env / "lib" / "data" / "ansible" / ".settings" / "--global" / key).exists()


def test_a_vault_password_too_short_to_be_masked_is_refused(dokku_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from ansible_dokku_deploy.commands import vault_password

    monkeypatch.setattr("sys.stdin", io.StringIO("pw1\n"))
    with pytest.raises(DeployError, match="vault-password is a secret of at least 4 characters"):
        vault_password.main(["app"])


def test_an_admin_password_file_too_short_to_be_masked_is_refused(dokku_env: Path) -> None:
    store = settings.Store(Dokku.from_environ())
    password_file = dokku_env / "admin-password"
    password_file.write_text("pw\n")
    store.put(settings.GLOBAL, "postgres-admin-password-file", str(password_file))
    with pytest.raises(DeployError, match=f"postgres-admin-password-file: {password_file} holds a secret of fewer"):
        store.named_file(settings.GLOBAL, "postgres-admin-password-file")


@pytest.mark.parametrize(("target", "allowed_for"), [("app", "app"), ("--global", "every app")])
def test_allowing_custom_steps_warns_that_it_gives_the_pushers_root_and_the_servers_secrets(
    dokku_env: Path, capsys: pytest.CaptureFixture[str], target: str, allowed_for: str
) -> None:
    set_command.main([target, "allow-custom-steps", "true"])
    warning = capsys.readouterr().err
    assert warning.startswith(f" !     Custom steps are allowed for {allowed_for}: a step runs as the `dokku` user, ")
    for grant in ("root-equivalent (it is in the docker group)", "the DNS TSIG key, the database admin login",
                  "every app's settings and secrets", "gives whoever can push to the app root on the server"):  # fmt: skip
        assert grant in warning
        assert grant in settings.SETTINGS["allow-custom-steps"].description
    set_command.main([target, "allow-custom-steps", "false"])
    assert capsys.readouterr().err == "", "turning them off warns of nothing"
