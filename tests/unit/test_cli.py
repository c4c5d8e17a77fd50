"""The one entry point: routing, the error sink, and the outbox delivered however the command ends."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest

from ansible_dokku_deploy import PLUGIN_NAME, announce, cli
from ansible_dokku_deploy.errors import DeployError
from ansible_dokku_deploy.history import History
from ansible_dokku_deploy.outbox import OUTBOX


@pytest.fixture
def dokku_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("DOKKU_ROOT", str(tmp_path / "home"))
    monkeypatch.setenv("DOKKU_LIB_ROOT", str(tmp_path / "lib"))
    monkeypatch.delenv("DOKKU_APP_NAME", raising=False)
    (tmp_path / "lib" / "data" / "ansible").mkdir(parents=True)
    OUTBOX.take()
    return tmp_path


def _command(monkeypatch: pytest.MonkeyPatch, handler) -> list[list[str]]:
    """Every verb routed to handler; returns the argument lists it got."""
    calls: list[list[str]] = []

    def main(args: list[str]) -> None:
        calls.append(args)
        handler()

    monkeypatch.setattr(cli, "command", lambda verb: SimpleNamespace(main=main))
    return calls


def test_an_unknown_command_is_one_line_and_exit_1(dokku_env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["ansible-deploy:nope"]) == 1
    err = capsys.readouterr().err
    assert "`ansible-deploy:nope` is not a dokku command." in err and "ansible-deploy:help" in err


def test_dokkus_global_app_goes_first_for_the_commands_that_take_an_app(
    dokku_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = _command(monkeypatch, lambda: None)
    monkeypatch.setenv("DOKKU_APP_NAME", "hello")
    assert cli.main(["ansible-deploy:report", "--format", "json"]) == 0
    assert cli.main(["ansible-deploy:report", "other"]) == 0
    assert cli.main(["ansible-deploy:set", "--global", "keep-runs", "3"]) == 0
    assert calls == [["hello", "--format", "json"], ["other"], ["--global", "keep-runs", "3"]]


def test_a_crash_is_a_short_line_and_a_log_never_a_traceback(
    dokku_env: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def crash() -> None:
        raise RuntimeError("boom")

    _command(monkeypatch, crash)
    assert cli.main(["ansible-deploy:history", "hello"]) == 1
    err = capsys.readouterr().err
    assert "Traceback" not in err and "ansible-deploy failed unexpectedly (RuntimeError: boom)" in err
    log = Path(err.split("The details are in ")[1].strip())
    assert "Traceback" in log.read_text() and log.stat().st_mode & 0o777 == 0o600


@pytest.mark.parametrize("failure", [None, DeployError("it failed")])
def test_the_runs_a_command_finished_are_announced_once_whether_it_fails_or_not(
    dokku_env: Path, monkeypatch: pytest.MonkeyPatch, failure: DeployError | None
) -> None:
    delivered: list[list[str]] = []
    monkeypatch.setattr(announce, "deliver", lambda dokku: delivered.append([r.id for r in OUTBOX.take()[0]]))
    history = History(dokku_env / "lib" / "data" / "ansible" / "hello")
    finished: list[str] = []

    def run() -> None:
        run = history.start("hello", "backup", "", check=False, roles=[])
        finished.append(history.finish(run, status="failed", changed=0).id)
        if failure:
            raise failure

    _command(monkeypatch, run)
    assert cli.main(["ansible-deploy:backup", "hello"]) == (1 if failure else 0)
    assert delivered == [finished]
    _command(monkeypatch, lambda: None)
    assert cli.main(["ansible-deploy:history", "hello"]) == 0
    assert delivered == [finished], "nothing new, nothing announced"


def test_an_interrupted_run_is_closed_as_failed_and_not_announced(dokku_env: Path) -> None:
    history = History(dokku_env / "lib" / "data" / "ansible" / "hello")
    history.start("hello", "pre-deploy", "", check=False, roles=[])
    OUTBOX.take()
    assert history.close_interrupted()
    assert [r.status for r in history.runs()] == ["failed"]
    assert not OUTBOX


def test_no_help_line_has_a_comma_but_the_one_dokku_splits_at() -> None:
    """Dokku pipes every plugin's help through `column -c2 -t -s,` (the `dokku` script's help): each further comma
    would start a column of its own and break the table of `dokku help` and `dokku help --all`."""
    lines = [*cli.help_lines(), f"    {PLUGIN_NAME}, {cli.DESCRIPTION}"]
    assert [line for line in lines if line.count(",") != 1] == []
