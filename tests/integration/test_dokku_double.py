"""The Dokku test double answers as Dokku does, including where Dokku is not kind."""

from __future__ import annotations

import http.client
import json
import os
import pwd
import shutil
import stat
import subprocess
import sys
import time

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


def test_a_process_sees_its_image_at_app_and_each_storage_mount_at_its_container_path(
    sandbox: Sandbox, app_src
) -> None:
    """Docker runs the image's /app with each `-v HOST:CONTAINER` of plugins/storage/triggers.go TriggerDockerArgs
    at its container path: a write to /app/files/x by absolute path lands in the storage entry's host folder."""
    for packaging in ("env.yml", "vault", "ansible", "nginx.conf.d"):  # a plain app: only Dokku deploys it
        path = app_src / packaging
        shutil.rmtree(path) if path.is_dir() else path.unlink()
    (app_src / "Procfile").write_text(
        "web: sh -c 'pwd > /app/files/cwd && cat /app/Procfile > /app/files/procfile && exec python3 app.py'\n"
    )
    sandbox.ok("apps:create", "hello")
    sandbox.ok("storage:create", "hello-files", "--chown", "herokuish")
    sandbox.ok("storage:mount", "hello", "hello-files", "--container-dir", "/app/files")
    deployed = sandbox.push("hello", app_src)
    assert deployed.returncode == 0, deployed.stdout + deployed.stderr
    host = sandbox.lib / "data" / "storage" / "hello-files"
    assert (host / "cwd").read_text() == "/app\n"
    assert (host / "procfile").read_text() == (app_src / "Procfile").read_text()
    assert not any((sandbox.lib / "data" / "ps" / "hello" / "images").glob("*/files/cwd"))  # bound, not copied


def _status_through_nginx(sandbox: Sandbox, host: str) -> int:
    port = int(services.load_nginx(sandbox.root)["http"])
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        conn.request("GET", "/", headers={"Host": host})
        return conn.getresponse().status
    finally:
        conn.close()


def _await_status(sandbox: Sandbox, host: str, status: int) -> None:
    """nginx's reload is asynchronous: its workers take the new configuration a moment later."""
    deadline = time.monotonic() + 10
    while (seen := _status_through_nginx(sandbox, host)) != status and time.monotonic() < deadline:
        time.sleep(0.05)
    assert seen == status


def test_nginx_upstreams_are_the_port_maps_container_ports_and_ports_set_rebuilds_at_once(
    sandbox: Sandbox, app_src
) -> None:
    """plugins/nginx-vhosts/templates/nginx.conf.sigil: `server IP:UPSTREAM_PORT` for each container port of the
    map, with the running container's IP whether it listens there or not; post-proxy-ports-update rebuilds nginx
    at once. A container started with PORT 5000 (the default map) gets 502s once the map says 6000, until a
    container started with the new map replaces it."""
    for packaging in ("env.yml", "vault", "ansible", "nginx.conf.d"):  # a plain app: only Dokku deploys it
        path = app_src / packaging
        shutil.rmtree(path) if path.is_dir() else path.unlink()
    sandbox.ok("apps:create", "hello")
    deployed = sandbox.push("hello", app_src)
    assert deployed.returncode == 0, deployed.stdout + deployed.stderr
    conf = sandbox.home / "hello" / "nginx.conf"
    host = conf.read_text().split("server_name ")[1].split()[0].rstrip(";")
    assert f"upstream hello-5000 {{ server 127.0.0.1:{sandbox.web('hello')['port']}; }}" in conf.read_text()
    _await_status(sandbox, host, 200)
    sandbox.ok("ports:set", "hello", "http:80:6000")
    assert "upstream hello-6000 { server 127.0.0.1:6000 down; }" in conf.read_text()
    _await_status(sandbox, host, 502)
    # plugins/proxy/subcommands.go CommandSet only sets the property; post-proxy-ports-update rebuilds only for nginx
    sandbox.ok("proxy:set", "hello", "type", "none")
    assert sandbox.ok("proxy:report", "hello", "--proxy-computed-type").strip() == "none"
    sandbox.ok("ports:set", "hello", "http:80:5000")
    assert "upstream hello-6000 { server 127.0.0.1:6000 down; }" in conf.read_text()
    sandbox.ok("proxy:set", "hello", "type")
    assert sandbox.ok("proxy:report", "hello", "--proxy-type").strip() == ""
    sandbox.ok("ports:set", "hello", "http:80:6000")
    sandbox.ok("ps:restart", "hello")
    assert f"upstream hello-6000 {{ server 127.0.0.1:{sandbox.web('hello')['port']}; }}" in conf.read_text()
    _await_status(sandbox, host, 200)


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


def test_the_crontab_comes_from_one_cron_entries_chain_that_stops_at_a_failure(sandbox: Sandbox) -> None:
    """plugins/cron/crontab.go: plugn stops at the first failing cron-entries hook and the crontab is written from
    what came before it; a line without two or three `;` fields fails the rewrite and keeps the old crontab; a blank
    line drops every entry, and no entry removes the crontab."""
    crontab = sandbox.lib / "data" / "cron" / "crontab"
    mode = sandbox.root / "mode"
    mode.write_text("crash")
    sandbox.add_plugin("aa-first", cron_entries="echo '1 1 * * *;echo first;/tmp/first.log'")
    sandbox.add_plugin("ab-middle", cron_entries=(
        f'case $(cat {mode}) in crash) echo "2 2 * * *;echo middle"; exit 1 ;; bad) echo "3 3 * * * echo bad" ;;'
        ' blank) printf "4 4 * * *;echo x\\n\\n" ;; esac'))  # fmt: skip
    sandbox.add_plugin("zz-last", cron_entries="echo '5 5 * * *;echo last'")

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
    sandbox.add_plugin("zz-stubborn", uninstall=f'echo "$1" >> {sandbox.root}/asked; [ "$1" != zz-stubborn ]')
    refused = sandbox.dokku("plugin:uninstall", "zz-stubborn")
    assert refused.returncode != 0 and (sandbox.lib / "plugins" / "available" / "zz-stubborn").is_dir()
    sandbox.add_plugin("zz-willing")
    done = sandbox.dokku("plugin:uninstall", "zz-willing")
    assert done.returncode == 0 and "Plugin zz-willing uninstalled" in done.stdout, done.stderr
    assert not (sandbox.lib / "plugins" / "available" / "zz-willing").exists()
    assert (sandbox.root / "asked").read_text().split() == ["zz-stubborn", "zz-willing"]
    missing = sandbox.dokku("plugin:uninstall", "zz-willing")
    assert missing.returncode == 1 and "Plugin (zz-willing) is not currently installed" in missing.stderr
