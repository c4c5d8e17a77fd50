"""The Dokku test double answers as Dokku does, including where Dokku is not kind."""

from __future__ import annotations

import json
import os
import pwd
import shutil
import stat
import subprocess
import sys

import services
from conftest import REPO, Sandbox


def test_version_and_unknown_commands(sandbox: Sandbox) -> None:
    assert sandbox.ok("--version").strip() == "dokku version 0.38.27"
    unknown = sandbox.dokku("nope:thing")
    assert unknown.returncode == 1
    assert " !     `nope:thing` is not a dokku command." in unknown.stderr


def test_apps_create_is_not_idempotent_and_missing_apps_exit_20(sandbox: Sandbox) -> None:
    sandbox.ok("apps:create", "demo")
    again = sandbox.dokku("apps:create", "demo")
    assert (again.returncode, again.stderr.strip()) == (1, "!     Name is already taken")
    missing = sandbox.dokku("config:get", "nope", "X")
    assert (missing.returncode, missing.stderr.strip()) == (20, "!     App nope does not exist")
    bad_name = sandbox.dokku("apps:create", "Bad_Name")
    assert bad_name.returncode == 1 and "App name must begin with lowercase" in bad_name.stderr


def test_config_get_of_a_missing_key_exits_1_silently(sandbox: Sandbox) -> None:
    sandbox.ok("apps:create", "demo")
    result = sandbox.dokku("config:get", "demo", "NOPE")
    assert (result.returncode, result.stdout, result.stderr) == (1, "", "")


def test_ports_add_refuses_a_reused_scheme_and_host_port(sandbox: Sandbox) -> None:
    sandbox.ok("apps:create", "demo")
    sandbox.ok("ports:add", "demo", "http:80:5000")
    result = sandbox.dokku("ports:add", "demo", "http:80:6000")
    assert result.returncode == 1 and "The same scheme:host-port is being reused: http:80" in result.stderr


def test_certs_add_maps_https_for_every_http_mapping(sandbox: Sandbox, tmp_path) -> None:
    sandbox.ok("apps:create", "demo")
    sandbox.ok("ports:set", "demo", "http:80:5000")
    crt, key = sandbox.root / "server.crt", sandbox.root / "server.key"
    crt.write_text("crt")
    key.write_text("key")
    sandbox.ok("certs:add", "demo", str(crt), str(key))
    assert sandbox.ok("ports:report", "demo", "--ports-map").split() == ["http:80:5000", "https:443:5000"]
    assert sandbox.ok("certs:report", "demo", "--ssl-enabled").strip() == "true"


def test_commands_run_as_the_dokku_user_and_plugin_commands_as_root(sandbox: Sandbox) -> None:
    sandbox.ok("apps:create", "demo")
    owner = pwd.getpwuid((sandbox.home / "demo").stat().st_uid).pw_name
    assert owner == ("dokku" if os.geteuid() == 0 else pwd.getpwuid(os.geteuid()).pw_name)
    if os.geteuid() == 0:
        assert sandbox.dokku("plugin:installed", "ansible-deploy").returncode == 0
        # the dokku script tests the command after the global flags it shifted: this one stays root's too
        assert sandbox.dokku("--quiet", "plugin:enable", "ansible-deploy").returncode == 0


def test_a_push_to_another_branch_does_not_deploy(sandbox: Sandbox, app_src) -> None:
    import subprocess

    sandbox.ok("apps:create", "hello")
    clone = sandbox.root / "other"
    subprocess.run(["git", "init", "-q", "-b", "main", str(clone)], check=True)
    (clone / "README").write_text("x")
    git = ["git", "-C", str(clone), "-c", "user.name=t", "-c", "user.email=t@t"]
    subprocess.run([*git, "add", "-A"], check=True)
    subprocess.run([*git, "commit", "-qm", "x"], check=True)
    receive = "git -c safe.directory=* receive-pack"
    env = {**os.environ, "PATH": f"{sandbox.root / 'bin'}:{os.environ['PATH']}"}
    result = subprocess.run([*git, "push", f"--receive-pack={receive}", str(sandbox.home / "hello"), "HEAD:main"],
                            capture_output=True, text=True, check=False, env=env)  # fmt: skip
    assert "WARNING: deploy did not complete, you must push to master." in result.stderr


