"""git:from-image and git:load-image: a build context that only says `FROM IMAGE`, committed to the app's
repository and deployed as a push would be (plugins/git/internal-functions cmd-git-from-image, cmd-git-load-image,
plugins/git/git-from-image, plugins/git/git-from-directory)."""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path
from typing import IO

from double.deploy import deploy_branch, known_image, loaded_image, receive
from double.env import Env, Fail, info1, verbose, warn
from double.plugins import trigger


def cmd_load_image(env: Env, args: list[str]) -> int:
    """git:load-image APP IMAGE [USER_NAME [USER_EMAIL]] [--build-dir DIR], the image as `docker load` reads it
    on stdin; then as git:from-image."""
    build_dir, rest = "", []
    words = iter(args)
    for arg in words:
        if arg == "--build-dir":
            build_dir = next(words, "")
        else:
            rest.append(arg)
    app = env.verify_app(rest[0] if rest else None)
    image = rest[1] if len(rest) > 1 else ""
    if not image:
        raise Fail("Please specify a docker image")
    if sys.stdin.isatty():
        raise Fail("Expecting tar archive containing docker image on STDIN")
    _docker_load(env, sys.stdin.buffer.read())
    if known_image(env, image) is None:
        raise Fail(f"Loaded image tarball but the specified docker image was not found: {image}")
    user = rest[2] if len(rest) > 2 else ""
    if not _from_image(
        env, app, image, build_dir, user=user or "Dokku", email=user or "automated@dokku.sh", force=False
    ):
        return 1
    trigger(env, "deploy-source-set", app, "docker-image", image)
    return 0


def _docker_load(env: Env, data: bytes) -> None:
    """`docker load` of a `docker save` tarball: manifest.json names each image (RepoTags) and its layers, tar
    files applied in order; the image's files are what the layers hold under app/ (the container's /app)."""
    try:
        with tarfile.open(fileobj=io.BytesIO(data)) as archive:
            for entry in json.load(archive.extractfile("manifest.json")):  # type: ignore[arg-type]
                with tempfile.TemporaryDirectory(prefix="double-load.", dir=env.lib_root / "data") as tmp:
                    for layer in entry["Layers"]:
                        _apply_layer(archive.extractfile(layer), Path(tmp))
                    for tag in entry.get("RepoTags") or []:
                        target = loaded_image(env, tag)
                        target.parent.mkdir(parents=True, exist_ok=True)
                        shutil.rmtree(target, ignore_errors=True)
                        shutil.copytree(Path(tmp) / "app", target, symlinks=True)
                        print(f"Loaded image: {tag}")
    except (tarfile.TarError, KeyError, TypeError, ValueError, OSError) as exc:
        raise Fail(f"Error response from daemon: unexpected EOF or invalid tarball ({exc})") from None


def _apply_layer(layer: IO[bytes] | None, root: Path) -> None:
    """One layer's files and folders over root (the double takes no links or devices, nor a path out of root)."""
    with tarfile.open(fileobj=layer) as files:
        for member in files.getmembers():
            name = Path(member.name)
            if name.is_absolute() or ".." in name.parts or not (member.isfile() or member.isdir()):
                raise ValueError(f"unsupported layer entry {member.name}")
            files.extract(member, root)


def cmd_from_image(env: Env, args: list[str]) -> int:
    """git:from-image APP IMAGE [USER_NAME [USER_EMAIL]] [--build-dir DIR] [--force]."""
    build_dir, force, rest = "", False, []
    words = iter(args)
    for arg in words:
        if arg == "--build-dir":
            build_dir = next(words, "")
        elif arg == "--force":
            force = True
        else:
            rest.append(arg)
    app = env.verify_app(rest[0] if rest else None)
    image = rest[1] if len(rest) > 1 else ""
    if not image:
        raise Fail("Please specify a docker image")
    # git-from-image reads both the user's name and e-mail from its fourth argument (the user's name)
    user = rest[2] if len(rest) > 2 else ""
    if not _from_image(
        env, app, image, build_dir, user=user or "Dokku", email=user or "automated@dokku.sh", force=force
    ):
        return 1
    trigger(env, "deploy-source-set", app, "docker-image", image)
    return 0


