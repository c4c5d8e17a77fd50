"""Run results reach a webhook (JSON POST) and a mailbox (SMTP), both local receivers; delivery never fails a run."""

from __future__ import annotations

import socketserver
import threading
from collections.abc import Iterator
from email import message_from_string
from pathlib import Path

import pytest
from conftest import TOKEN, Receiver, Sandbox, break_pre_deploy, edit_env, output, refused_port


class Mailbox(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    mails: list[str]


class Smtp(socketserver.StreamRequestHandler):
    """Just enough SMTP to accept mail: every command is OK, DATA is kept."""

    server: Mailbox

    def handle(self) -> None:
        say = lambda text: self.wfile.write(f"{text}\r\n".encode())  # noqa: E731
        say("220 sink ready")
        data: list[str] | None = None
        for raw in self.rfile:
            line = raw.decode().rstrip("\r\n")
            if data is not None:
                if line == ".":
                    self.server.mails.append("\n".join(data))
                    data = None
                    say("250 kept")
                else:
                    data.append(line.removeprefix("."))
            elif line[:4].upper() == "EHLO":
                say("250 sink")
            elif line[:4].upper() == "DATA":
                data = []
                say("354 go ahead")
            elif line[:4].upper() == "QUIT":
                say("221 bye")
                return
            else:
                say("250 ok")


@pytest.fixture
def mailbox() -> Iterator[Mailbox]:
    server = Mailbox(("127.0.0.1", 0), Smtp)
    server.mails = []
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server
    server.shutdown()


def _notify_to(sandbox: Sandbox, hook: Receiver, mailbox: Mailbox) -> None:
    url = f"http://127.0.0.1:{hook.server_address[1]}/hooks/{TOKEN}"
    assert sandbox.dokku("ansible-deploy:set", "--global", "notify-webhook-url", "-", input=url).returncode == 0
    sandbox.ok("ansible-deploy:set", "--global", "notify-email-to", "ops@example.test")
    sandbox.ok("ansible-deploy:set", "--global", "smtp-port", str(mailbox.server_address[1]))


def test_a_failed_deploy_is_posted_and_mailed(
    sandbox: Sandbox, app_src: Path, hook: Receiver, mailbox: Mailbox
) -> None:
    _notify_to(sandbox, hook, mailbox)
    assert sandbox.push("hello", app_src).returncode == 0
    assert hook.posts == [] and mailbox.mails == [], "successes are not sent unless notify-on is always"

    break_pre_deploy(app_src)
    failed = sandbox.push("hello", app_src)
    assert failed.returncode != 0
    post = hook.posts[0]
    assert {k: post[k] for k in ("app", "phase", "status", "failed_task")} == {
        "app": "hello", "phase": "pre-deploy", "status": "failed", "failed_task": "Fail on purpose",
    }  # fmt: skip
    assert len(str(post["rev"])) == 40 and float(post["duration"]) > 0 and isinstance(post["changed"], int)
    assert "the packager's step failed" in str(post["message"])
    assert [p["phase"] for p in hook.posts] == ["pre-deploy"], "the rollback that followed succeeded: not sent"
    mail = message_from_string(mailbox.mails[0])
    assert mail["Subject"] == "[ansible-deploy] hello: pre-deploy failed"
    assert mail["To"] == "ops@example.test"
    assert "failed_task: Fail on purpose" in mail.get_payload()
    assert TOKEN not in output(failed) + sandbox.ok("ansible-deploy:report", "hello")


def test_every_run_is_sent_when_asked(sandbox: Sandbox, app_src: Path, hook: Receiver, mailbox: Mailbox) -> None:
    _notify_to(sandbox, hook, mailbox)
    sandbox.ok("ansible-deploy:set", "--global", "notify-on", "always")
    assert sandbox.push("hello", app_src).returncode == 0
    assert [(p["phase"], p["status"]) for p in hook.posts] == [
        ("pre-deploy", "succeeded"),
        ("post-deploy", "succeeded"),
    ]
    assert len(mailbox.mails) == 2


def test_undeliverable_notifications_are_logged_and_never_fail_the_deploy(
    sandbox: Sandbox, app_src: Path, hook: Receiver
) -> None:
    hook.status = 500
    url = f"http://127.0.0.1:{hook.server_address[1]}/hooks/{TOKEN}"
    assert sandbox.dokku("ansible-deploy:set", "hello", "notify-webhook-url", "-", input=url).returncode != 0
    sandbox.admit("hello")
    assert sandbox.dokku("ansible-deploy:set", "hello", "notify-webhook-url", "-", input=url).returncode == 0
    sandbox.ok("ansible-deploy:set", "hello", "notify-on", "always")
    sandbox.ok("ansible-deploy:set", "hello", "notify-email-to", "ops@example.test")
    with refused_port() as down:
        sandbox.ok("ansible-deploy:set", "--global", "smtp-port", str(down))
        pushed = sandbox.push("hello", app_src)
    assert pushed.returncode == 0, output(pushed)
    text = output(pushed)
    assert "the webhook notification could not be delivered (HTTP 500); the run is not affected" in text
    assert "the mail notification could not be delivered (" in text
    assert "could not be delivered" in sandbox.ok("ansible-deploy:logs", "hello")
    assert TOKEN not in text


def test_a_release_failing_its_check_before_the_switch_is_posted(
    sandbox: Sandbox, app_src: Path, hook: Receiver, mailbox: Mailbox
) -> None:
    _notify_to(sandbox, hook, mailbox)
    assert sandbox.push("hello", app_src).returncode == 0
    sandbox.ok("ansible-deploy:set", "hello", "healthcheck-timeout", "1")
    edit_env(app_src, env={"GREETING": "hi", "HEALTHZ_STATUS": 500})
    assert sandbox.push("hello", app_src).returncode != 0
    assert [(p["phase"], p["status"]) for p in hook.posts] == [("check-deploy", "failed")]
    assert "health check failed before the switch" in str(hook.posts[0]["message"])
    assert message_from_string(mailbox.mails[0])["Subject"] == "[ansible-deploy] hello: check-deploy failed"
