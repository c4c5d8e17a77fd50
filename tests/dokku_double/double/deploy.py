"""The git-based deploy pipeline (git-hook, ps:rebuild), release-and-deploy, ps:*, and app processes on loopback."""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import io
import json
import os
import pwd
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from double import nginx
from double.env import Env, Fail, info1, info2_quiet, privileged, privileged_command, quietly, verbose, warn
from double.plugins import cron_write, has_trigger, trigger, trigger_honoured

CHECK_WAIT = 10.0  # Dokku's default-wait for the process-uptime check


def lock_path(env: Env, app: str) -> Path:
    return env.lib_root / "data" / "apps" / app / ".deploy.lock"


@contextlib.contextmanager
def deploy_lock(env: Env, app: str) -> Iterator[None]:
    """acquire_app_deploy_lock APP exclusive: fail at once when held, release with flock -u and rm."""
    path = lock_path(env, app)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            message = f"{app} currently has a deploy lock in place. Exiting..."
            raise Fail(f"{message}\nRun 'apps:unlock' to release the existing deploy lock") from None
        os.write(fd, os.environ.get("DOKKU_PID", str(os.getpid())).encode())
        yield
        fcntl.flock(fd, fcntl.LOCK_UN)
        path.unlink(missing_ok=True)
    finally:
        os.close(fd)


def ps_dir(env: Env, app: str) -> Path:
    return env.data_dir("ps", app)


def is_deployed(env: Env, app: str) -> bool:
    return env.prop_get("common", app, "deployed") == "true"


def deploy_branch(env: Env, app: str) -> str:
    return env.prop_get("git", app, "deploy-branch") or env.prop_get("git", "--global", "deploy-branch") or "master"


def rev_env_var(env: Env, app: str) -> str:
    """The setting a push writes its commit into (plugins/git/functions `git_build`, `git-revision`): the app's
    `rev-env-var` property, GIT_REV when it was never set, none ("") when it was set empty (no global fallback)."""
    path = env.prop_path("git", app, "rev-env-var")
    return path.read_text() if path.exists() else "GIT_REV"


GIT_KEYS = ("archive-max-files", "archive-max-size", "deploy-branch", "keep-git-dir", "rev-env-var", "source-image")


def cmd_git_set(env: Env, args: list[str]) -> int:
    """git:set (APP|--global) KEY [VALUE] (plugins/git/subcommands/set): a value is written; an empty one deletes
    the property, but for rev-env-var, where it is written empty (which disables it)."""
    app, key, value = (*args, "", "", "")[:3]
    if app != "--global":
        env.verify_app(app)
    if not key:
        raise Fail("No key specified")
    if key not in GIT_KEYS:
        raise Fail(f"Invalid key specified, valid keys include: {', '.join(GIT_KEYS)}")
    if value:
        info2_quiet(f"Setting {key} to {value}")
        env.prop_set("git", app, key, value)
    else:
        info2_quiet(f"Unsetting {key}")
        if key == "rev-env-var":
            env.prop_set("git", app, key, "")
        else:
            env.prop_delete("git", app, key)
    return 0


def git_hook(env: Env, args: list[str], stdin: io.TextIOBase) -> int:
    """The app repo's pre-receive hook: deploy the pushed deploy branch."""
    app = args[0]
    branch = deploy_branch(env, app)
    for line in stdin.read().splitlines():
        _old, new, ref = line.split()
        if ref != f"refs/heads/{branch}":
            warn(f"WARNING: deploy did not complete, you must push to {branch}.")
            warn(f"for example, try 'git push <dokku> {ref.removeprefix('refs/heads/')}:{branch}'")
            continue
        receive(env, app, new)
        trigger(env, "deploy-source-set", app, "git-push", new)
    return 0