def test_a_published_port_needs_zero_downtime_off_as_docker_would(sandbox: Sandbox, app_src) -> None:
    assert sandbox.push("hello", app_src).returncode == 0
    host = services.free_port()
    publish = f"-p 127.0.0.1:{host}:{host + 1}"
    sandbox.ok("docker-options:add", "hello", "deploy", publish)
    options = sandbox.ok("docker-options:report", "hello", "--docker-options-deploy")
    assert options.count(publish) == 1
    refused = sandbox.dokku("ps:restart", "hello")  # the running container holds the host port
    assert refused.returncode == 1 and f"Bind for 0.0.0.0:{host} failed: port is already allocated" in refused.stderr
    assert sandbox.ok("checks:report", "hello", "--checks-disabled-list").strip() == "none"
    sandbox.ok("checks:disable", "hello")
    assert sandbox.ok("checks:report", "hello", "--checks-disabled-list").strip() == "_all_"
    restarted = sandbox.dokku("ps:restart", "hello")
    assert restarted.returncode == 0 and "Zero downtime is disabled" in restarted.stdout, restarted.stderr
    sandbox.ok("docker-options:remove", "hello", "deploy", publish)
    sandbox.ok("checks:enable", "hello")
    assert publish not in sandbox.ok("docker-options:report", "hello", "--docker-options-deploy")


def test_storage_entries_are_dokkus_json_idempotent_and_owned_by_dokku(sandbox: Sandbox) -> None:
    """plugins/storage entry.go and commands_entries.go: host_path (no `path`), data/storage-registry, 0755."""
    sandbox.ok("storage:create", "shared-files")
    again = sandbox.dokku("storage:create", "shared-files")
    assert again.returncode == 0 and "Storage entry shared-files already exists, leaving in place" in again.stdout
    (entry,) = json.loads(sandbox.ok("storage:list-entries", "--format", "json"))
    folder = sandbox.lib / "data" / "storage" / "shared-files"
    assert entry == {"name": "shared-files", "scheduler": "docker-local", "host_path": str(folder), "schema_version": 1}
    assert (sandbox.lib / "data" / "storage-registry" / "entries" / "shared-files.json").exists()
    assert stat.S_IMODE(folder.stat().st_mode) == 0o755
    if os.geteuid() == 0:
        assert pwd.getpwuid(folder.stat().st_uid).pw_name == "dokku"
    reserved = sandbox.dokku("storage:create", "legacy-mine")
    assert reserved.returncode == 1 and 'must not start with reserved prefix "legacy-"' in reserved.stderr


def test_storage_set_changes_one_property_of_an_entry_and_chowns_only_the_default_path(sandbox: Sandbox) -> None:
    """plugins/storage/commands_entries.go CommandSet: the rest of the entry stays; chown and mode converge the
    folder, and only on the default host path; an empty value unsets."""
    sandbox.ok("storage:create", "kept-files", "--mode", "750")
    folder = sandbox.lib / "data" / "storage" / "kept-files"
    assert "Storage entry kept-files updated" in sandbox.ok("storage:set", "kept-files", "chown", "heroku")
    entry = json.loads(sandbox.ok("storage:info", "kept-files", "--format", "json"))
    assert (entry["chown"], entry["mode"], entry["host_path"]) == ("heroku", "0750", str(folder))
    assert (folder.stat().st_uid, stat.S_IMODE(folder.stat().st_mode)) == (1000, 0o750)
    sandbox.ok("storage:set", "kept-files", "chown")
    assert "chown" not in json.loads(sandbox.ok("storage:info", "kept-files", "--format", "json"))
    own = sandbox.root / "own-folder"
    own.mkdir()
    sandbox.ok("storage:create", "own-files", str(own))
    refused = sandbox.dokku("storage:set", "own-files", "chown", "heroku")
    assert (
        refused.returncode == 1
        and "--chown is only supported when the storage entry uses the default" in refused.stderr
    )
    assert sandbox.dokku("storage:set", "own-files", "colour", "red").returncode == 1
    missing = sandbox.dokku("storage:set", "no-such-entry", "chown", "heroku")
    assert missing.returncode == 1 and 'storage entry "no-such-entry" does not exist' in missing.stderr


