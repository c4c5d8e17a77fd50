"""The ansible-deploy:* commands against a pushed app: run, --check, report, set, history, logs, validate, help."""

from __future__ import annotations

import json
import os

from conftest import EXAMPLE, Sandbox, output

from ansible_dokku_deploy import cli


def _pushed(sandbox: Sandbox, app_src) -> None:
    result = sandbox.push("hello", app_src)
    assert result.returncode == 0, output(result)


def _session(**locale: str) -> dict[str, str]:
    """A shell's or a pusher's SSH session's environment with its own locale: sshd accepts LANG and LC_* from the
    client (Debian's and Ubuntu's sshd_config), and Dokku's hooks and commands keep it (`sudo -u dokku -E -H`)."""
    kept = {k: v for k, v in os.environ.items() if k != "LANG" and not k.startswith("LC_")}
    return {**kept, **locale}


def test_run_check_shows_what_would_change_and_changes_nothing(sandbox: Sandbox, app_src) -> None:
    """From any locale too: a laptop's en_US.UTF-8 is not generated on a minimal Debian (C, C.utf8, POSIX) and
    LC_ALL=C is not UTF-8, both of which ansible-core refuses; the plugin's runs have a locale of their own."""
    pushed = sandbox.push("hello", app_src, environ=_session(LANG="en_US.UTF-8"))
    assert pushed.returncode == 0, output(pushed)
    sandbox.ok("config:set", "--no-restart", "hello", "GREETING=drifted")
    sandbox.ok("ports:set", "hello", "http:80:9999")

    result = sandbox.dokku("ansible-deploy:run", "hello", "--check", environ=_session(LC_ALL="C", LANG="de_DE.UTF-8"))
    assert result.returncode == 0, output(result)
    text = output(result)
    assert "check mode: nothing is changed" in text
    assert '"GREETING": "drifted"' in text and '"GREETING": "hello from env.yml"' in text
    assert "http:80:9999" in text
    assert sandbox.config("hello")["GREETING"] == "drifted"
    assert sandbox.ok("ports:report", "hello", "--ports-map").strip() == "http:80:9999"
    assert "(check)" in sandbox.ok("ansible-deploy:history", "hello")

    result = sandbox.dokku("ansible-deploy:run", "hello", environ=_session(LC_ALL="C"))
    assert result.returncode == 0, output(result)
    assert sandbox.config("hello")["GREETING"] == "hello from env.yml"
    assert sandbox.ok("ports:report", "hello", "--ports-map").strip() == "http:80:5000"


def test_run_refuses_while_a_deploy_holds_dokkus_lock(sandbox: Sandbox, app_src) -> None:
    import fcntl
    import os

    _pushed(sandbox, app_src)
    lock = sandbox.lib / "data" / "apps" / "hello" / ".deploy.lock"
    fd = os.open(lock, os.O_WRONLY | os.O_CREAT, 0o644)
    os.chown(lock, sandbox.home.stat().st_uid, sandbox.home.stat().st_gid)  # Dokku's lock belongs to the dokku user
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        result = sandbox.dokku("ansible-deploy:run", "hello")
    finally:
        os.close(fd)
    assert result.returncode == 1
    assert "hello currently has a deploy lock in place. Exiting..." in result.stderr


