"""What a run's result becomes without a sandbox: who is told, the words of a failure, and the skip decision."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import refused_port

from ansible_dokku_deploy import notify, output, runner
from ansible_dokku_deploy.dokku import Dokku
from ansible_dokku_deploy.history import Run
from ansible_dokku_deploy.settings import Store
from ansible_dokku_deploy.state import State


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return Store(Dokku(root=tmp_path / "home", lib_root=tmp_path / "lib"))


def _run(**fields: object) -> Run:
    return Run(**{"id": "r1", "app": "hello", "phase": "pre-deploy", "rev": "abc", "started_at": 1.0, **fields})


def test_failures_are_notified_successes_only_when_asked_check_runs_never(store: Store) -> None:
    assert notify.wanted(store, _run(status="failed"))
    assert not notify.wanted(store, _run(status="succeeded"))
    assert not notify.wanted(store, _run(status="failed", check=True))
    store.put("hello", "notify-on", "always")
    assert notify.wanted(store, _run(status="succeeded"))


def test_a_notification_says_the_result_with_the_message_redacted(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(output, "_secrets", set())
    output.register_secret("canary-secret")
    body = notify.payload(_run(status="failed", finished_at=3.5, message="login canary-secret refused"))
    assert body["message"] == f"login {output.MASK} refused" and body["duration"] == 2.5
    assert {"app", "phase", "rev", "status", "changed", "failed_task", "run_id", "host"} <= body.keys()


def test_an_unreachable_webhook_is_a_problem_said_never_an_error(store: Store) -> None:
    with refused_port() as port:
        store.put("hello", "notify-webhook-url", f"http://127.0.0.1:{port}/hook")
        problems = notify.send(store, _run(status="failed"))
    assert len(problems) == 1 and "the webhook notification could not be delivered" in problems[0]
    assert "the run is not affected" in problems[0]


@pytest.mark.parametrize(
    ("result", "expected"),
    [
        ({"censored": "hidden"}, "the task failed; its output is hidden because it handles secrets"),
        ({"timedout": {"period": 30}}, "no result within 30 s: the server is down, refusing or too slow"),
        ({"msg": "first line\nsecond line"}, "first line"),
        ({"stderr": "  from stderr  "}, "from stderr"),
        ({"msg": "   "}, "failed"),
        ({}, "failed"),
    ],
)
def test_a_failed_tasks_words(result: dict, expected: str) -> None:
    assert runner._message(result) == expected


def test_ansibles_own_error_is_found_when_no_task_failed() -> None:
    assert runner._error_line("x\n[ERROR]: the role 'nope' was not found\n") == "the role 'nope' was not found"
    assert runner._error_line("ERROR! a broken playbook\n") == "a broken playbook"
    assert runner._error_line("PLAY RECAP\n") == ""


def test_ansibles_refusal_to_start_is_the_reason_the_pusher_sees() -> None:
    """What ansible-core prints before it runs anything, e.g. under a locale the server lacks."""
    stdout = "ERROR: Ansible could not initialize the preferred locale: unsupported locale setting\r\n"
    assert runner._error_line(stdout) == "Ansible could not initialize the preferred locale: unsupported locale setting"
    assert runner._error_line("ERROR: Ansible requires the locale encoding to be UTF-8; Detected None.\n") == (
        "Ansible requires the locale encoding to be UTF-8; Detected None."
    )


def test_a_phase_is_settled_only_by_the_inputs_of_its_last_successful_run(tmp_path: Path) -> None:
    state = State(tmp_path / "state.json")
    assert not state.settled("pre-deploy", "inputs-1"), "never ran"
    state.phases["pre-deploy"] = {"fingerprint": "plan-1", "inputs": "inputs-1"}
    assert state.settled("pre-deploy", "inputs-1")
    assert not state.settled("pre-deploy", "inputs-2"), "something it reads changed"
    assert not state.settled("post-deploy", "inputs-1"), "per phase"
    state.phases["pre-deploy"] = {}  # what a failed run leaves
    assert not state.settled("pre-deploy", "inputs-1")
    state.phases["pre-deploy"] = {"fingerprint": "plan-1", "inputs": ""}
    state.settle("pre-deploy", "inputs-3")  # planned again: the same plan
    state.save()
    assert State.load(tmp_path).settled("pre-deploy", "inputs-3")