def test_a_legacy_mount_is_a_synthesized_entry_and_storage_list_names_entries(sandbox: Sandbox) -> None:
    sandbox.ok("apps:create", "demo")
    host = sandbox.root / "legacy-folder"
    host.mkdir()
    sandbox.ok("storage:mount", "demo", f"{host}:/data")
    assert sandbox.dokku("storage:mount", "demo", f"{host}:/data").stderr.strip() == "!     Mount path already exists."
    (entry,) = json.loads(sandbox.ok("storage:list-entries", "--format", "json"))
    assert entry["name"].startswith("legacy-") and entry["host_path"] == str(host)
    (row,) = json.loads(sandbox.ok("storage:list", "demo", "--format", "json"))
    assert row == {"entry_name": entry["name"], "host_path": str(host), "container_path": "/data"}


def test_two_mounts_on_one_container_path_fail_the_deploy_as_docker_refuses_the_container(
    sandbox: Sandbox, app_src
) -> None:
    """plugins/storage/attachment.go keeps both attachments (the upsert is keyed on the entry too) and triggers.go
    gives each its own -v; Docker's daemon refuses the container ("Duplicate mount point")."""
    for packaging in ("env.yml", "vault", "ansible", "nginx.conf.d"):  # a plain app: only Dokku deploys it
        path = app_src / packaging
        shutil.rmtree(path) if path.is_dir() else path.unlink()
    sandbox.ok("apps:create", "hello")
    for entry in ("first-files", "second-files"):
        sandbox.ok("storage:create", entry)
        sandbox.ok("storage:mount", "hello", entry, "--container-dir", "/app/files")
    assert len(json.loads(sandbox.ok("storage:list", "hello", "--format", "json"))) == 2
    refused = sandbox.push("hello", app_src)
    assert refused.returncode != 0
    assert "Error response from daemon: Duplicate mount point: /app/files" in refused.stdout + refused.stderr
    image = sandbox.lib / "data" / "ps" / "hello" / "images" / "1"  # the root helper refuses such a stack too
    image.mkdir(parents=True)
    binds = [f"{sandbox.lib / 'data' / 'storage' / e}:{image / 'files'}" for e in ("first-files", "second-files")]
    helper = [str(REPO / "tests" / "dokku_double" / "bin" / "container"), "run", "0", "0", str(image), "/usr/bin"]
    stacked = subprocess.run(
        [*helper, *binds, "--", "true"], capture_output=True, text=True, check=False,
        env={**os.environ, "DOKKU_LIB_ROOT": str(sandbox.lib)},
    )  # fmt: skip
    assert (stacked.returncode, stacked.stderr.strip()) == (
        1,
        "!     Error response from daemon: Duplicate mount point: /app/files",
    )
    sandbox.ok("storage:unmount", "hello", "second-files", "--container-dir", "/app/files")
    deployed = sandbox.push("hello", app_src)
    assert deployed.returncode == 0, deployed.stdout + deployed.stderr


def test_docker_options_add_appends_and_requotes_as_dokku_does(sandbox: Sandbox) -> None:
    """dockeroptions.go: no check for an equal option; one stored option per flag, words re-quoted, sorted."""
    sandbox.ok("apps:create", "demo")
    sandbox.ok("docker-options:add", "demo", "deploy", '--label "forge=a b" -p 2222:22')
    sandbox.ok("docker-options:add", "demo", "deploy", "-p 2222:22")
    report = sandbox.ok("docker-options:report", "demo", "--docker-options-deploy").strip()
    assert report == "--label 'forge=a b' -p 2222:22 -p 2222:22"
    sandbox.ok("docker-options:remove", "demo", "deploy", "--label 'forge=a b'")
    assert sandbox.ok("docker-options:report", "demo", "--docker-options-deploy").strip() == "-p 2222:22 -p 2222:22"