def test_a_second_run_waits_for_the_first_then_times_out_clearly(sandbox: Sandbox, app_src) -> None:
    import fcntl
    import os

    _pushed(sandbox, app_src)
    sandbox.ok("ansible-deploy:set", "hello", "lock-timeout", "1")
    fd = os.open(sandbox.data_dir("hello") / ".lock", os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        result = sandbox.dokku("ansible-deploy:run", "hello")
    finally:
        os.close(fd)
    assert result.returncode == 1
    assert "hello has another ansible-deploy run in progress. Waiting..." in result.stdout
    assert "still has another ansible-deploy run in progress after 1s" in result.stderr
    assert "Traceback" not in output(result)


def test_report_shapes_follow_dokku(sandbox: Sandbox, app_src) -> None:
    _pushed(sandbox, app_src)
    text = sandbox.ok("ansible-deploy:report", "hello")
    assert text.startswith("=====> hello ansible-deploy information\n")
    assert "       Ansible deploy last run status:" in text
    data = json.loads(sandbox.ok("ansible-deploy:report", "hello", "--format", "json"))
    assert data["last-run-status"] == "succeeded"
    assert data["last-run-phase"] == "post-deploy", "the example's custom step runs in post-deploy"
    assert data["features"] == "config ports domains storage nginx tls monitoring steps"
    assert data["staged-rev"] and all(isinstance(v, str) for v in data.values())
    assert data["computed-keep-runs"] == "20"
    assert sandbox.ok("ansible-deploy:report", "hello", "--ansible-deploy-staged-rev").strip() == data["staged-rev"]
    quiet = sandbox.ok("--quiet", "ansible-deploy:report", "hello")
    assert "=====>" not in quiet
    bad = sandbox.dokku("ansible-deploy:report", "hello", "--ansible-deploy-nope")
    assert bad.returncode == 1 and "Invalid flag passed, valid flags:" in bad.stderr
    both = sandbox.dokku("ansible-deploy:report", "hello", "--format", "json", "--ansible-deploy-features")
    assert both.returncode == 1 and "--format flag cannot be specified when specifying an info flag" in both.stderr
    missing = sandbox.dokku("ansible-deploy:report", "nope")
    assert missing.returncode == 20 and "App nope does not exist" in missing.stderr
    assert "hello ansible-deploy information" in sandbox.ok("report", "hello")


def test_report_for_all_apps_and_for_none(sandbox: Sandbox, app_src) -> None:
    result = sandbox.dokku("ansible-deploy:report")
    assert result.returncode == 0 and "You haven't deployed any applications yet" in result.stderr
    _pushed(sandbox, app_src)
    sandbox.ok("apps:create", "other")
    text = sandbox.ok("ansible-deploy:report")
    assert "hello ansible-deploy information" in text and "other ansible-deploy information" in text


def test_set_validates_keys_and_values_and_clears(sandbox: Sandbox) -> None:
    sandbox.ok("apps:create", "hello")
    assert "=====> Setting keep-runs to 3" in sandbox.ok("ansible-deploy:set", "hello", "keep-runs", "3")
    assert sandbox.ok("ansible-deploy:report", "hello", "--ansible-deploy-keep-runs").strip() == "3"
    stored = sandbox.lib / "data" / "ansible" / ".settings" / "hello" / "keep-runs"
    assert stored.read_text() == "3" and oct(stored.stat().st_mode & 0o777) == "0o600"
    typo = sandbox.dokku("ansible-deploy:set", "hello", "keep-run", "3")
    assert typo.returncode == 1 and "Did you mean 'keep-runs'?" in typo.stderr
    bad = sandbox.dokku("ansible-deploy:set", "hello", "keep-runs", "many")
    assert bad.returncode == 1 and "keep-runs expects a whole number" in bad.stderr
    assert "Unsetting keep-runs" in sandbox.ok("ansible-deploy:set", "hello", "keep-runs")
    assert sandbox.ok("ansible-deploy:report", "hello", "--ansible-deploy-computed-keep-runs").strip() == "20"
    sandbox.ok("ansible-deploy:set", "--global", "keep-runs", "7")
    assert sandbox.ok("ansible-deploy:report", "hello", "--ansible-deploy-computed-keep-runs").strip() == "7"
    missing = sandbox.dokku("ansible-deploy:set", "nope", "keep-runs", "3")
    assert missing.returncode == 20


def test_history_keeps_the_configured_number_of_runs_and_logs_are_readable(sandbox: Sandbox, app_src) -> None:
    _pushed(sandbox, app_src)
    sandbox.ok("ansible-deploy:set", "hello", "keep-runs", "2")
    for _ in range(2):
        sandbox.ok("ansible-deploy:run", "hello", "--phase", "pre-deploy")
    lines = sandbox.ok("ansible-deploy:history", "hello").splitlines()
    assert lines[1].split() == ["id", "phase", "rev", "release", "started", "duration", "status", "changed"]
    assert len(lines) == 4, lines
    assert all("succeeded" in line for line in lines[2:])
    assert lines[-1].split()[-1] == "0", "a forced run of an unchanged app changes nothing"
    documents = json.loads(sandbox.ok("ansible-deploy:history", "hello", "--format", "json"))
    assert [d["id"] for d in documents] == [line.split()[0] for line in lines[2:]]
    assert {(d["phase"], d["status"], d["changed"]) for d in documents} == {("pre-deploy", "succeeded", 0)}
    assert all(d["roles"] and d["timings"]["ansible"] > 0 and d["duration"] > 0 for d in documents)
    assert all(0 < d["timings"]["ansible-exit"] < d["timings"]["ansible"] for d in documents)
    log = sandbox.ok("ansible-deploy:logs", "hello", "--tail", "5")
    assert "PLAY RECAP" in log
    runs = list((sandbox.data_dir("hello") / "runs").iterdir())
    assert len(runs) == 4
    assert all(oct(p.stat().st_mode & 0o777) == "0o600" for p in runs)


def test_validate_command_checks_a_directory(sandbox: Sandbox, tmp_path) -> None:
    good = sandbox.dokku("ansible-deploy:validate", str(EXAMPLE))
    assert good.returncode == 0 and "the packaging files are valid" in good.stdout
    unreadable = sandbox.dokku("ansible-deploy:validate", str(tmp_path))
    assert unreadable.returncode == 1 and "cannot read" in unreadable.stderr and "Traceback" not in unreadable.stderr
    packaging = sandbox.root / "packaging"
    packaging.mkdir()
    (packaging / "env.yml").write_text("version: 2\n")
    bad = sandbox.dokku("ansible-deploy:validate", str(packaging))
    assert bad.returncode == 1
    assert "env.yml:1: version: expected 1, found the number 2" in bad.stderr


def test_help_lists_every_command(sandbox: Sandbox) -> None:
    text = sandbox.ok("ansible-deploy:help")
    assert text.startswith("Usage: dokku ansible-deploy[:COMMAND]")
    for verb in ("report", "set", "run", "history", "logs", "validate"):
        assert f"ansible-deploy:{verb} " in text
    assert f"    ansible-deploy  {cli.DESCRIPTION}\n" in sandbox.ok("help"), "Dokku's `column -t -s,` cut it"
    unknown = sandbox.dokku("ansible-deploy:nope")
    assert unknown.returncode == 1 and "is not a dokku command" in unknown.stderr


def _plan(sandbox: Sandbox, app: str) -> tuple[int, dict[str, object]]:
    result = sandbox.dokku("ansible-deploy:run", app, "--check", "--format", "json")
    return result.returncode, json.loads(result.stdout)  # stdout is the one document; progress went to stderr


def test_the_json_plan_exits_0_2_or_1_and_masks_secrets(sandbox: Sandbox, app_src) -> None:
    """terraform plan -detailed-exitcode's contract: 0 nothing would change, 2 something would, 1 an error."""
    assert sandbox.push("hello", app_src).returncode == 0
    code, plan = _plan(sandbox, "hello")
    assert (code, plan["would_change"], plan["certificate_order"], plan["dns_records"]) == (0, False, False, [])
    assert [p["phase"] for p in plan["phases"]] == ["pre-deploy", "post-deploy"]  # type: ignore[index]
    sandbox.ok("config:set", "--no-restart", "hello", "GREETING=drifted", "SECRET_KEY=drifted-secret-value")
    code, plan = _plan(sandbox, "hello")
    assert code == 2 and plan["would_change"] is True
    (change,) = plan["phases"][0]["changes"]  # type: ignore[index]
    assert change["role"] == "config" and change["action"] == "dokku_deploy.dokku.config"
    assert (change["before"]["GREETING"], change["after"]["GREETING"]) == ("drifted", "hello from env.yml")
    assert change["before"]["SECRET_KEY"] == change["after"]["SECRET_KEY"] == "********"
    text = sandbox.dokku("ansible-deploy:run", "hello", "--check", "--format", "json")
    assert "drifted-secret-value" not in text.stdout + text.stderr
    assert "hello-demo-secret-key-do-not-use" not in text.stdout + text.stderr
    assert sandbox.config("hello")["GREETING"] == "drifted"  # check mode changed nothing
    missing = sandbox.dokku("ansible-deploy:run", "nope", "--check", "--format", "json")
    assert missing.returncode not in {0, 2} and "Traceback" not in missing.stderr
    refused = sandbox.dokku("ansible-deploy:run", "hello", "--format", "json")
    assert refused.returncode == 1 and "--format json is for --check" in refused.stderr


def test_validate_prints_every_problem_as_one_json_document(sandbox: Sandbox) -> None:
    packaging = sandbox.root / "packaging"
    packaging.mkdir()
    (packaging / "env.yml").write_text("version: 1\nport: abc\nstorage:\n  - {name: x, pth: /a}\n")
    bad = sandbox.dokku("ansible-deploy:validate", str(packaging), "--format", "json")
    assert bad.returncode == 1 and bad.stderr == ""
    document = json.loads(bad.stdout)
    assert document["valid"] is False
    assert {(p["file"], p["line"], p["key"], p["message"]) for p in document["problems"]} == {
        ("env.yml", 2, "port", 'expected a whole number, found the string "abc"'),
        ("env.yml", 4, "storage[0].pth", "unknown key"),
        ("env.yml", 4, "storage[0]", "missing key 'path'"),
    }
    assert all(p["hint"] for p in document["problems"])
    good = sandbox.dokku("ansible-deploy:validate", str(EXAMPLE), "--format", "json")
    assert good.returncode == 0 and json.loads(good.stdout)["valid"] is True
