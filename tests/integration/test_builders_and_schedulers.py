"""Deploys that do not build the pushed tree as a plain push does: `git:from-image` (an image built elsewhere,
through Dokku's normal build of a context that holds only a generated Dockerfile, or BUILD_DIR's files and it), the
null builder, and an app moved to the k3s scheduler after its packaging was staged."""

from __future__ import annotations

import io
import json
import shutil
import subprocess
import tarfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import EXAMPLE, Sandbox, drop_sandbox, new_sandbox, output


@pytest.fixture(scope="module")
def box() -> Iterator[Sandbox]:
    sandbox = new_sandbox()
    yield sandbox
    drop_sandbox(sandbox)


def _tree(box: Sandbox, app: str) -> list[str]:
    listing = subprocess.run(["git", "-c", "safe.directory=*", "-C", str(box.home / app), "ls-tree", "--name-only", "master"],
                             capture_output=True, text=True, check=True)  # fmt: skip
    return listing.stdout.split()


def test_git_from_image_builds_a_context_of_only_a_dockerfile_and_refuses_as_dokku_does(
    box: Sandbox, tmp_path: Path
) -> None:
    """The double: plugins/git/git-from-image, git-from-directory and cmd-git-from-image."""
    image_src = tmp_path / "ci"
    shutil.copytree(EXAMPLE, image_src, ignore=shutil.ignore_patterns("env.yml", "vault", "ansible", "nginx.conf.d"))
    assert box.push("ci", image_src).returncode == 0
    box.ok("apps:create", "from-ci")

    deployed = box.dokku("git:from-image", "from-ci", "dokku/ci:latest")
    assert deployed.returncode == 0, output(deployed)
    text = output(deployed)
    assert "Image exists on host, skipping pull" in text
    assert "Building from-ci from dockerfile..." in text
    assert _tree(box, "from-ci") == ["Dockerfile"], "the context is only the generated Dockerfile"
    assert box.get("from-ci")["app"] == "hello", "the image's code serves"

    again = box.dokku("git:from-image", "from-ci", "dokku/ci:latest")
    assert again.returncode == 1
    assert "No changes detected, skipping git commit" in again.stderr

    unknown = box.dokku("git:from-image", "from-ci", "registry.invalid/nothing:1")
    assert unknown.returncode == 1 and "Failed to pull image: registry.invalid/nothing:1" in unknown.stderr
    missing = box.dokku("git:from-image", "from-ci", "dokku/ci:latest", "--build-dir", str(tmp_path / "none"))
    assert missing.returncode == 1 and "Invalid BUILD_DIR specified for docker build context" in missing.stderr


def _saved(image: Path, tag: str) -> bytes:
    """What `docker save TAG` writes for an image whose files are under /app."""
    layer = io.BytesIO()
    with tarfile.open(fileobj=layer, mode="w") as files:
        for path in sorted(image.rglob("*")):
            if ".profile.d" not in path.parts and not path.is_symlink():
                files.add(path, arcname=f"app/{path.relative_to(image)}", recursive=False)
    saved = io.BytesIO()
    with tarfile.open(fileobj=saved, mode="w") as archive:
        for name, data in (
            ("layer.tar", layer.getvalue()),
            ("manifest.json", json.dumps([{"RepoTags": [tag], "Layers": ["layer.tar"]}]).encode()),
        ):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return saved.getvalue()


def _load_image(box: Sandbox, app: str, tag: str, saved: bytes) -> subprocess.CompletedProcess[bytes]:
    dokku = [str(box.root / "bin" / "dokku"), "git:load-image", app, tag]
    return subprocess.run(dokku, input=saved, capture_output=True, check=False)


def test_git_load_image_deploys_the_image_docker_load_reads_from_stdin(box: Sandbox, tmp_path: Path) -> None:
    """The double: plugins/git/internal-functions cmd-git-load-image, then as git:from-image."""
    image_src = tmp_path / "saved"
    shutil.copytree(EXAMPLE, image_src, ignore=shutil.ignore_patterns("env.yml", "vault", "ansible", "nginx.conf.d"))
    assert box.push("saved", image_src).returncode == 0
    saved = _saved((box.lib / "data" / "ps" / "saved" / "image").resolve(), "ci.example/saved:1")
    box.ok("apps:create", "loaded")

    absent = _load_image(box, "loaded", "ci.example/other:1", saved)
    assert absent.returncode == 1
    assert b"Loaded image tarball but the specified docker image was not found: ci.example/other:1" in absent.stderr
    loaded = _load_image(box, "loaded", "ci.example/saved:1", saved)
    assert loaded.returncode == 0, loaded.stderr.decode()
    assert _tree(box, "loaded") == ["Dockerfile"]
    assert box.get("loaded")["app"] == "hello"