def receive(env: Env, app: str, rev: str) -> None:
    """git_receive_app: lock, GIT_REV (or the app's rev-env-var), extract, post-extract (status ignored), build,
    release, deploy. The caller fires deploy-source-set (cmd-git-hook: git-push; git:from-image: docker-image)."""
    from double import apps, config  # cycle: config restarts through this module

    if not env.app_exists(app):
        apps.create(env, app)
    with deploy_lock(env, app):
        name = rev_env_var(env, app)
        if name:  # set empty by `git:set APP rev-env-var ""`: no setting gets the commit
            with quietly():
                config.cmd_set(env, ["--no-restart", app, f"{name}={rev}"])
        work = Path(tempfile.mkdtemp(prefix=f"dokku-{os.environ.get('DOKKU_PID', os.getpid())}-git_build_app_repo."))
        work.chmod(0o755)
        try:
            # Dokku checks REV out with `git worktree add`; the tree is the same, without .git.
            archive = subprocess.run(
                ["git", "-C", str(env.app_dir(app)), "archive", "--format=tar", rev],
                capture_output=True,
                check=True,
            ).stdout
            subprocess.run(["tar", "-x", "-C", str(work)], input=archive, check=True)
            trigger(env, "post-extract", app, str(work), rev)  # Dokku ignores post-extract's exit status
            builder = selected_builder(env, app) or ("dockerfile" if (work / "Dockerfile").exists() else "herokuish")
            trigger(env, "pre-receive-app", app, builder, str(work), rev)
            env.prop_set("builder", app, "detected", builder)  # dokku_receive: builder-set-property
            with _build_record(env, app):  # release_app_deploy_lock: builds-record-finalize with the exit code
                build(env, app, builder, work)
                release_and_deploy(env, app)
        finally:
            shutil.rmtree(work, ignore_errors=True)


def selected_builder(env: Env, app: str) -> str:
    """builder-detect of the builder plugin (plugins/builder/triggers.go TriggerBuilderDetect): the app's
    `selected` property, else the global one; it comes before every builder's own detection."""
    return env.prop_get("builder", app, "selected") or env.prop_get("builder", "--global", "selected")


def image_builder(env: Env, app: str) -> str:
    """get_image_builder_type (plugins/common/functions): the builder that built the app's current image (Docker:
    the image's com.dokku.builder-type label), kept beside the image folder here; herokuish when unknown."""
    image = (ps_dir(env, app) / "image").resolve()
    label = ps_dir(env, app) / "labels" / image.name
    return label.read_text() if label.is_file() else "herokuish"


def build(env: Env, app: str, builder: str, work: Path) -> None:
    """dokku_build (plugins/common/functions): builder-build, and when it fails (pre-build, the build itself,
    post-build), the last released image tagged `latest` again (none: the tag removed), then "App build failed"."""
    if builder == "null":  # plugins/builder-null implements no builder-build: nothing is built, nothing fires
        return
    try:
        _builder_build(env, app, builder, work)
    except Fail as failure:
        if failure.message:
            print(f" !     {failure.message}", file=sys.stderr)
        _retag_released(env, app)
        raise Fail("App build failed", failure.code or 1) from None


def _builder_build(env: Env, app: str, builder: str, work: Path) -> None:
    """builder-build: pre-build (honoured), 'the image' is a copy of the work dir (a Dockerfile's RUN lines run in
    it), or, for a Dockerfile whose last FROM names an image the double knows (known_image), a copy of that image
    with only the last stage's RUN lines run in it (the context is not in it: the double reads no COPY), then
    post-build (honoured)."""
    info1(f"Building {app} from {builder}...")
    code = trigger(env, "pre-build", builder, app, str(work))
    if code != 0:
        raise Fail("", code)
    image = ps_dir(env, app) / "images" / f"{time.time_ns()}"
    base = _base_image(env, work / "Dockerfile") if builder == "dockerfile" else None
    if base is None:
        shutil.copytree(work, image, symlinks=True)
    else:  # a herokuish image's baked settings are its own app's (and only its user reads them): not sourced by
        # a Dockerfile app's process, so left out
        shutil.copytree(
            base, image, symlinks=True, ignore=lambda folder, _names: [".profile.d"] * (folder == str(base))
        )
    if builder == "dockerfile":
        _run_dockerfile(image, _dockerfile_runs(work / "Dockerfile", last_stage=base is not None))
    (ps_dir(env, app) / "labels").mkdir(exist_ok=True)
    (ps_dir(env, app) / "labels" / image.name).write_text(builder)
    current = ps_dir(env, app) / "image"
    tmp = current.with_name("image.tmp")
    tmp.unlink(missing_ok=True)
    tmp.symlink_to(image)
    tmp.replace(current)
    trigger_honoured(env, "post-build", builder, app, str(work))


