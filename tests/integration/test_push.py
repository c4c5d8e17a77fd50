"""git push through the sandbox: first deploy, unchanged redeploy, changed env.yml, rejected pushes."""

from __future__ import annotations

import shutil

from conftest import Sandbox, drop_sandbox, edit_env, new_sandbox, output


def test_first_push_provisions_settings_ports_domains_storage_and_snippets(sandbox: Sandbox, app_src) -> None:
    result = sandbox.push("hello", app_src)
    assert result.returncode == 0, output(result)
    text = output(result)
    assert "-----> Ensure the app's settings match env.yml, without a restart" in text
    assert "ansible-deploy: pre-deploy for hello done" in text

    config = sandbox.config("hello")
    assert config["GREETING"] == "hello from env.yml"
    assert config["WORKERS"] == "2"
    assert config["DEBUG"] == "false"
    assert sandbox.ok("ports:report", "hello", "--ports-map").split() == ["http:80:5000"]
    assert sandbox.ok("domains:report", "hello", "--domains-app-vhosts").split() == [
        "hello.example.test",
        "www.hello.example.test",
    ]
    assert "hello-uploads" in sandbox.ok("storage:list", "hello")
    snippets = sorted(p.name for p in (sandbox.home / "hello" / "nginx.conf.d").iterdir())
    assert snippets == ["ansible-deploy-gzip.conf", "ansible-deploy-headers.conf"]
    assert sandbox.get("hello", "/x")["greeting"] == "hello from env.yml"
    assert sandbox.ok("ansible-deploy:report", "hello", "--ansible-deploy-last-run-status").strip() == "succeeded"


def test_second_push_without_packaging_changes_skips_ansible(sandbox: Sandbox, app_src) -> None:
    assert sandbox.push("hello", app_src).returncode == 0
    runs_before = sandbox.ok("ansible-deploy:history", "hello")
    (app_src / "app.py").write_text((app_src / "app.py").read_text() + "\n# a code change only\n")
    result = sandbox.push("hello", app_src)
    assert result.returncode == 0, output(result)
    assert "pre-deploy for hello is unchanged since the last successful run; skipping" in output(result)
    assert sandbox.ok("ansible-deploy:history", "hello") == runs_before


def test_push_with_changed_env_yml_applies_only_the_difference(sandbox: Sandbox, app_src) -> None:
    assert sandbox.push("hello", app_src).returncode == 0
    edit_env(app_src, env={"GREETING": "changed"}, domains=["hello.example.test"], port=8080)
    (app_src / "nginx.conf.d" / "headers.conf").unlink()
    dokku_snippet = sandbox.home / "hello" / "nginx.conf.d" / "hsts.conf"
    dokku_snippet.write_text("add_header Strict-Transport-Security max-age=1;\n")

    result = sandbox.push("hello", app_src)
    assert result.returncode == 0, output(result)
    config = sandbox.config("hello")
    assert config["GREETING"] == "changed"
    assert "WORKERS" not in config
    assert "DEBUG" not in config
    assert "GIT_REV" in config, "keys the plugin did not set are left alone"
    assert sandbox.ok("ports:report", "hello", "--ports-map").split() == ["http:80:8080"]
    assert sandbox.ok("domains:report", "hello", "--domains-app-vhosts").split() == ["hello.example.test"]
    snippets = sorted(p.name for p in (sandbox.home / "hello" / "nginx.conf.d").iterdir())
    assert snippets == ["ansible-deploy-gzip.conf", "hsts.conf"], "Dokku's own snippet is never touched"
    assert sandbox.get("hello")["greeting"] == "changed"


def test_push_with_invalid_env_yml_is_rejected_and_leaves_everything_as_it_was(sandbox: Sandbox, app_src) -> None:
    assert sandbox.push("hello", app_src).returncode == 0
    staged, config, pid = sandbox.staged("hello"), sandbox.config("hello"), sandbox.web("hello")["pid"]
    (app_src / "env.yml").write_text("version: 1\nport: 5000\ndomians: [hello.example.test]\n")

    result = sandbox.push("hello", app_src)
    assert result.returncode != 0
    text = output(result)
    assert "env.yml:3: domians: unknown key" in text
    assert "Did you mean 'domains'?" in text
    assert "Traceback" not in text
    assert "Building hello" in text, "rejected by pre-build, before the image is built"
    assert "Releasing" not in text
    assert sandbox.staged("hello") == staged
    config.pop("GIT_REV")
    assert {k: v for k, v in sandbox.config("hello").items() if k != "GIT_REV"} == config
    assert sandbox.web("hello")["pid"] == pid
    assert sandbox.get("hello")["greeting"] == "hello from env.yml"


def test_push_with_a_snippet_nginx_rejects_keeps_the_previous_snippets(sandbox: Sandbox, app_src) -> None:
    assert sandbox.push("hello", app_src).returncode == 0
    placed = sandbox.home / "hello" / "nginx.conf.d" / "ansible-deploy-gzip.conf"
    before = placed.read_text()
    (app_src / "nginx.conf.d" / "gzip.conf").write_text("gzip on;\ngzip_comp_level 99;\n")  # allowed, out of range

    result = sandbox.push("hello", app_src)
    assert result.returncode != 0
    assert "nginx.conf.d/gzip.conf:2: nginx rejects it: value must be between 1 and 9" in output(result)
    assert placed.read_text() == before


