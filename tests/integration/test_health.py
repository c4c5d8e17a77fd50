"""Every deploy ends by proving the app answers its health path through its own vhost, on every domain."""

from __future__ import annotations

import json
from pathlib import Path

from conftest import Sandbox, edit_env, output


def test_a_healthy_app_passes_on_every_domain(sandbox: Sandbox, app_src: Path) -> None:
    result = sandbox.push("hello", app_src)
    assert result.returncode == 0, output(result)
    text = output(result)
    assert "Checking http://hello.example.test/healthz (through 127.0.0.1:" in text
    assert "Checking http://www.hello.example.test/healthz" in text
    report = json.loads(sandbox.ok("ansible-deploy:report", "hello", "--format", "json"))
    assert report["health-path"] == "/healthz"
    assert report["health-last-result"] == "succeeded"


def test_an_app_answering_500_fails_the_deploy_with_what_came_back(sandbox: Sandbox, app_src: Path) -> None:
    edit_env(app_src, env={"GREETING": "hi", "HEALTHZ_STATUS": 500})
    sandbox.admit("hello")
    sandbox.ok("ansible-deploy:set", "hello", "healthcheck-timeout", "2")
    result = sandbox.push("hello", app_src)
    assert result.returncode != 0
    text = output(result)
    assert "health check failed: GET http://hello.example.test/healthz (through 127.0.0.1:" in text
    assert "answered 500" in text and '"greeting": "hi"' in text
    assert "Traceback" not in text
    assert sandbox.ok("ansible-deploy:report", "hello", "--ansible-deploy-health-last-result").startswith("failed:")


def test_an_app_not_answering_at_all_fails_clearly(sandbox: Sandbox, app_src: Path) -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed = s.getsockname()[1]
    sandbox.admit("hello")
    sandbox.ok("ansible-deploy:set", "hello", "healthcheck-http-port", str(closed))
    sandbox.ok("ansible-deploy:set", "hello", "healthcheck-timeout", "1")
    result = sandbox.push("hello", app_src)
    assert result.returncode != 0
    assert "could not be reached: [Errno 111] Connection refused" in output(result)


def test_an_app_without_a_health_check_is_not_probed(sandbox: Sandbox, app_src: Path) -> None:
    edit_env(app_src, monitoring=None)
    result = sandbox.push("hello", app_src)
    assert result.returncode == 0, output(result)
    assert "Checking http" not in output(result)  # app-json's "Checking for postdeploy task" is Dokku's
    assert sandbox.ok("ansible-deploy:report", "hello", "--ansible-deploy-health-path").strip() == "none declared"