def test_report_without_an_app_is_the_system_block_and_two_flags_fail_only_docker_options(sandbox: Sandbox) -> None:
    """00_dokku-standard/subcommands/report; ParseReportArgs's error kept only by docker-options' subcommands.go."""
    sandbox.ok("apps:create", "demo")
    assert "demo ansible-deploy information" not in sandbox.ok("report")
    assert "demo ansible-deploy information" in sandbox.ok("report", "--all")
    two = sandbox.dokku("docker-options:report", "demo", "--docker-options-build", "--docker-options-run")
    assert two.returncode == 1 and "docker-options:report command allows only a single flag" in two.stderr
    assert sandbox.dokku("ports:report", "demo", "--ports-map", "--ports-map-detected").returncode == 0


def test_a_clone_gets_its_own_domains_and_a_rename_keeps_them(sandbox: Sandbox) -> None:
    """plugins/git/post-app-clone-setup skips VHOST and URLS; plugins/domains/post-app-rename-setup copies VHOST."""
    sandbox.ok("apps:create", "demo")
    sandbox.ok("domains:set", "demo", "demo.example.test")
    sandbox.ok("apps:clone", "demo", "copy")
    assert "demo.example.test" not in sandbox.ok("domains:report", "copy", "--domains-app-vhosts")
    sandbox.ok("apps:rename", "demo", "renamed")
    assert sandbox.ok("domains:report", "renamed", "--domains-app-vhosts").split() == ["demo.example.test"]


def test_the_sandbox_nginx_holds_its_https_port_before_any_app_has_a_certificate(sandbox: Sandbox) -> None:
    """As 443 is on a server: a port picked but not listened on could be taken by another sandbox's service."""
    import socket
    import ssl

    import services

    https = int(services.load_nginx(sandbox.root)["https"])
    context = ssl.create_default_context()
    context.check_hostname, context.verify_mode = False, ssl.CERT_NONE  # its own certificate, for no app's name
    with (
        socket.create_connection(("127.0.0.1", https), timeout=5) as plain,
        context.wrap_socket(plain, server_hostname="nothing.example.test") as tls,
    ):
        tls.sendall(b"GET / HTTP/1.1\r\nHost: nothing.example.test\r\nConnection: close\r\n\r\n")
        assert tls.recv(4096).startswith(b"HTTP/1.1 404")


def test_two_containers_starting_at_once_never_get_the_same_port() -> None:
    """Docker gives each container an address of its own; the double's processes, in every sandbox here, share
    one, so a port a deploy picked (free, not yet bound by its app) is claimed until its app listens, and other
    deploys' picks keep off it."""
    pick = (
        "import sys; sys.path.insert(0, sys.argv[1]); from double.deploy import PORT_CLAIMS, _claim_port, _release_port;"
        "ports = [_claim_port() for _ in range(300)]; print(*ports, flush=True);"
        "sys.stdin.read(); [_release_port(port) for port in ports];"
        "print(sum((PORT_CLAIMS / str(port)).exists() for port in ports))"
    )
    argv = [sys.executable, "-c", pick, str(REPO / "tests" / "dokku_double")]
    pickers = [subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True) for _ in range(4)]
    ports = [int(port) for picker in pickers for port in picker.stdout.readline().split()]  # type: ignore[union-attr]
    left = [int(picker.communicate("")[0]) for picker in pickers]  # each picker's claims still there once released
    assert len(ports) == 1200 and len(set(ports)) == len(ports)
    assert left == [0, 0, 0, 0], "released"


def test_checks_skip_disable_and_enable_keep_a_process_type_in_one_list(sandbox: Sandbox) -> None:
    """plugins/checks/subcommands/skip, disable, enable: skipping takes a type out of `disabled` and disabling out
    of `skipped`; `_all_` replaces the list and empties the other one; enable takes a type out of both."""
    sandbox.ok("apps:create", "demo")

    def lists() -> tuple[str, str]:
        disabled = sandbox.ok("checks:report", "demo", "--checks-disabled-list").strip()
        return disabled, sandbox.ok("checks:report", "demo", "--checks-skipped-list").strip()

    assert "Skipping zero downtime for app (demo)" in sandbox.ok("checks:skip", "demo")
    assert lists() == ("none", "_all_")
    sandbox.ok("checks:disable", "demo", "web,worker")
    assert lists() == ("web,worker", "_all_")
    sandbox.ok("checks:skip", "demo", "web")
    assert lists() == ("worker", "web")
    sandbox.ok("checks:disable", "demo")
    assert lists() == ("_all_", "none")
    sandbox.ok("checks:skip", "demo", "worker")
    sandbox.ok("checks:enable", "demo", "worker")
    assert lists() == ("_all_", "none")
    sandbox.ok("checks:enable", "demo")
    assert lists() == ("none", "none")


