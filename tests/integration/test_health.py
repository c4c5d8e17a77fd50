"""A new release must answer its health path before it takes traffic (check-deploy, at the new container), and
every deploy ends by proving it answers through its own vhost, on every domain, once nginx serves it."""

from __future__ import annotations

import http.client
import json
import shutil
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from conftest import Sandbox, edit_env, output, refused_port


@contextmanager
def answers_through_nginx(sandbox: Sandbox, domain: str = "hello.example.test") -> Iterator[list[object]]:
    """GET / through the sandbox's nginx every 20 ms while the block runs: each answer's greeting, or the error."""
    port = int(json.loads((sandbox.lib / "data" / "nginx-vhosts" / "sandbox.json").read_text())["http"])
    seen: list[object] = []
    done = threading.Event()

    def poll() -> None:
        while not done.is_set():
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            try:
                conn.request("GET", "/", headers={"Host": domain})
                answer = conn.getresponse()
                body = answer.read()
                seen.append(json.loads(body)["greeting"] if answer.status == 200 else f"{answer.status}")
            except (OSError, ValueError) as exc:
                seen.append(f"error: {exc}")
            finally:
                conn.close()
            time.sleep(0.02)

    poller = threading.Thread(target=poll, daemon=True)
    poller.start()
    try:
        yield seen
    finally:
        done.set()
        poller.join()


def _checks_in_history(sandbox: Sandbox, app: str) -> list[tuple[str, str]]:
    """(phase, status) of the health checks in `ansible-deploy:history` (id phase rev release started ... status)."""
    rows = [line.split() for line in sandbox.ok("ansible-deploy:history", app).splitlines()[2:]]
    return [(row[1], row[6]) for row in rows if row[1] in ("check-deploy", "health-check")]


def test_a_healthy_app_passes_on_every_domain(sandbox: Sandbox, app_src: Path) -> None:
    result = sandbox.push("hello", app_src)
    assert result.returncode == 0, output(result)
    text = output(result)
    assert "Attempting pre-flight checks (web.1)" in text
    assert "Checking http://hello.example.test/healthz (at the new container, 127.0.0.1:" in text
    assert "nginx serves the new container" in text
    assert "Checking http://hello.example.test/healthz (through 127.0.0.1:" in text
    assert "Checking http://www.hello.example.test/healthz" in text
    report = json.loads(sandbox.ok("ansible-deploy:report", "hello", "--format", "json"))
    assert report["health-path"] == "/healthz"
    assert report["health-last-result"] == "succeeded"


def test_a_release_answering_500_never_takes_traffic_and_the_old_one_keeps_answering(
    sandbox: Sandbox, app_src: Path
) -> None:
    assert sandbox.push("hello", app_src).returncode == 0
    textfile = sandbox.root / "textfile"
    textfile.mkdir()
    shutil.chown(textfile, "dokku", "dokku")  # node_exporter's textfile folder, written by the plugin as dokku
    sandbox.ok("ansible-deploy:set", "--global", "monitoring-textfile-dir", str(textfile))
    sandbox.ok("ansible-deploy:set", "hello", "healthcheck-timeout", "2")
    edit_env(app_src, env={"GREETING": "hi", "HEALTHZ_STATUS": 500})
    with answers_through_nginx(sandbox) as seen:
        result = sandbox.push("hello", app_src)
    assert result.returncode != 0
    text = output(result)
    assert (
        "health check failed before the switch: GET http://hello.example.test/healthz (at the new container" in text
    ), text
    assert "answered 500" in text and '"greeting": "hi"' in text
    assert "The old release keeps serving" in text and "Traceback" not in text
    assert seen and set(seen) == {"hello from env.yml"}, seen  # the old release, every time, the whole push
    assert sandbox.get("hello")["greeting"] == "hello from env.yml"
    assert _checks_in_history(sandbox, "hello") == [("check-deploy", "failed")]
    assert "health check failed before the switch" in sandbox.ok("ansible-deploy:logs", "hello")
    assert sandbox.ok("ansible-deploy:report", "hello", "--ansible-deploy-health-last-result").startswith("failed:")
    assert 'ansible_deploy_health_success{app="hello"} 0' in (textfile / "ansible-deploy.prom").read_text()
    edit_env(app_src, env={"GREETING": "fixed", "HEALTHZ_STATUS": 200})
    fixed = sandbox.push("hello", app_src)
    assert fixed.returncode == 0, output(fixed)
    assert sandbox.get("hello")["greeting"] == "fixed"
    assert 'ansible_deploy_health_success{app="hello"} 1' in (textfile / "ansible-deploy.prom").read_text()


