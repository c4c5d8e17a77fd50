"""A build that fails after post-extract leaves the packaging of the release that still serves staged."""

from __future__ import annotations

import json
from pathlib import Path

from conftest import Sandbox, edit_env, output


def test_a_failed_build_leaves_the_serving_packaging_staged(sandbox: Sandbox, app_src: Path) -> None:
    assert sandbox.push("hello", app_src).returncode == 0
    served = sandbox.staged("hello")

    edit_env(app_src, env={"GREETING": "from the build that failed", "WORKERS": 2, "DEBUG": False})
    (app_src / "Dockerfile").write_text("FROM python:3-slim\nCOPY . /app\nRUN echo compiling && exit 3\n")
    failed = sandbox.push("hello", app_src)
    text = output(failed)
    assert failed.returncode != 0
    assert "App build failed" in text
    assert "Traceback" not in text
    assert sandbox.staged("hello") == served, "the failed build's packaging must not be staged"
    report = sandbox.ok("ansible-deploy:report", "hello", "--format", "json")
    assert json.loads(report)["staged-release"] == served.name

    sandbox.ok("ps:restart", "hello")
    deployed = json.loads((sandbox.data_dir("hello") / "deployed.json").read_text())
    assert deployed[-1]["release"] == served.name
    sandbox.ok("config:set", "hello", "UNRELATED=1")
    assert sandbox.config("hello")["GREETING"] == "hello from env.yml"
    assert sandbox.get("hello")["greeting"] == "hello from env.yml"