def _from_image(env: Env, app: str, image: str, build_dir: str, *, user: str, email: str, force: bool) -> bool:
    """The git-from-image trigger: the context (BUILD_DIR's files, if given, and the FROM lines appended to its
    Dockerfile), the image pulled unless present, then git-from-directory."""
    with tempfile.TemporaryDirectory(prefix=f"dokku-{os.environ.get('DOKKU_PID', os.getpid())}-git-from-image.") as tmp:
        context = Path(tmp)
        info1("Generating build context")
        if build_dir:
            if not os.path.isdir(build_dir):  # noqa: PTH112  # bash's -d: false for what the dokku user cannot reach
                raise Fail("Invalid BUILD_DIR specified for docker build context")
            verbose("Syncing build directory context")
            shutil.copytree(build_dir, context, symlinks=True, dirs_exist_ok=True)  # rsync -a DIR/ TMP
        with (context / "Dockerfile").open("a") as dockerfile:
            dockerfile.write(f"FROM {image}\n")
            dockerfile.write(f'LABEL com.dokku.docker-image-labeler/alternate-tags=[\\"{image}\\"]\n')
        if known_image(env, image) is None or force:
            info1("Force pulling image" if force else "Pulling image")
            # the double pulls nothing: what Docker answers for an image no registry has
            print(f"Error response from daemon: pull access denied for {image.partition(':')[0]}, repository does "
                  "not exist or may require 'docker login'", file=sys.stderr)  # fmt: skip
            raise Fail(f"Failed to pull image: {image}")
        info1("Image exists on host, skipping pull")
        env.prop_set("git", app, "source-image", image)
        return _from_directory(env, app, context, user, email)


def _git(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["git", "-C", str(cwd), *args], capture_output=True, text=True, check=False)


def _from_directory(env: Env, app: str, source: Path, user: str, email: str) -> bool:
    """The git-from-directory trigger: the context becomes the deploy branch's whole tree (files it lacks are
    deleted), one commit, then git_receive_app; a failed deploy moves the branch back."""
    repo, branch = env.app_dir(app), deploy_branch(env, app)
    has_code = _git(repo, "rev-parse", branch).returncode == 0
    info1("Updating git repository with specified build context")
    with tempfile.TemporaryDirectory(prefix="dokku-git-from-directory.") as tmp:
        work = Path(tmp) / "work"
        if has_code:
            subprocess.run(["git", "clone", "-q", str(repo), str(Path(tmp) / "clone")], capture_output=True, check=True)
            shutil.copytree(source, work, symlinks=True)
            (Path(tmp) / "clone" / ".git").rename(work / ".git")
        else:
            shutil.copytree(source, work, symlinks=True)
            _git(work, "init", "-q")
            _git(work, "checkout", "-q", "-b", branch)
        for key, value in (("user.name", user), ("user.email", email)):
            _git(work, "config", key, value)
        _git(work, "add", "--all")
        if has_code:
            _git(work, "update-index", "--refresh")
            if _git(work, "diff-index", "--quiet", "HEAD", "--").returncode == 0:
                warn("No changes detected, skipping git commit")
                warn("Call 'ps:rebuild' on app to rebuild the app from existing source")
                return False
        message = f"Automated commit @ {int(time.time())}" if has_code else "Initial commit"
        _git(work, "commit", "-q", "-m", message)
        rev = _git(work, "rev-parse", "HEAD").stdout.strip()
        # fn-git-clone / fn-git-fetch: fetched into the app's repository, which fires no receive hook
        subprocess.run(["git", "-C", str(repo), "fetch", "-q", str(work), f"+{rev}:refs/heads/{branch}"],
                       capture_output=True, check=True)  # fmt: skip
    try:
        receive(env, app, rev)
    except Fail as failure:
        for line in failure.message.split("\n") if failure.message else []:
            warn(line.removeprefix(" !     "))
        if has_code:
            _git(repo, "update-ref", f"refs/heads/{branch}", f"{branch}^")
        else:
            _git(repo, "update-ref", "-d", "HEAD")
        return False
    return True


COMMANDS = {"git:from-image": cmd_from_image, "git:load-image": cmd_load_image}