def _plugin(box: Sandbox, name: str, **hooks: str) -> None:
    """An enabled community plugin with the given hooks (shell bodies)."""
    folder = box.lib / "plugins" / "available" / name
    folder.mkdir(parents=True)
    (folder / "plugin.toml").write_text(f'[plugin]\ndescription = "{name}"\nversion = "0.1.0"\n[plugin.config]\n')
    for hook, body in hooks.items():
        (folder / hook.replace("_", "-")).write_text(f"#!/bin/sh\n{body}\n")
        (folder / hook.replace("_", "-")).chmod(0o755)
    box.ok("plugin:enable", name)


def test_the_crontab_comes_from_one_cron_entries_chain_that_stops_at_a_failure(sandbox: Sandbox) -> None:
    """plugins/cron/crontab.go: plugn stops at the first failing cron-entries hook and the crontab is written from
    what came before it; a line without two or three `;` fields fails the rewrite and keeps the old crontab; a blank
    line drops every entry, and no entry removes the crontab."""
    crontab = sandbox.lib / "data" / "cron" / "crontab"
    mode = sandbox.root / "mode"
    mode.write_text("crash")
    _plugin(sandbox, "aa-first", cron_entries="echo '1 1 * * *;echo first;/tmp/first.log'")
    _plugin(sandbox, "ab-middle", cron_entries=(
        f'case $(cat {mode}) in crash) echo "2 2 * * *;echo middle"; exit 1 ;; bad) echo "3 3 * * * echo bad" ;;'
        ' blank) printf "4 4 * * *;echo x\\n\\n" ;; esac'))  # fmt: skip
    _plugin(sandbox, "zz-last", cron_entries="echo '5 5 * * *;echo last'")

    sandbox.ok("plugin:trigger", "scheduler-cron-write")
    lines = crontab.read_text().splitlines()
    assert "1 1 * * * echo first &>> /tmp/first.log" in lines and "2 2 * * * echo middle" in lines
    assert not any("echo last" in line for line in lines), "plugn stopped at ab-middle"

    mode.write_text("bad")
    before = crontab.read_text()
    bad = sandbox.dokku("plugin:trigger", "scheduler-cron-write")
    assert bad.returncode != 0 and "Invalid injected cron task: 3 3 * * * echo bad" in bad.stderr
    assert crontab.read_text() == before

    mode.write_text("blank")
    sandbox.ok("plugin:trigger", "scheduler-cron-write")
    assert not crontab.exists()


def test_a_failing_uninstall_hook_leaves_the_plugin_installed(sandbox: Sandbox) -> None:
    """plugins/plugin/functions uninstall_plugin: `plugn trigger uninstall NAME` under `set -e`, then plugn
    uninstall; every plugin's hook gets the name."""
    _plugin(sandbox, "zz-stubborn", uninstall=f'echo "$1" >> {sandbox.root}/asked; [ "$1" != zz-stubborn ]')
    refused = sandbox.dokku("plugin:uninstall", "zz-stubborn")
    assert refused.returncode != 0 and (sandbox.lib / "plugins" / "available" / "zz-stubborn").is_dir()
    _plugin(sandbox, "zz-willing")
    done = sandbox.dokku("plugin:uninstall", "zz-willing")
    assert done.returncode == 0 and "Plugin zz-willing uninstalled" in done.stdout, done.stderr
    assert not (sandbox.lib / "plugins" / "available" / "zz-willing").exists()
    assert (sandbox.root / "asked").read_text().split() == ["zz-stubborn", "zz-willing"]
    missing = sandbox.dokku("plugin:uninstall", "zz-willing")
    assert missing.returncode == 1 and "Plugin (zz-willing) is not currently installed" in missing.stderr