def loaded_image(env: Env, name: str) -> Path:
    """Where an image `git:load-image` loaded is kept, by its name (a missing tag is `latest`)."""
    full = name if ":" in name.rpartition("/")[2] else f"{name}:latest"
    return env.lib_root / "data" / "double-images" / hashlib.sha256(full.encode()).hexdigest()


def known_image(env: Env, name: str) -> Path | None:
    """The image folder a Docker image name stands for on this "host": one `git:load-image` loaded, or
    `dokku/APP:latest` (or `dokku/APP`), the image an app's last build tagged; the double knows no other (Docker
    would pull it from a registry)."""
    if loaded_image(env, name).is_dir():
        return loaded_image(env, name)
    repository, _, tag = name.partition(":")
    app = repository.removeprefix("dokku/")
    if repository == app or tag not in ("", "latest") or not env.app_exists(app):
        return None
    image = ps_dir(env, app) / "image"
    return image.resolve() if image.is_symlink() and image.resolve().is_dir() else None


def _base_image(env: Env, dockerfile: Path) -> Path | None:
    """The image the last stage of a Dockerfile starts FROM, when the double knows it."""
    text = re.sub(r"\\\n", " ", dockerfile.read_text()) if dockerfile.is_file() else ""
    froms = [line.split()[1:] for line in text.splitlines() if line.strip().upper().startswith("FROM ")]
    words = [w for w in froms[-1] if not w.startswith("--")] if froms else []
    return known_image(env, words[0]) if words else None


def _dockerfile_runs(dockerfile: Path, *, last_stage: bool = False) -> list[str]:
    """The shell commands of a Dockerfile's RUN instructions (of its last stage only, when last_stage),
    continuation lines joined (the exec form's words quoted for the shell); the other instructions are not read."""
    runs: list[str] = []
    text = re.sub(r"\\\n", " ", dockerfile.read_text())
    for line in text.splitlines():
        keyword, _, rest = line.strip().partition(" ")
        if last_stage and keyword.upper() == "FROM":
            runs = []
        if keyword.upper() != "RUN" or not rest.strip():
            continue
        rest = rest.strip()
        if rest.startswith("["):
            with contextlib.suppress(ValueError):
                rest = shlex.join(json.loads(rest))
        runs.append(rest)
    return runs


def _run_dockerfile(image: Path, runs: list[str]) -> None:
    """builder-dockerfile's `docker image build ... --tag IMAGE .` (plugins/builder-dockerfile/builder-build): each
    RUN in the image folder, with /bin/sh, as the dokku user (Docker: as root in a build container); the first
    that fails fails the build, and the tag stays on the old image."""
    for command in runs:
        done = subprocess.run(
            ["/bin/sh", "-c", command], cwd=image, env={"PATH": os.environ.get("PATH", "/usr/bin:/bin")}, check=False
        )
        if done.returncode != 0:
            shutil.rmtree(image, ignore_errors=True)
            raise Fail(
                f'ERROR: failed to build: failed to solve: process "/bin/sh -c {command}" did not complete '
                f"successfully: exit code: {done.returncode}",
                done.returncode,
            )


def _retag_released(env: Env, app: str) -> None:
    """dokku_build's failure path: the image labelled as released is `latest` again, or the tag is removed."""
    current, released = ps_dir(env, app) / "image", ps_dir(env, app) / "released"
    if released.is_symlink() and released.resolve().is_dir():
        warn(f"Retagging old image {released.resolve().name} as dokku/{app}:latest")
        tmp = current.with_name("image.tmp")
        tmp.unlink(missing_ok=True)
        tmp.symlink_to(released.resolve())
        tmp.replace(current)
    else:
        warn(f"Removing invalid image tag dokku/{app}:latest")
        current.unlink(missing_ok=True)


