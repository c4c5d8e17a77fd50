"""The only writer of staged packaging: releases built beside the current one and swapped in atomically."""

from __future__ import annotations

import json
import os
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ansible_dokku_deploy.packaging import Packaging, spec_for

META = ".release.json"
DEPLOYED = "deployed.json"
PENDING = "pending"  # the pushed release, until its image is built
BUILDING = "building.json"  # a release promoted at post-build, until the release step shows its image was tagged


@dataclass(frozen=True)
class Release:
    path: Path
    rev: str
    staged_at: str
    digest: str
    source: str = ""  # the source_key of the tree it was staged from
    files: tuple[str, ...] = ()
    document: dict[str, Any] = field(default_factory=dict, repr=False)  # its env.yml, parsed and validated

    @property
    def id(self) -> str:
        return self.path.name

    def packaging(self, environment: str) -> Packaging:
        """Its packaging as an app in environment sees it, without reading or checking the files again."""
        return Packaging(self.path, spec_for(self.document, environment), self.files, self.digest, self.document)


def secure_dir(path: Path) -> Path:
    """mkdir -p with 0700 for every directory the plugin creates."""
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    return path


def write_private(path: Path, data: bytes) -> None:
    """Write a 0600 file atomically (temp file + rename)."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    tmp.replace(path)


def _point(link: Path, target: Path) -> None:
    """Atomically make link point at target (relative)."""
    tmp = link.with_name(f".{link.name}.{os.getpid()}.tmp")
    tmp.unlink(missing_ok=True)
    tmp.symlink_to(os.path.relpath(target, link.parent))
    tmp.replace(link)


def _id(release: Release | None) -> str:
    return "" if release is None else release.id


@dataclass(frozen=True)
class Staging:
    data_dir: Path

    @property
    def releases_dir(self) -> Path:
        return self.data_dir / "releases"

    def _release(self, link: str) -> Release | None:
        path = self.data_dir / link
        if not path.is_symlink() or not path.is_dir():
            return None
        return self.release(path.resolve().name)

    def release(self, release_id: str) -> Release | None:
        """A kept release by id, or None when it was pruned (or never existed)."""
        path = self.releases_dir / release_id
        if release_id.startswith(".") or "/" in release_id or not (path / META).is_file():
            return None
        meta = json.loads((path / META).read_text())
        return Release(
            path=path.resolve(),
            rev=meta["rev"],
            staged_at=meta["staged_at"],
            digest=meta["digest"],
            source=meta.get("source", ""),
            files=tuple(meta["files"]),
            document=meta.get("document", {}),
        )

    def current(self) -> Release | None:
        return self._release("staged")

    def previous(self) -> Release | None:
        return self._release("previous")

    def pending(self) -> Release | None:
        """The pushed release waiting for its build (post-extract to post-build)."""
        return self._release(PENDING)

    def stage(self, packaging: Packaging, rev: str, keep: int, source: str = "") -> Release:
        """Copy the packaging files into a new release and make it the staged one; keep the old one as previous.
        source is the source_key of the pushed tree."""
        release = self._write(packaging, rev, source)
        self.restage(release)
        self.prune(keep)
        return release

    def stage_pending(self, packaging: Packaging, rev: str, keep: int, source: str = "") -> Release:
        """The same copy for a push, kept pending: staged only once its image is built (promote), so a build that
        fails leaves the release that serves staged."""
        release = self._write(packaging, rev, source)
        _point(self.data_dir / PENDING, release.path)
        self.prune(keep)
        return release

    def promote(self) -> Release | None:
        """The build succeeded as far as post-build: stage the pending release, and remember what was staged
        before, until released() (the release step came, so the image is the new one) or a failed build's
        abandon_build() puts it back."""
        release = self.pending()
        if release is None:
            return None
        before = {"staged": _id(self.current()), "previous": _id(self.previous()), "promoted": release.id}
        write_private(self.data_dir / BUILDING, json.dumps(before).encode())
        self.restage(release)
        (self.data_dir / PENDING).unlink(missing_ok=True)
        return release

    def released(self) -> None:
        """The release step of a build came: its image is the app's; nothing to put back any more."""
        (self.data_dir / BUILDING).unlink(missing_ok=True)

    def abandon_build(self) -> Release | None:
        """A build failed (Dokku tagged the last released image again): forget the pending release and, when the
        failed build's release was promoted already, stage again what was staged before it. Returns the release
        staged again, or None when nothing was put back. A failed first push leaves its release staged (no image
        serves; a rebuild retries it)."""
        (self.data_dir / PENDING).unlink(missing_ok=True)
        try:
            before = json.loads((self.data_dir / BUILDING).read_text())
        except (OSError, ValueError):
            return None
        (self.data_dir / BUILDING).unlink(missing_ok=True)
        staged, previous = self.release(before.get("staged", "")), self.release(before.get("previous", ""))
        if staged is None:
            return None
        _point(self.data_dir / "staged", staged.path)
        if previous is not None:
            _point(self.data_dir / "previous", previous.path)
        return staged

    def _write(self, packaging: Packaging, rev: str, source: str) -> Release:
        """A new release of the packaging files (the staged one when it holds the same files for the same rev)."""
        current = self.current()
        if current is not None and (current.digest, current.rev, current.source) == (packaging.digest, rev, source):
            return current
        stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
        release_id = f"{stamp}-{(rev or 'norev')[:12]}-{os.getpid()}"
        tmp = secure_dir(self.releases_dir) / f".{release_id}.tmp"
        shutil.rmtree(tmp, ignore_errors=True)
        try:
            secure_dir(tmp)
            for rel in packaging.files:
                dest = tmp / rel
                secure_dir(dest.parent)
                write_private(dest, (packaging.root / rel).read_bytes())
            meta = {
                "rev": rev,
                "staged_at": stamp,
                "digest": packaging.digest,
                "files": list(packaging.files),
                "source": source,
                "document": packaging.document,
            }
            write_private(tmp / META, json.dumps(meta).encode())
        except OSError:  # a full disk, say: the staged release stays, the partial one goes
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        tmp.rename(self.releases_dir / release_id)
        release = self.release(release_id)
        assert release is not None  # just written
        return release

    def stage_again(self, release: Release, rev: str, keep: int) -> Release:
        """A push whose packaging is the staged release's, byte for byte (and checked under the same settings):
        the same files, pending for its rev, without reading or checking them again."""
        return self.stage_pending(release.packaging(""), rev, keep, source=release.source)

    def restage(self, release: Release) -> None:
        """Make a kept release the staged one again (a rollback); the one it replaces becomes previous."""
        current = self.current()
        if current is not None and current.path != release.path:
            _point(self.data_dir / "previous", current.path)
        _point(self.data_dir / "staged", release.path)

    def deployed(self) -> list[dict[str, str]]:
        """The releases that served the app, oldest first: {release, rev, at} as post-deploy recorded them."""
        path = self.data_dir / DEPLOYED
        try:
            return list(json.loads(path.read_text()))
        except (OSError, ValueError):
            return []

    def mark_deployed(self, release: Release, keep: int) -> None:
        """Record that release now serves the app (called after Dokku switched traffic to the new containers)."""
        kept = [d for d in self.deployed() if d["release"] != release.id]
        at = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        entries = [*kept, {"release": release.id, "rev": release.rev, "at": at}][-keep:]
        write_private(self.data_dir / DEPLOYED, json.dumps(entries).encode())

    def prune(self, keep: int) -> None:
        """Remove the oldest releases beyond keep, never the staged, previous or a recently deployed one (rollback
        returns to those), and leftovers of killed runs."""
        in_use = {r.path.name for r in (self.current(), self.previous(), self.pending()) if r is not None}
        in_use |= {d["release"] for d in self.deployed()}
        releases = sorted(p for p in self.releases_dir.iterdir() if not p.name.startswith("."))
        for old in releases[: max(0, len(releases) - keep)]:
            if old.name not in in_use:
                shutil.rmtree(old, ignore_errors=True)
        for leftover in self.releases_dir.glob(".*.tmp"):
            if not leftover.name.endswith(f"-{os.getpid()}.tmp"):
                shutil.rmtree(leftover, ignore_errors=True)