def test_snippet_defining_location_slash_is_rejected(sandbox: Sandbox, app_src) -> None:
    (app_src / "nginx.conf.d" / "root.conf").write_text("location / {\n  return 200;\n}\n")
    result = sandbox.push("hello", app_src)
    assert result.returncode != 0
    assert 'nginx.conf.d/root.conf:1: nginx rejects it: duplicate location "/"' in output(result)


def test_app_without_env_yml_is_left_alone(sandbox: Sandbox, app_src) -> None:
    for name in ("env.yml",):
        (app_src / name).unlink()
    shutil.rmtree(app_src / "nginx.conf.d")
    result = sandbox.push("hello", app_src)
    assert result.returncode == 0, output(result)
    assert "ansible-deploy" not in output(result)
    assert sandbox.ok("ansible-deploy:report", "hello", "--ansible-deploy-last-run-status").strip() == "none"


def test_a_change_only_post_deploy_reads_lets_pre_deploy_skip_on_its_unchanged_plan(sandbox: Sandbox, app_src) -> None:
    """The early cutoff (README, "Nothing to do, nothing run"): the release changed, so both phases plan again;
    pre-deploy's plan is the same as before and it skips, post-deploy's step changed and it runs."""
    assert sandbox.push("hello", app_src).returncode == 0
    step = app_src / "ansible" / "maintenance.yml"
    step.write_text(step.read_text().replace("is down for maintenance", "is back soon"))
    result = sandbox.push("hello", app_src)
    assert result.returncode == 0, output(result)
    text = output(result)
    assert "pre-deploy for hello is unchanged since the last successful run; skipping" in text
    assert "step maintenance.yml" in text.split("ansible-deploy: post-deploy for hello: ", 1)[1].splitlines()[0]
    assert "is back soon" in (sandbox.home / "hello" / "maintenance.html").read_text()


def test_a_code_only_push_skips_the_checks_until_a_setting_changes(sandbox: Sandbox, app_src) -> None:
    """The no-op fast path (docs/benchmark.md) gives way to any setting the checks and the plans read."""
    edit_env(app_src, environments={"staging": {"env": {"GREETING": "from staging"}}})
    assert sandbox.push("hello", app_src).returncode == 0
    first = sandbox.staged("hello")

    def code_change() -> None:
        (app_src / "app.py").write_text((app_src / "app.py").read_text() + "\n# a code change only\n")

    code_change()
    result = sandbox.push("hello", app_src)
    assert result.returncode == 0, output(result)
    assert "pre-deploy for hello is unchanged since the last successful run; skipping" in output(result)
    assert "post-deploy for hello is unchanged since the last successful run; skipping" in output(result)
    second = sandbox.staged("hello")
    assert second != first, "the new rev gets its own release"
    assert (second / "env.yml").read_bytes() == (first / "env.yml").read_bytes()

    sandbox.ok("ansible-deploy:set", "hello", "environment", "staging")
    code_change()
    result = sandbox.push("hello", app_src)
    assert result.returncode == 0, output(result)
    assert "ansible-deploy: pre-deploy for hello: config" in output(result)
    assert sandbox.config("hello")["GREETING"] == "from staging"

    sandbox.ok("ansible-deploy:set", "hello", "allow-custom-steps", "false")
    code_change()
    refused = sandbox.push("hello", app_src)
    assert refused.returncode != 0
    assert "custom steps run on the host, and are not allowed for hello" in output(refused)


def _provisioned(box: Sandbox, app: str) -> dict[str, object]:
    """What the plugin set up for the app, the sandbox's own paths left out."""
    snippets = box.home / app / "nginx.conf.d"
    return {
        "config": {k: v for k, v in box.config(app).items() if k != "GIT_REV"},  # each pusher's own commit
        "ports": box.ok("ports:report", app, "--ports-map").split(),
        "domains": box.ok("domains:report", app, "--domains-app-vhosts").split(),
        "storage": box.ok("storage:list", app).replace(str(box.root), "ROOT"),
        "snippets": {p.name: p.read_text() for p in sorted(snippets.iterdir())},
        "changed": [line.split()[-1] for line in box.ok("ansible-deploy:history", app).splitlines()[1:]],
        "answer": box.get(app, "/x")["greeting"],
    }


def test_the_example_deploys_the_same_with_mitogen_and_with_ansibles_linear_strategy(sandbox: Sandbox, app_src) -> None:
    """Mitogen is the default; an admin can fall back to Ansible's own strategy for every run of the server."""
    other = new_sandbox()
    try:
        other.ok("ansible-deploy:set", "--global", "ansible-strategy", "linear")
        results = [box.push("hello", app_src) for box in (sandbox, other)]
        assert all(r.returncode == 0 for r in results), [output(r) for r in results]
        assert _provisioned(sandbox, "hello") == _provisioned(other, "hello")
        again = other.push("hello", app_src)
        assert "pre-deploy for hello is unchanged" in output(again)
        bad = other.dokku("ansible-deploy:set", "--global", "ansible-strategy", "free")
        assert bad.returncode != 0 and "ansible-strategy expects mitogen or linear" in output(bad)
    finally:
        drop_sandbox(other)
