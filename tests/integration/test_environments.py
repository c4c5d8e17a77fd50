"""One packaging serves staging and production; hostile snippets never reach nginx."""

from __future__ import annotations

import http.client
import json
from pathlib import Path

from conftest import Sandbox, edit_env, output


def test_the_admin_picks_the_environment_and_its_overrides_apply(sandbox: Sandbox, app_src: Path) -> None:
    edit_env(
        app_src,
        environments={"staging": {"domains": ["staging.hello.example.test"], "env": {"GREETING": "from staging"}}},
    )
    sandbox.admit("hello")
    sandbox.ok("ansible-deploy:set", "hello", "environment", "staging")
    result = sandbox.push("hello", app_src)
    assert result.returncode == 0, output(result)
    assert sandbox.ok("domains:report", "hello", "--domains-app-vhosts").split() == ["staging.hello.example.test"]
    config = sandbox.config("hello")
    assert config["GREETING"] == "from staging" and config["WORKERS"] == "2"
    report = json.loads(sandbox.ok("ansible-deploy:report", "hello", "--format", "json"))
    assert report["environment"] == "staging"
    assert report["resolved-domains"] == "staging.hello.example.test"
    assert "GREETING=from staging" in report["resolved-env"] and "SECRET_KEY=********" in report["resolved-env"]
    sandbox.ok("ansible-deploy:set", "hello", "environment", "nope")
    refused = sandbox.push("hello", app_src)
    assert refused.returncode != 0
    assert "this app's environment 'nope' is not defined (defined: staging)" in output(refused)


def test_a_hostile_snippet_is_refused_and_the_placed_ones_stay(sandbox: Sandbox, app_src: Path) -> None:
    assert sandbox.push("hello", app_src).returncode == 0
    placed = sorted((sandbox.home / "hello" / "nginx.conf.d").iterdir())
    (app_src / "nginx.conf.d" / "evil.conf").write_text("location /etc/ {\n  alias /etc/;\n}\n")
    result = sandbox.push("hello", app_src)
    assert result.returncode != 0
    assert "nginx.conf.d/evil.conf:2: directive `alias` is not allowed in a snippet" in output(result)
    assert sorted((sandbox.home / "hello" / "nginx.conf.d").iterdir()) == placed


def test_a_quoted_alias_is_refused_and_the_hosts_files_stay_unserved(sandbox: Sandbox, app_src: Path) -> None:
    """nginx reads `'alias'` as `alias`: the snippet would serve the host's /etc through the app's domain."""
    assert sandbox.push("hello", app_src).returncode == 0
    (app_src / "nginx.conf.d" / "leak.conf").write_text("location /leak/ {\n  'alias' /etc/;\n}\n")
    result = sandbox.push("hello", app_src)
    assert result.returncode != 0
    assert "nginx.conf.d/leak.conf:2: directive `alias` is not allowed in a snippet" in output(result)
    port = int(json.loads((sandbox.lib / "data" / "nginx-vhosts" / "sandbox.json").read_text())["http"])
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        conn.request("GET", "/leak/passwd", headers={"Host": "hello.example.test"})
        answer = conn.getresponse()
        body = answer.read()
    finally:
        conn.close()
    assert b"root:x:0:0" not in body