def test_a_route_broken_by_a_snippet_fails_the_route_check_once_nginx_serves_it(
    sandbox: Sandbox, app_src: Path
) -> None:
    """The container is healthy (the gate passes) but a new nginx.conf.d snippet breaks the route: what only the
    route check, run once nginx's workers serve the new configuration, can see."""
    assert sandbox.push("hello", app_src).returncode == 0
    sandbox.ok("ansible-deploy:set", "hello", "healthcheck-timeout", "3")
    (app_src / "nginx.conf.d" / "maintenance.conf").write_text("location = /healthz {\n  return 503;\n}\n")
    result = sandbox.push("hello", app_src)
    assert result.returncode != 0
    text = output(result)
    assert "Checking http://hello.example.test/healthz (at the new container" in text
    assert "nginx serves the new container" in text
    assert "health check failed: GET http://hello.example.test/healthz (through 127.0.0.1:" in text
    assert "answered 503" in text
    assert _checks_in_history(sandbox, "hello") == [("health-check", "failed")]


def test_a_code_only_change_that_breaks_the_health_path_never_takes_traffic(sandbox: Sandbox, app_src: Path) -> None:
    """Every phase is unchanged and takes its fast path: the check lands right after the switch, when the old
    release would still answer it through nginx; the gate asks the new container itself."""
    assert sandbox.push("hello", app_src).returncode == 0
    sandbox.ok("ansible-deploy:set", "hello", "healthcheck-timeout", "2")
    code = app_src / "app.py"
    code.write_text(code.read_text().replace('get("HEALTHZ_STATUS", "200")', 'get("HEALTHZ_STATUS", "500")'))
    with answers_through_nginx(sandbox) as seen:
        result = sandbox.push("hello", app_src)
    assert result.returncode != 0
    text = output(result)
    assert "unchanged since the last successful run; skipping" in text
    assert "health check failed before the switch" in text and "answered 500" in text
    assert seen and set(seen) == {"hello from env.yml"}, seen


def test_a_release_warming_up_within_the_timeout_passes_and_a_slower_one_fails(sandbox: Sandbox, app_src: Path) -> None:
    sandbox.admit("hello")
    sandbox.ok("ansible-deploy:set", "hello", "healthcheck-timeout", "6")
    edit_env(app_src, env={"GREETING": "warm", "HEALTHY_AFTER": 1.5})
    warm = sandbox.push("hello", app_src)
    assert warm.returncode == 0, output(warm)
    assert sandbox.get("hello")["greeting"] == "warm"
    edit_env(app_src, env={"GREETING": "slow", "HEALTHY_AFTER": 30})
    slow = sandbox.push("hello", app_src)
    assert slow.returncode != 0
    assert "health check failed before the switch" in output(slow) and "answered 503" in output(slow)
    assert sandbox.get("hello")["greeting"] == "warm"


def test_a_release_that_never_listens_never_takes_traffic(sandbox: Sandbox, app_src: Path) -> None:
    assert sandbox.push("hello", app_src).returncode == 0
    (app_src / "Procfile").write_text("web: sleep 600\n")
    with answers_through_nginx(sandbox) as seen:
        result = sandbox.push("hello", app_src)
    assert result.returncode != 0
    assert seen and set(seen) == {"hello from env.yml"}, seen


def test_with_zero_downtime_off_the_route_check_is_the_only_check_and_fails_a_500(
    sandbox: Sandbox, app_src: Path
) -> None:
    sandbox.admit("hello")
    sandbox.ok("checks:disable", "hello")
    sandbox.ok("ansible-deploy:set", "hello", "healthcheck-timeout", "2")
    edit_env(app_src, env={"GREETING": "hi", "HEALTHZ_STATUS": 500})
    result = sandbox.push("hello", app_src)
    assert result.returncode != 0
    text = output(result)
    assert "Attempting pre-flight checks" not in text
    assert "No check ran before the switch (zero downtime is off: checks:disable)" in text
    assert "health check failed: GET http://hello.example.test/healthz (through 127.0.0.1:" in text
    assert "answered 500" in text and '"greeting": "hi"' in text
    assert _checks_in_history(sandbox, "hello") == [("health-check", "failed")]