def _app(src: Path, env_yml: str) -> Path:
    """The example's code with a packaging of its own."""
    src.mkdir()
    shutil.copy(EXAMPLE / "app.py", src)
    shutil.copy(EXAMPLE / "Procfile", src)
    (src / "env.yml").write_text(env_yml)
    return src


def test_a_deploy_from_an_image_keeps_the_staged_packaging_or_takes_build_dirs(box: Sandbox, tmp_path: Path) -> None:
    """B6: the image's context has no packaging file at all, so the staged packaging is staged again for its
    commit; a BUILD_DIR with packaging files brings new packaging."""
    src = _app(tmp_path / "hello", "version: 1\nenv: {GREETING: from the push}\n")
    assert box.push("hello", src).returncode == 0
    pushed = box.staged("hello")

    deployed = box.dokku("git:from-image", "hello", "dokku/hello:latest")
    assert deployed.returncode == 0, output(deployed)
    assert "Traceback" not in output(deployed)
    assert "ansible-deploy: no packaging files in this tree; hello keeps release" in output(deployed)
    staged = box.staged("hello")
    assert staged != pushed, "the image's commit gets a release of its own"
    assert (staged / "env.yml").read_bytes() == (pushed / "env.yml").read_bytes()
    assert box.get("hello")["greeting"] == "from the push"

    build_dir = box.root / "build"  # the dokku user reads it
    build_dir.mkdir()
    (build_dir / "env.yml").write_text("version: 1\nenv: {GREETING: from the build dir}\n")
    deployed = box.dokku("git:from-image", "hello", "dokku/hello:latest", "--build-dir", str(build_dir))
    assert deployed.returncode == 0, output(deployed)
    assert box.config("hello")["GREETING"] == "from the build dir"
    assert box.get("hello")["greeting"] == "from the build dir"


def test_an_app_moved_to_k3s_after_staging_is_refused_without_a_push(box: Sandbox, tmp_path: Path) -> None:
    """M10: the push's k3s refusals hold for the releases without a push (config:set) and for ps:restart, before
    the deploy and before any docker-local storage or nginx work, even when every phase would skip."""
    src = _app(tmp_path / "k3s", "version: 1\nport: 5000\nstorage:\n  - {name: uploads, path: /app/uploads}\n")
    assert box.push("k3s", src).returncode == 0
    box.ok("scheduler:set", "k3s", "selected", "k3s")
    entries = box.ok("storage:list-entries", "--format", "json")
    refusal = "storage: the plugin's folders are on this host, which k3s cannot mount: its scheduler is k3s"

    changed = box.dokku("config:set", "k3s", "SOMETHING=1")
    assert refusal in output(changed), output(changed)
    assert "Deploying k3s" not in output(changed), "refused at the release, before the deploy"
    restarted = box.dokku("ps:restart", "k3s")
    assert restarted.returncode != 0 and refusal in output(restarted), output(restarted)
    assert "Traceback" not in output(changed) + output(restarted)
    assert box.ok("storage:list-entries", "--format", "json") == entries


def test_a_push_with_the_null_builder_is_refused_and_keeps_the_staged_packaging(box: Sandbox, tmp_path: Path) -> None:
    """M9: the null builder builds nothing, so the push's packaging never reaches post-build; Dokku still releases
    the image built before (its builder's pre-release-builder) and deploys it."""
    src = _app(tmp_path / "null", "version: 1\nenv: {GREETING: built}\n")
    assert box.push("null", src).returncode == 0
    staged = box.staged("null")
    box.ok("builder:set", "null", "selected", "null")

    (src / "env.yml").write_text("version: 1\nenv: {GREETING: never built}\n")
    refused = box.push("null", src)
    text = output(refused)
    assert "Building null" not in text, "the null builder builds nothing"
    assert refused.returncode != 0, text
    assert "builder is null" in text and "Traceback" not in text
    assert box.staged("null") == staged and box.config("null")["GREETING"] == "built"

    box.ok("builder:set", "null", "selected")
    (src / "app.py").write_text((src / "app.py").read_text() + "\n# built again\n")
    assert box.push("null", src).returncode == 0
    assert box.config("null")["GREETING"] == "never built"