def _build_id() -> str:
    """DOKKU_BUILD_ID, set once for the command and its nested calls (acquire_app_deploy_lock,
    dokku_setup_build_capture); the double uses Dokku's fallback when builds-generate-id prints nothing."""
    if not os.environ.get("DOKKU_BUILD_ID"):
        os.environ["DOKKU_BUILD_ID"] = f"pid-{os.environ.get('DOKKU_PID', os.getpid())}"
    return os.environ["DOKKU_BUILD_ID"]


@contextlib.contextmanager
def _build_record(env: Env, app: str) -> Iterator[None]:
    """`plugn trigger builds-record-finalize APP BUILD_ID EXIT || true` once what it wraps is done, with its exit
    code (plugins/common/functions release_and_deploy and release_app_deploy_lock): on a failed build it is the
    only hook Dokku calls."""
    build_id, code = _build_id(), 0
    try:
        yield
    except Fail as failure:
        code = failure.code or 1
        raise
    finally:
        trigger(env, "builds-record-finalize", app, build_id, str(code))


def release_and_deploy(env: Env, app: str) -> None:
    """release_and_deploy APP latest: nothing without an image (fn-verify-app-image); else the release hooks of
    the builder that built the image (get_image_builder_type, not the builder of the push: a push with the null
    builder releases the image built before), pre-deploy only if a plugin ships it, then deploy."""
    if not (ps_dir(env, app) / "image").resolve().is_dir():
        return
    builder = image_builder(env, app)
    image = f"dokku/{app}:latest"
    with _build_record(env, app):
        info1(f"Releasing {app}...")
        if builder == "herokuish":
            _bake_settings(env, app)
        _mark_released(env, app)
        trigger_honoured(env, "pre-release-builder", builder, app, image)
        trigger_honoured(env, "post-release-builder", builder, app, image)
        if has_trigger(env, "pre-deploy"):  # the registry plugin calls it from post-release-builder
            warn("Deprecated: please upgrade plugin to use 'pre-release-builder' plugin trigger instead of pre-deploy")
            trigger_honoured(env, "pre-deploy", app, "latest")
        deploy(env, app)


def _mark_released(env: Env, app: str) -> None:
    """builder-release builds the image labelled `com.dokku.image-stage=release` before pre-release-builder
    (plugins/builder-herokuish/builder-release, plugins/builder-dockerfile/builder-release): the one a failed
    build's retag returns to."""
    released = ps_dir(env, app) / "released"
    tmp = released.with_name("released.tmp")
    tmp.unlink(missing_ok=True)
    tmp.symlink_to((ps_dir(env, app) / "image").resolve())
    tmp.replace(released)


def _bake_settings(env: Env, app: str) -> None:
    """plugins/builder-herokuish/builder-release: `config_export global` and `config_export app` are written into
    the image as /app/.profile.d/00-global-env.sh and 01-app-env.sh, owned by the app's user, *before*
    pre-release-builder fires; herokuish sources them at every start, over the environment the container is given.
    ps:restart does not come here."""
    from double import config  # cycle

    image = (ps_dir(env, app) / "image").resolve()
    profile = image / ".profile.d"
    profile.mkdir(exist_ok=True)
    uid, gid = app_user(env, app)
    for name, scope in (("00-global-env.sh", "--global"), ("01-app-env.sh", app)):
        exports = "".join(f"export {k}={shlex.quote(v)}\n" for k, v in sorted(config.read(env, scope).items()))
        (profile / name).unlink(missing_ok=True)  # the last release's, the app user's
        (profile / name).touch(mode=0o600)  # secrets: in Dokku they are inside an image only root's Docker reads
        (profile / name).write_text(exports)
        privileged("container", "chown", str(profile / name), str(uid), str(gid))