def test_an_app_not_answering_at_all_fails_clearly(sandbox: Sandbox, app_src: Path) -> None:
    sandbox.admit("hello")
    sandbox.ok("ansible-deploy:set", "hello", "healthcheck-timeout", "1")
    with refused_port() as closed:
        sandbox.ok("ansible-deploy:set", "hello", "healthcheck-http-port", str(closed))
        result = sandbox.push("hello", app_src)
    assert result.returncode != 0
    assert "could not be reached: [Errno 111] Connection refused" in output(result)


def test_an_app_without_a_health_check_is_not_probed(sandbox: Sandbox, app_src: Path) -> None:
    edit_env(app_src, monitoring=None)
    result = sandbox.push("hello", app_src)
    assert result.returncode == 0, output(result)
    assert "Checking http" not in output(result)  # app-json's "Checking for postdeploy task" is Dokku's
    assert sandbox.ok("ansible-deploy:report", "hello", "--ansible-deploy-health-path").strip() == "none declared"


def test_an_app_forcing_https_without_a_certificate_fails_the_gate_naming_the_redirect(
    sandbox: Sandbox, app_src: Path
) -> None:
    """No ACME CA configured: nginx will serve the app over plain HTTP, so it sends X-Forwarded-Proto http, and an
    app that redirects such requests to HTTPS cannot be served. The gate says so, with the Location."""
    sandbox.admit("hello")
    sandbox.ok("ansible-deploy:set", "hello", "healthcheck-timeout", "1")
    edit_env(app_src, env={"GREETING": "hi", "FORCE_HTTPS": "true"})
    result = sandbox.push("hello", app_src)
    assert result.returncode != 0
    text = output(result)
    assert "Checking http://hello.example.test/healthz (at the new container, 127.0.0.1:" in text
    assert "answered 301, redirecting to https://hello.example.test/healthz" in text, text
    assert "nginx serves hello over plain HTTP" in text and "Traceback" not in text
    assert "give the app a certificate" in text


def test_checks_skip_skips_the_gate_and_the_route_check_says_why(sandbox: Sandbox, app_src: Path) -> None:
    """Dokku's own check-deploy exits at once for a skipped process type (plugins/scheduler-docker-local/
    check-deploy); so does the gate, and the route check after the switch is the only check."""
    sandbox.admit("hello")
    sandbox.ok("checks:skip", "hello")
    sandbox.ok("ansible-deploy:set", "hello", "healthcheck-timeout", "1")
    edit_env(app_src, env={"GREETING": "hi", "HEALTHZ_STATUS": 500})
    result = sandbox.push("hello", app_src)
    assert result.returncode != 0
    text = output(result)
    assert "Attempting pre-flight checks (web.1)" in text  # Dokku still calls check-deploy
    assert "(at the new container" not in text
    assert "No check ran before the switch (checks are skipped: checks:skip)" in text, text
    assert "health check failed: GET http://hello.example.test/healthz (through 127.0.0.1:" in text
    assert _checks_in_history(sandbox, "hello") == [("health-check", "failed")]


def test_a_gate_record_left_by_a_deploy_that_failed_later_is_not_taken_by_the_next_deploy(
    sandbox: Sandbox, app_src: Path
) -> None:
    """The gate passes, then another plugin's check-deploy (as Dokku's own, which runs after it) fails the
    deploy: the gate's record stays. A later deploy of the same release without a gate must not wait for the
    container that record names (it is gone)."""
    assert sandbox.push("hello", app_src).returncode == 0
    sandbox.ok("ansible-deploy:set", "hello", "healthcheck-timeout", "2")
    other = sandbox.lib / "plugins" / "available" / "zz-check"
    other.mkdir()
    (other / "plugin.toml").write_text('[plugin]\ndescription = "a check after the gate"\nversion = "0.1.0"\n'
                                       "[plugin.config]\n")  # fmt: skip
    (other / "check-deploy").write_text("#!/bin/sh\necho 'zz-check: failed' >&2\nexit 1\n")
    (other / "check-deploy").chmod(0o755)
    (sandbox.lib / "plugins" / "enabled" / "zz-check").symlink_to(other)
    failed = sandbox.dokku("ps:restart", "hello")
    assert failed.returncode != 0 and "zz-check: failed" in output(failed), output(failed)
    assert "Checking http://hello.example.test/healthz (at the new container" in output(failed)
    (sandbox.lib / "plugins" / "enabled" / "zz-check").unlink()
    sandbox.ok("checks:disable", "hello")
    restarted = sandbox.dokku("ps:restart", "hello")
    assert restarted.returncode == 0, output(restarted)
    assert "No check ran before the switch (zero downtime is off: checks:disable)" in output(restarted)
