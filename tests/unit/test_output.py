"""Output in Dokku's voice, with registered secrets masked everywhere."""

from __future__ import annotations

import threading

import pytest

from ansible_dokku_deploy import output


def test_registered_secrets_are_masked_in_every_line(capsys: pytest.CaptureFixture[str]) -> None:
    output.register_secret("s3cr3t-canary-value")
    output.step("token is s3cr3t-canary-value")
    output.warn("again: s3cr3t-canary-value!")
    out, err = capsys.readouterr()
    assert out == "-----> token is ********\n"
    assert err == " !     again: ********!\n"


def test_header_is_quiet_able(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("DOKKU_QUIET_OUTPUT", "1")
    output.header("app information")
    output.detail("value")
    assert capsys.readouterr().out == "       value\n"


def test_work_alongside_says_its_lines_after_the_block_in_order(capsys: pytest.CaptureFixture[str]) -> None:
    started = threading.Event()

    def work() -> None:
        output.step("created the repository")
        output.warn("and a warning")
        started.set()

    with output.alongside(work):
        assert started.wait(10)  # the work has said everything: none of it is out yet
        output.step("the run's own progress")
    out, err = capsys.readouterr()
    assert out == "-----> the run's own progress\n-----> created the repository\n"
    assert err == " !     and a warning\n"


def test_a_failure_alongside_is_raised_after_the_block_unless_the_block_failed() -> None:
    def broken() -> None:
        raise ValueError("side")

    with pytest.raises(ValueError, match="side"), output.alongside(broken):
        pass
    with pytest.raises(KeyError, match="main"), output.alongside(broken):
        raise KeyError("main")
