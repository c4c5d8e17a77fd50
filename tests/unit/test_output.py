"""Output in Dokku's voice, with registered secrets masked everywhere."""

from __future__ import annotations

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