def app_user(env: Env, app: str) -> tuple[int, int]:
    """Who the app's containers run as: a herokuish image's processes as DOKKU_APP_USER, `herokuishuser` unless set
    (plugins/builder-herokuish/docker-args-build); a Dockerfile image as root (Docker's default; the double does not
    read the Dockerfile's USER)."""
    from double import config  # cycle

    if image_builder(env, app) != "herokuish":
        return 0, 0
    name = config.read(env, app).get("DOKKU_APP_USER") or "herokuishuser"
    try:
        user = pwd.getpwnam(name)
    except KeyError:
        raise Fail(f"unable to find user {name}: no matching entries in passwd file") from None
    return user.pw_uid, user.pw_gid


def _procfile_web(image: Path) -> str | None:
    procfile = image / "Procfile"
    if not procfile.exists():
        return None
    for line in procfile.read_text().splitlines():
        name, _, command = line.partition(":")
        if name.strip() == "web":
            return command.strip()
    return None


PORT_CLAIMS = Path("/tmp/dokku-double-port-claims")  # shared by every sandbox here: their apps share one loopback
PORT_CLAIM_SECONDS = 3 * CHECK_WAIT  # a claim its deploy never released (killed) keeps others off this long


def _claim_port() -> int:
    """A free port from 20000 up to the kernel's ephemeral range, claimed until the app listens (_release_port).
    A container never competes for its port (Docker gives each its own address); a process here does, so it keeps
    out of the ephemeral range, which bind(0) and every outgoing connection draw from, and out of 10000-19999,
    where the test harness picks the ports of its servers and of the servers a test keeps down
    (scripts/services.py). Two deploys at once, in one sandbox or two, could find the same port free before
    either app binds it; a claim (PORT_CLAIMS/PORT, made only if absent) keeps every other pick off it."""
    import secrets  # here, not at the top: it brings hashlib and hmac into every dokku call

    low = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    if low <= 20000:
        raise Fail(f"the kernel's ephemeral ports start at {low}; the test double needs them above 20000 "
                   "(sysctl net.ipv4.ip_local_port_range, 32768 by default)")  # fmt: skip
    port_claims()
    for _ in range(200):
        port = 20000 + secrets.randbelow(low - 20000)
        claim = PORT_CLAIMS / str(port)
        with contextlib.suppress(FileNotFoundError, PermissionError):
            if time.time() - claim.stat().st_mtime < PORT_CLAIM_SECONDS:
                continue
            claim.unlink()  # left by a deploy that was killed: its app listens on the port by now, or never will
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
        try:
            os.close(os.open(claim, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
        except FileExistsError:  # another deploy claimed it just now
            continue
        return port
    raise Fail("no free port for the app's container between 20000 and the ephemeral range")


def port_claims() -> Path:
    """PORT_CLAIMS, made if absent: writable by every user (the dokku user claims, and root or another sandbox's
    dokku user may have made it), sticky (each removes only its own claims)."""
    with contextlib.suppress(FileExistsError):
        PORT_CLAIMS.mkdir()
        PORT_CLAIMS.chmod(0o1777)
    return PORT_CLAIMS


def _release_port(port: int) -> None:
    """Once the app listens on its port (others' binds fail from then on), or has failed to."""
    with contextlib.suppress(FileNotFoundError):
        (PORT_CLAIMS / str(port)).unlink()


def _listening(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.2)
        return s.connect_ex(("127.0.0.1", port)) == 0


def _alive(pid: int) -> bool:
    """Running (a zombie whose parent has not reaped it yet has stopped: it holds no ports)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
    except (FileNotFoundError, IndexError):
        return False
    return state != "Z"


def _container_env(env: Env, app: str, image: Path) -> dict[str, str]:
    """What Docker gives an app's container: the app's settings (docker-args-deploy), HOME at /app."""
    from double import config  # cycle

    app_env = {**config.read(env, "--global"), **config.read(env, app)}
    container = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": "/app", **app_env, "DOKKU_APP_NAME": app}
    return {**container, "DOKKU_LIB_ROOT": str(env.lib_root)}  # for the root helper, which drops it


def _container_command(env: Env, app: str, image: Path, command: str) -> list[str]:
    """`docker run --user APP_USER -v HOST:CONTAINER ...` of the image, through the double's root helper: the
    command runs as the app's user in a mount namespace where the image folder is /app and each storage mount under
    /app is bound at its container path (plugins/storage/triggers.go TriggerDockerArgs: `-v HOST:CONTAINER`), in
    /app, and herokuish's procfile-load-profile first (the baked .profile.d files win over the container's
    environment)."""
    from double.proxy import container_mounts  # cycle: proxy renders nginx through this package

    uid, gid = app_user(env, app)
    binds = [
        f"{host}:{image / Path(container).relative_to('/app')}"  # the helper binds it at /app/...
        for _name, host, container in container_mounts(env, app)  # Docker's refusal of two on one path
        if Path(container).is_relative_to("/app")  # a mount elsewhere has no place in a process "container"
    ]
    profile = 'for f in .profile.d/*.sh; do [ -r "$f" ] && . "$f"; done; ' if (image / ".profile.d").is_dir() else ""
    path = os.environ.get("PATH", "/usr/bin:/bin")
    run = ("run", str(uid), str(gid), str(image), path, *binds, "--", "/bin/sh", "-c", f"{profile}{command}")
    return privileged_command("container", *run)


def _app_json_postdeploy(env: Env, app: str) -> None:
    """plugins/app-json/triggers.go TriggerPostDeploy: app.json's scripts.dokku.postdeploy in a one-off container
    of the new image; a failure fails the deploy (and, as a later plugin's post-deploy, stops the chain)."""
    image = (ps_dir(env, app) / "image").resolve()
    app_json = image / "app.json"
    scripts = json.loads(app_json.read_text()).get("scripts", {}) if app_json.exists() else {}
    command = (scripts.get("dokku") or {}).get("postdeploy", "")
    info1("Checking for postdeploy task")
    if not command:
        verbose("No postdeploy task found, skipping")
        return
    verbose(f"Executing postdeploy task from app.json in ephemeral container: {command}")
    done = subprocess.run(
        _container_command(env, app, image, command), env=_container_env(env, app, image), check=False
    )
    if done.returncode != 0:
        raise Fail(f"Execution of postdeploy task failed: {command}", done.returncode)


def _start_web(env: Env, app: str) -> dict[str, object] | None:
    """Where Dokku starts the web container: run the Procfile's web command on 127.0.0.1 with PORT set."""
    image = (ps_dir(env, app) / "image").resolve()
    command = _procfile_web(image)
    if command is None:
        return None
    port = _claim_port()
    try:
        pid = _run_web(env, app, image, command, port)
        # the port it listens on, and the one Docker's container would (its PORT: nginx's upstreams are built on it)
        return {"pid": pid, "port": port, "container_port": nginx.container_port(env, app), "image": str(image)}
    finally:
        _release_port(port)


def _run_web(env: Env, app: str, image: Path, command: str, port: int) -> int:
    """The web process's pid, once it listens on port (Dokku's uptime check, CHECK_WAIT)."""
    log = (ps_dir(env, app) / "web.log").open("ab")
    proc = subprocess.Popen(
        _container_command(env, app, image, f"exec {command}"),
        env={**_container_env(env, app, image), "PORT": str(port)},
        stdin=subprocess.DEVNULL,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    deadline = time.monotonic() + CHECK_WAIT
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise Fail(
                f"App container failed to start (web exited with {proc.returncode}); see {ps_dir(env, app) / 'web.log'}"
            )
        if _listening(port):
            return proc.pid
        time.sleep(0.05)
    _kill(proc.pid)
    raise Fail(f"App container failed to start (web did not listen on port {port} within {CHECK_WAIT:.0f}s)")


def _kill(pid: int, wait: float = 5.0) -> None:
    """Stop a process group like `docker stop`: SIGTERM, then SIGKILL after `wait` seconds; return once it is gone."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signal.SIGTERM)
    deadline = time.monotonic() + wait
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.02)
    with contextlib.suppress(FileNotFoundError):  # gone meanwhile
        if _alive(pid) and Path(f"/proc/{pid}").stat().st_uid != os.getuid():  # root's helper runs it: Docker kills
            privileged("container", "kill", str(pid))
    with contextlib.suppress(ProcessLookupError):
        if _alive(pid):
            os.killpg(pid, signal.SIGKILL)
    while _alive(pid):  # gone, with its ports, before the caller starts what takes them over
        time.sleep(0.02)


def running(env: Env, app: str) -> dict[str, object] | None:
    path = ps_dir(env, app) / "web.json"
    if not path.exists():
        return None
    proc = json.loads(path.read_text())
    return proc if _alive(int(proc["pid"])) else None


PUBLISH = re.compile(r"^(?:-p|--publish)[ =](?:127\.0\.0\.1:|0\.0\.0\.0:)?(\d+):(\d+)(?:/tcp)?$")


def _unpublish(env: Env, app: str) -> None:
    path = ps_dir(env, app) / "forwards.json"
    for pid in json.loads(path.read_text()) if path.exists() else []:
        _kill(int(pid))
    path.unlink(missing_ok=True)


def _published(env: Env, app: str) -> list[tuple[int, int]]:
    """The deploy phase's `-p HOST:CONTAINER` options, as (host, container) ports."""
    from double.proxy import docker_options  # cycle: proxy renders nginx through this package

    matches = (PUBLISH.match(option) for option in docker_options(env, app, "deploy"))
    return [(int(m[1]), int(m[2])) for m in matches if m]


def _publish(env: Env, app: str) -> None:
    """A relay from each published host port to the container port, both on loopback."""
    _unpublish(env, app)
    pids = []
    for host, container in _published(env, app):
        relay = subprocess.Popen(
            [sys.executable, str(Path(__file__).with_name("forward.py")), str(host), str(container)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        pids.append(relay.pid)
        (ps_dir(env, app) / "forwards.json").write_text(json.dumps(pids))
        deadline = time.monotonic() + CHECK_WAIT
        while not _listening(host) and relay.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        if relay.poll() is not None:
            raise Fail(f"Bind for 127.0.0.1:{host} failed: port is already allocated")


def deploy(env: Env, app: str) -> None:
    """scheduler-deploy: new process, check-deploy, core-post-deploy, post-deploy (honoured), retire the old one."""
    from double.proxy import checks_disabled  # cycle: proxy renders nginx through this package

    info1(f"Deploying {app} via the docker-local scheduler...")
    old = running(env, app)
    zero_downtime = not checks_disabled(env, app)
    if old is not None and not zero_downtime:
        info1("Zero downtime is disabled, stopping currently running containers (web.1)")
        stop_processes(env, app)
        old = None
    if old is not None and _published(env, app):  # what Docker answers: the old container holds the host port
        raise Fail(f"Bind for 0.0.0.0:{_published(env, app)[0][0]} failed: port is already allocated")
    new = _start_web(env, app)
    if new is not None and zero_downtime:  # bin/scheduler-deploy-process-container: not when checks are disabled
        verbose("Attempting pre-flight checks (web.1)")
        code = trigger(env, "check-deploy", app, str(new["pid"]), "web", str(new["port"]), "127.0.0.1", "1")
        if code != 0:
            _kill(int(new["pid"]))
            raise Fail("Deploy failed: check-deploy", code)
    if new is not None:
        (ps_dir(env, app) / "web.json").write_text(json.dumps(new))
    if old is not None and (new is None or old["pid"] != new["pid"]):  # kept running if what follows fails
        _retiring(env, app, [*_retiring(env, app), int(old["pid"])])
    info1("Running post-deploy")
    env.prop_set("common", app, "deployed", "true")  # core-post-deploy
    nginx.build_config(env, app)  # nginx-vhosts' part of core-post-deploy: traffic switches here
    trigger_honoured(env, "core-post-deploy", app, "", "", "latest")
    # plugn runs post-deploy in the plugins' alphabetical order and stops at the first failure: ansible-deploy,
    # then app-json (scripts.dokku.postdeploy), then cron (the crontab, scheduler-docker-local)
    trigger_honoured(env, "post-deploy", app, "", "", "latest")
    _app_json_postdeploy(env, app)
    cron_write(env)
    _retire(env, app)
    if new is not None:
        _publish(env, app)  # the relays now lead to the new container
    _prune_images(env, app)
    info2_quiet("Application deployed:")
    vhosts_file = env.app_dir(app) / "VHOST"
    vhosts = vhosts_file.read_text().split() if vhosts_file.exists() else []
    for url in [f"http://{v}" for v in vhosts] or ([f"http://127.0.0.1:{new['port']}"] if new else []):
        verbose(url)


def _prune_images(env: Env, app: str) -> None:
    keep = {str((ps_dir(env, app) / name).resolve()) for name in ("image", "released")}
    proc = running(env, app)
    if proc:
        keep.add(str(proc["image"]))
    for image in (ps_dir(env, app) / "images").iterdir():
        if str(image) not in keep:
            shutil.rmtree(image, ignore_errors=True)
            (ps_dir(env, app) / "labels" / image.name).unlink(missing_ok=True)


def _retiring(env: Env, app: str, pids: list[int] | None = None) -> list[int]:
    """Old containers still running: scheduler-deploy retires them only after post-deploy succeeded."""
    path = ps_dir(env, app) / "retiring.json"
    if pids is not None:
        path.write_text(json.dumps(pids))
    return json.loads(path.read_text()) if path.exists() else []


def _retire(env: Env, app: str) -> None:
    for pid in _retiring(env, app):
        _kill(pid)
    (ps_dir(env, app) / "retiring.json").unlink(missing_ok=True)


def stop_processes(env: Env, app: str) -> None:
    proc = running(env, app)
    if proc is not None:
        _kill(int(proc["pid"]))
    _retire(env, app)
    _unpublish(env, app)
    (ps_dir(env, app) / "web.json").unlink(missing_ok=True)


def rebuild(env: Env, app: str) -> None:
    head = subprocess.run(
        ["git", "-C", str(env.app_dir(app)), "rev-parse", f"refs/heads/{deploy_branch(env, app)}"],
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()
    if not head:
        warn(f"App {app} has not been deployed")
        return
    receive(env, app, head)
    trigger(env, "deploy-source-set", app, "git-push", head)


def cmd_restart(env: Env, args: list[str]) -> int:
    app = env.verify_app(args[0] if args else None)
    if not is_deployed(env, app):
        warn(f"App {app} has not been deployed")
        return 0
    deploy(env, app)
    return 0


def cmd_rebuild(env: Env, args: list[str]) -> int:
    rebuild(env, env.verify_app(args[0] if args else None))
    return 0


def cmd_stop(env: Env, args: list[str]) -> int:
    app = env.verify_app(args[0] if args else None)
    info1(f"Stopping {app}")
    stop_processes(env, app)
    return 0


def cmd_start(env: Env, args: list[str]) -> int:
    app = env.verify_app(args[0] if args else None)
    if running(env, app) is None:
        release_and_deploy(env, app)
    return 0


BUILDER_PROPERTIES = ("build-dir", "selected", "skip-cleanup")  # and `detected`, read-only


def cmd_builder_set(env: Env, args: list[str]) -> int:
    """builder:set APP|--global PROPERTY [VALUE] (plugins/builder/subcommands.go CommandSet,
    common.CommandPropertySet)."""
    app, prop, value = [*args, "", "", ""][:3]
    if app != "--global":
        env.verify_app(app or None)
    if prop == "detected":
        warn("detected is a read-only property")
        return 0
    env.command_property_set("builder", app, prop, value, BUILDER_PROPERTIES)
    return 0


COMMANDS = {
    "builder:set": cmd_builder_set,
    "ps:restart": cmd_restart,
    "ps:rebuild": cmd_rebuild,
    "ps:stop": cmd_stop,
    "ps:start": cmd_start,
    "git:set": cmd_git_set,
}
